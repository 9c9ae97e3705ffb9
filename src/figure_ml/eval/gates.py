"""Release gates: each bound is compared with the **larger upper end** of the metric's 95%
intervals — the bootstrap over images and, for counted rates (missed boxes, leaking images),
the exact Clopper–Pearson bound — so a gate passes only when the data shows the model is good
enough, not when it merely might be, and a small test set cannot pass a strict gate
(DESIGN §4). A metric with no data cannot be shown to pass and fails, except finding
occlusion on data without findings, which is reported as "n/a" (not applicable) and skipped.

Every gated run also gets ``skipped_images``, which fails when ``skip_bad`` dropped any image:
a skipped photo's boxes drop out of every rate, so the figures describe a smaller, easier set
than the one given, and a redactor would still have to hide that photo's PHI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from figure_ml.classes import CLASS_NAMES
from figure_ml.errors import ConfigError
from figure_ml.eval.exact import upper_bound

#: gate keys and the metrics.json keys they read: (point, bootstrap ci, exact ci or None)
_GLOBAL = {
    "max_image_leak_rate": ("image_leak_rate", "image_leak_rate_ci", "image_leak_rate_ci_exact"),
    "max_over_redaction": ("over_redaction", "over_redaction_ci", None),
    "max_finding_occlusion": ("finding_occlusion", "finding_occlusion_ci", None),
}
KNOWN_KEYS = {"name", "max_miss_rate", *_GLOBAL}


@dataclass(frozen=True)
class GateResult:
    name: str
    bound: float
    value: float  # the upper bound that was compared (NaN: no data)
    point: float
    passed: bool
    applicable: bool = True  # False: nothing to measure (e.g. no findings); not counted


def _nan(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _check(name: str, bound: float, point: Any, *intervals: Any) -> GateResult:
    upper = upper_bound(*intervals)
    if _nan(point) or math.isnan(upper):
        # no data for this metric: a gate cannot be shown to pass
        return GateResult(name, bound, float("nan"), float("nan"), False)
    return GateResult(name, bound, upper, float(point), upper <= bound)


def evaluate_gates(metrics: dict[str, Any], gate: dict[str, Any]) -> list[GateResult]:
    """Check ``metrics`` (the metrics.json dict) against a gate config.

    Gate keys: ``max_miss_rate`` ({class: bound}), ``max_image_leak_rate``,
    ``max_over_redaction``, ``max_finding_occlusion`` (each optional; null = not gated).
    """
    unknown = set(gate) - KNOWN_KEYS
    if unknown:
        raise ConfigError(f"gate: unknown keys {sorted(unknown)}; known: {sorted(KNOWN_KEYS)}")
    results: list[GateResult] = []
    for cls, bound in (gate.get("max_miss_rate") or {}).items():
        if cls not in CLASS_NAMES:
            raise ConfigError(f"gate max_miss_rate: unknown class {cls!r}")
        if bound is None:
            continue
        m = metrics["per_class"][cls]
        results.append(
            _check(
                f"miss_rate[{cls}]",
                float(bound),
                m["miss_rate"],
                m["miss_rate_ci"],
                m.get("miss_rate_ci_exact"),
            )
        )
    for key, (point, ci, exact) in _GLOBAL.items():
        if gate.get(key) is None:
            continue
        if key == "max_finding_occlusion" and not metrics.get("n_images_with_findings"):
            results.append(
                GateResult(point, float(gate[key]), float("nan"), float("nan"), True, False)
            )
            continue
        results.append(
            _check(point, float(gate[key]), metrics[point], metrics[ci], metrics.get(exact or ""))
        )
    skipped = n_skipped(metrics)
    results.append(GateResult("skipped_images", 0.0, float(skipped), float(skipped), not skipped))
    return results


def n_skipped(metrics: dict[str, Any]) -> int:
    """Images ``skip_bad`` left out of the run's figures (every split it read)."""
    return int(sum(((metrics.get("dataset") or {}).get("n_skipped") or {}).values()))


def gate_table(results: list[GateResult]) -> str:
    """Plain-text table for the console: bound, compared upper bound, point, pass/fail."""
    rows = [f"{'gate':<24} {'bound':>8} {'upper95':>8} {'point':>8}  result"]
    for r in results:
        if not r.applicable:
            rows.append(f"{r.name:<24} {r.bound:>8.4f} {'n/a':>8} {'n/a':>8}  n/a (no data)")
            continue
        status = "PASS" if r.passed else "FAIL"
        rows.append(f"{r.name:<24} {r.bound:>8.4f} {r.value:>8.4f} {r.point:>8.4f}  {status}")
    ok = all(r.passed for r in results)
    rows.append(f"{'all gates':<24} {'':>8} {'':>8} {'':>8}  {'PASS' if ok else 'FAIL'}")
    return "\n".join(rows)
