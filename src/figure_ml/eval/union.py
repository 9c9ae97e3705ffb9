"""Scoring a detector set (DESIGN §4-§5): the union, and each member alone.

The union is scored by :func:`~figure_ml.eval.metrics.compute_metrics` on channel detections
(:mod:`figure_ml.ensemble`): the mask is the union of every member's padded boxes above that
member's per-class threshold, and every metric of a single model (miss rates with both
intervals, leak rate, over-redaction, miss at the budget, slices) is computed on it.
``members.<name>`` holds the same metrics for each member alone (its own thresholds and
padding; classes it does not detect at threshold 1.0), so "miss at the operating point" and
"miss at the budget" are given per member beside the union's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from figure_ml.classes import CLASS_NAMES
from figure_ml.ensemble import channel_arrays, member_part
from figure_ml.eval.metrics import compute_metrics
from figure_ml.eval.records import Detections, GroundTruth


def full_tables(
    thresholds: dict[str, float], padding: dict[str, float]
) -> tuple[dict[str, float], dict[str, float]]:
    """Per-class tables over every class: a class the member does not detect at 1.0 / 0.0."""
    return (
        {c: float(thresholds.get(c, 1.0)) for c in CLASS_NAMES},
        {c: float(padding.get(c, 0.0)) for c in CLASS_NAMES},
    )


def union_metrics(
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
    names: Sequence[str],
    tables: Sequence[tuple[dict[str, float], dict[str, float]]],
    *,
    member_diagnostics: bool = True,
    **kwargs: Any,
) -> dict[str, Any]:
    """Metrics of the union (top level) and ``members.<name>`` of each member alone.

    ``dets`` carry channel ids; ``tables[k]`` is member ``k``'s ``(thresholds, padding)`` by
    class name; ``kwargs`` go to :func:`compute_metrics` (kappa, budget, resamples...). The
    top-level ``thresholds`` / ``padding`` are member 0's; ``members`` lists every member's.
    """
    channels = channel_arrays(tables)
    thr0, pad0 = full_tables(*tables[0])
    out = compute_metrics(gts, dets, thr0, pad0, channels=channels, **kwargs)
    members: dict[str, Any] = {}
    solo = {**kwargs, "curve": False, "diagnostics": member_diagnostics}
    for k, (name, (t, p)) in enumerate(zip(names, tables, strict=True)):
        ft, fp = full_tables(t, p)
        m = compute_metrics(gts, [member_part(d, k) for d in dets], ft, fp, **solo)
        m.pop("slices", None)  # slices of the union are enough; members stay small
        members[name] = m | {"member_thresholds": dict(t), "member_padding": dict(p)}
    out["members"] = members
    out["union"] = {"members": list(names)}
    return out


def member_table(metrics: dict[str, Any]) -> list[str]:
    """Markdown rows: per member and for the union, per class miss at the operating point and
    at the budget, and over-redaction (for report.md and the model card)."""
    head = (
        "| detector | "
        + " | ".join(f"{c} miss / @budget" for c in CLASS_NAMES)
        + " | over-redaction |"
    )
    rows = [head, "|" + "---|" * (len(CLASS_NAMES) + 2)]

    def row(name: str, m: dict[str, Any]) -> str:
        cells = []
        for c in CLASS_NAMES:
            pc = m["per_class"][c]
            if not pc.get("n_gt"):
                cells.append("n/a")
                continue
            mb = pc.get("miss_at_budget")
            cells.append(f"{_pct(pc['miss_rate'])} / {_pct(mb)}")
        return f"| {name} | " + " | ".join(cells) + f" | {_pct(m['over_redaction'])} |"

    for name, m in metrics["members"].items():
        rows.append(row(name, m))
    rows.append(row("**union**", metrics))
    return rows


def _pct(x: Any) -> str:
    return "n/a" if x is None or x != x else f"{100 * float(x):.1f}%"
