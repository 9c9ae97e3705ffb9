"""Evaluation plots (PNG): aggregate curves and bars only — never an image of the data."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from figure_ml.classes import CLASS_NAMES
from figure_ml.eval.calibration import miss_rate_at
from figure_ml.eval.detection import pr_curve
from figure_ml.eval.records import Detections, GroundTruth


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_all(
    out_dir: Path,
    metrics: dict[str, Any],
    cover: list[np.ndarray],
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
) -> list[Path]:
    """Write the four evaluation plots into ``out_dir``; returns their paths."""
    plt = _plt()
    paths = []
    t = np.linspace(0, 1, 201)

    fig, ax = plt.subplots(figsize=(6, 4))
    for c, name in enumerate(CLASS_NAMES):
        if len(cover[c]):
            ax.plot(t, miss_rate_at(cover[c], t), label=name)
            ax.axvline(metrics["thresholds"][name], ls=":", lw=0.8, color=ax.lines[-1].get_color())
    ax.set(xlabel="score threshold", ylabel="class-aware miss rate", title="Miss rate vs threshold")
    ax.legend()
    paths.append(_save(fig, out_dir / "miss_rate_vs_threshold.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    for c, name in enumerate(CLASS_NAMES):
        precision, recall, _ = pr_curve(gts, dets, c)
        if len(recall):
            ax.plot(recall, precision, label=name)
    ax.set(
        xlabel="recall (IoU 0.5)",
        ylabel="precision",
        title="Precision-recall",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    ax.legend()
    paths.append(_save(fig, out_dir / "precision_recall.png"))

    for key, fname, label in (
        ("size", "miss_rate_by_size.png", "GT size bucket"),
        ("skin_tone", "miss_rate_by_skin_tone.png", "skin tone (Fitzpatrick)"),
    ):
        sl = metrics["slices"].get(key) or {}
        fig, ax = plt.subplots(figsize=(6, 4))
        names = list(sl)
        vals = np.array([sl[n]["miss_rate"] for n in names], float)
        lo = np.array([sl[n]["miss_rate_ci"][0] for n in names], float)
        hi = np.array([sl[n]["miss_rate_ci"][1] for n in names], float)
        ax.bar(
            names,
            np.nan_to_num(vals),
            yerr=[np.nan_to_num(vals - lo), np.nan_to_num(hi - vals)],
            capsize=4,
            color="#c0504d",
        )
        ax.set(xlabel=label, ylabel="miss rate (95% CI)", title=f"Miss rate by {label}")
        paths.append(_save(fig, out_dir / fname))
    budget = plot_budget_curve(out_dir / "miss_vs_over_redaction.png", metrics)
    if budget:
        paths.append(budget)
    return paths


def plot_budget_curve(path: Path, metrics: dict[str, Any]) -> Path | None:
    """Miss rate per class against over-redaction along the global-threshold sweep
    (``metrics["budget_curve"]``), the budget as a vertical line, the miss@budget points, and
    the operating point (its over-redaction, each class's miss rate) marked."""
    curve = metrics.get("budget_curve")
    if not curve:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    x = np.array(curve["over_redaction"], float)
    for name in CLASS_NAMES:
        y = np.array([np.nan if v is None else v for v in curve["miss_rate"][name]], float)
        if np.all(np.isnan(y)):
            continue
        (line,) = ax.step(x, y, where="post", label=name)
        pc = metrics["per_class"][name]
        ax.plot([metrics["over_redaction"]], [pc["miss_rate"]], "o", color=line.get_color(), ms=6)
        if pc.get("miss_at_budget") is not None:
            ax.plot(
                [metrics["at_budget"]["over_redaction"]],
                [pc["miss_at_budget"]],
                "x",
                color=line.get_color(),
                ms=8,
            )
    ax.axvline(metrics["budget"], ls="--", lw=1, color="grey")
    ax.text(metrics["budget"], 1.02, f" budget {100 * metrics['budget']:.0f}%", color="grey")
    ax.set(
        xlabel="over-redaction (share of non-PHI area hidden)",
        ylabel="PHI-miss rate",
        title="Miss rate vs over-redaction (o: operating point, x: at budget)",
        xlim=(0, max(0.3, min(1.0, float(np.nanmax(x)) if len(x) else 1.0))),
        ylim=(0, 1.08),
    )
    ax.legend()
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    _plt().close(fig)
    tmp.replace(path)
    return path
