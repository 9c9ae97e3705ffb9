"""Release gates: each bound is compared with the **upper** end of the metric's 95% interval,
so a gate passes only when the data shows the model is good enough, not when it merely might
be (DESIGN §4)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from figure_ml.classes import CLASS_NAMES
from figure_ml.errors import ConfigError


@dataclass(frozen=True)
class GateResult:
    name: str
    bound: float
    value: float  # the upper interval bound that was compared
    point: float
    passed: bool


def _check(name: str, bound: float, metric: dict[str, Any], ci_key: str, point_key: str):
    point = metric[point_key]
    upper = metric[ci_key][1]
    if upper is None or (isinstance(upper, float) and math.isnan(upper)):
        # no data for this metric: a gate cannot be shown to pass
        return GateResult(name, bound, float("nan"), float("nan"), False)
    return GateResult(name, bound, float(upper), float(point), float(upper) <= bound)


def evaluate_gates(metrics: dict[str, Any], gate: dict[str, Any]) -> list[GateResult]:
    """Check ``metrics`` (the metrics.json dict) against a gate config.

    Gate keys: ``max_miss_rate`` ({class: bound}), ``max_image_leak_rate``,
    ``max_over_redaction``, ``max_finding_occlusion`` (each optional; null = not gated).
    """
    known = {
        "name",
        "max_miss_rate",
        "max_image_leak_rate",
        "max_over_redaction",
        "max_finding_occlusion",
    }
    unknown = set(gate) - known
    if unknown:
        raise ConfigError(f"gate: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    results: list[GateResult] = []
    for cls, bound in (gate.get("max_miss_rate") or {}).items():
        if cls not in CLASS_NAMES:
            raise ConfigError(f"gate max_miss_rate: unknown class {cls!r}")
        if bound is None:
            continue
        m = metrics["per_class"][cls]
        results.append(_check(f"miss_rate[{cls}]", float(bound), m, "miss_rate_ci", "miss_rate"))
    for key, metric in (
        ("max_image_leak_rate", "image_leak_rate"),
        ("max_over_redaction", "over_redaction"),
        ("max_finding_occlusion", "finding_occlusion"),
    ):
        if gate.get(key) is None:
            continue
        m = {"value": metrics[metric], "ci": metrics[f"{metric}_ci"]}
        results.append(_check(metric, float(gate[key]), m, "ci", "value"))
    return results


def gate_table(results: list[GateResult]) -> str:
    """Plain-text table for the console: bound, compared value, pass/fail."""
    rows = [f"{'gate':<24} {'bound':>8} {'upper95':>8} {'point':>8}  result"]
    for r in results:
        status = "PASS" if r.passed else "FAIL"
        rows.append(f"{r.name:<24} {r.bound:>8.4f} {r.value:>8.4f} {r.point:>8.4f}  {status}")
    ok = all(r.passed for r in results)
    rows.append(f"{'all gates':<24} {'':>8} {'':>8} {'':>8}  {'PASS' if ok else 'FAIL'}")
    return "\n".join(rows)
