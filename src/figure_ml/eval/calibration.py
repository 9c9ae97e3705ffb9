"""Per-class operating thresholds chosen on the validation split (DESIGN §4 *Calibration*).

For class ``c`` the *class-aware* miss rate at threshold ``t`` counts a GT box of class ``c``
as hidden only by the padded predictions **of class c** with ``score >= t`` (so each class's
threshold can be chosen on its own). The calibrated ``tau_c`` is the highest ``t`` whose
class-aware miss rate is at most the class's target. Reported on the test split, never chosen
on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from figure_ml.classes import CLASS_NAMES
from figure_ml.eval.coverage import cover_thresholds
from figure_ml.eval.geometry import clip_boxes, pad_boxes
from figure_ml.eval.records import Detections, GroundTruth
from figure_ml.eval.redaction import KAPPA


def class_cover_thresholds(
    gts: Sequence[GroundTruth], dets: Sequence[Detections], rho: np.ndarray, kappa: float = KAPPA
) -> list[np.ndarray]:
    """Per class, one value per GT box: the highest threshold at which same-class predictions
    still cover it (``-inf`` if never). Class-aware miss rate at ``t`` = ``mean(values < t)``."""
    out: list[list[np.ndarray]] = [[] for _ in CLASS_NAMES]
    for gt, det in zip(gts, dets, strict=True):
        for c in range(len(CLASS_NAMES)):
            g = clip_boxes(gt.boxes[gt.classes == c], gt.width, gt.height)
            if not len(g):
                continue
            sel = det.classes == c
            p = clip_boxes(pad_boxes(det.boxes[sel], rho[c]), gt.width, gt.height)
            out[c].append(cover_thresholds(g, p, det.scores[sel], kappa))
    return [np.concatenate(v) if v else np.zeros(0) for v in out]


def miss_rate_at(cover_t: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Class-aware miss rate at threshold(s) ``t`` from :func:`class_cover_thresholds` values."""
    t = np.atleast_1d(np.asarray(t, np.float64))
    if not len(cover_t):
        return np.full(t.shape, np.nan)
    srt = np.sort(cover_t)
    return np.searchsorted(srt, t, side="left") / len(srt)


@dataclass(frozen=True)
class Calibrated:
    threshold: float
    miss_rate: float  # class-aware, on the calibration split, at ``threshold``
    target: float
    met: bool
    n_gt: int


def calibrate_class(
    cover_t: np.ndarray, target: float, *, floor: float = 0.01, ceiling: float = 0.99
) -> Calibrated:
    """Highest threshold in ``[floor, ceiling]`` whose class-aware miss rate is <= ``target``.

    With ``k = floor(target * n)`` boxes allowed to be missed, any ``t`` at most the
    ``(k+1)``-th smallest cover threshold misses at most ``k``; that value is the answer. When
    even ``floor`` misses too much the target cannot be met: ``floor`` is returned, ``met`` false.
    """
    n = len(cover_t)
    if n == 0:
        return Calibrated(floor, float("nan"), target, False, 0)
    srt = np.sort(cover_t)
    k = int(np.floor(target * n + 1e-9))
    best = ceiling if k >= n else float(min(srt[k], ceiling))
    if best < floor:
        return Calibrated(floor, float(miss_rate_at(srt, floor)[0]), target, False, n)
    return Calibrated(best, float(miss_rate_at(srt, best)[0]), target, True, n)


def calibrate(
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
    targets: dict[str, float],
    rho: np.ndarray,
    *,
    kappa: float = KAPPA,
    floor: float = 0.01,
) -> dict[str, Any]:
    """Thresholds for every class; ``{"thresholds": {name: t}, "details": {name: {...}}}``."""
    cover = class_cover_thresholds(gts, dets, rho, kappa)
    thresholds: dict[str, float] = {}
    details: dict[str, Any] = {}
    for c, name in enumerate(CLASS_NAMES):
        cal = calibrate_class(cover[c], targets[name], floor=floor)
        thresholds[name] = cal.threshold
        details[name] = {
            "threshold": cal.threshold,
            "class_aware_miss_rate": cal.miss_rate,
            "target": cal.target,
            "target_met": cal.met,
            "n_gt": cal.n_gt,
        }
    return {"thresholds": thresholds, "details": details}
