"""Scoring a detector set (DESIGN §4-§5): the union, and each member alone.

The union is scored by :func:`~figure_ml.eval.metrics.compute_metrics` on channel detections
(:mod:`figure_ml.ensemble`): the mask is the union of every member's padded boxes above that
member's per-class threshold, and every metric of a single model at an operating
point (miss rates with both intervals, leak rate, over-redaction, slices) is computed on it.
``members.<name>`` holds the same metrics for each member alone (its own thresholds and
padding; classes it does not detect at threshold 1.0) **and** each member's miss at the budget.

The union itself has no miss-at-budget figure (DESIGN §4: "for a detector set the figure is
given per member; the set itself is reported at its calibrated operating point, whose
over-redaction the budget rule bounds"). Why: that figure sweeps one global score threshold,
and the members' scores are not on one scale (CenterFace's and PP-OCR's sit far above a small
YOLO's), so one threshold over all of them switches members off in an order set by their score
scales, not their skill. Measured on the 27 real photos: the union "missed" 68% of faces at
the budget while CenterFace alone, inside it, missed 21% at the same budget.
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
    class name; ``kwargs`` go to :func:`compute_metrics` (kappa, budget, resamples...), except
    that the union itself is scored without a budget (module docstring). The
    top-level ``thresholds`` / ``padding`` are member 0's; ``members`` lists every member's.
    """
    channels = channel_arrays(tables)
    thr0, pad0 = full_tables(*tables[0])
    union = {**kwargs, "budget": None}  # no global threshold over mixed score scales
    out = compute_metrics(gts, dets, thr0, pad0, channels=channels, **union)
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
    at the budget (members only: the union has none, module docstring), and over-redaction
    (for report.md and the model card)."""
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
            cells.append(f"{_pct(pc['miss_rate'])} / " + ("—" if mb is None else _pct(mb)))
        return f"| {name} | " + " | ".join(cells) + f" | {_pct(m['over_redaction'])} |"

    for name, m in metrics["members"].items():
        rows.append(row(name, m))
    rows.append(row("**union**", metrics))
    return [
        *rows,
        "",
        "— : a set has no miss at the budget: that figure sweeps one global threshold, and the "
        "members' scores are not on one scale; the union is reported at its operating point, "
        "whose validation over-redaction the calibration bounds where it can (the calibration "
        "says when it could not).",
    ]


def _pct(x: Any) -> str:
    return "n/a" if x is None or x != x else f"{100 * float(x):.1f}%"
