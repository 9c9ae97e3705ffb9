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
    return paths


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    _plt().close(fig)
    tmp.replace(path)
    return path
