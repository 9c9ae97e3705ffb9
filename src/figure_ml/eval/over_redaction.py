"""Over-redaction (DESIGN §4): area of the redaction mask outside every GT box, divided by the
image area outside every GT box — how much of the non-PHI photo is destroyed. Aggregated as
the ratio of the sums over images (large photos weigh by their area)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from figure_ml.boxes import iou_matrix
from figure_ml.classes import CLASS_NAMES, NUM_CLASSES
from figure_ml.eval.bootstrap import Resamples, ratio_ci
from figure_ml.eval.records import Detections, GroundTruth
from figure_ml.eval.redaction import RedactionStats, redaction_stats


def per_image_shares(stats: RedactionStats) -> np.ndarray:
    """Each image's own over-redaction (an image with nothing outside its GT boxes: 0)."""
    den = stats.outside_gt
    return np.divide(stats.mask_outside_gt, den, out=np.zeros(len(den)), where=den > 0)


def over_redaction(stats: RedactionStats, rs: Resamples) -> dict[str, Any]:
    """The pooled ratio with its interval, and beside it the per-image distribution (mean,
    90th percentile, maximum): the pooled ratio lets large photos outweigh small ones, so a
    set of half-blacked-out thumbnails next to clean large photos shows up only here."""
    point, low, high = ratio_ci(stats.mask_outside_gt, stats.outside_gt, rs)
    share = per_image_shares(stats)
    spread = (
        {
            "mean": float(share.mean()),
            "p90": float(np.quantile(share, 0.9)),
            "max": float(share.max()),
        }
        if len(share)
        else None
    )
    return {"value": point, "ci": [low, high], "n_images": stats.n_images, "per_image": spread}


def class_alone_stats(
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
    thresholds: np.ndarray,
    padding: np.ndarray,
    **kwargs: Any,
) -> dict[str, RedactionStats]:
    """Per class ``c``: the redaction statistics of the mask made by class-``c`` predictions
    alone (every other class switched off), at the same thresholds and padding.
    ``thresholds`` / ``padding`` hold one value per class, or per channel of a detector set
    (channel ``k * NUM_CLASSES + c`` is class ``c``)."""
    thresholds = np.asarray(thresholds, np.float64)
    class_of = np.arange(len(thresholds)) % NUM_CLASSES
    return {
        name: redaction_stats(
            gts, dets, np.where(class_of == c, thresholds, np.inf), padding, **kwargs
        )
        for c, name in enumerate(CLASS_NAMES)
    }


def over_redaction_by_class(
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
    thresholds: np.ndarray,
    padding: np.ndarray,
    rs: Resamples,
    *,
    alone: dict[str, RedactionStats] | None = None,
    **kwargs: Any,
) -> dict[str, dict[str, Any]]:
    """Per class ``c``: the over-redaction of the mask made by class-``c`` predictions alone
    (:func:`class_alone_stats`; pass them as ``alone`` when already computed) — which class's
    false positives hide the photo.

    Masks of different classes can overlap, so the per-class values sum to *at least* the
    over-redaction of the whole mask, not exactly to it. Same ratio of sums over images and
    bootstrap interval as :func:`over_redaction`.
    """
    if alone is None:
        alone = class_alone_stats(gts, dets, thresholds, padding, **kwargs)
    return {name: over_redaction(stats, rs) for name, stats in alone.items()}


def split_by_phi_contact(
    gts: Sequence[GroundTruth], dets: Sequence[Detections]
) -> tuple[list[Detections], list[Detections]]:
    """``(at_phi, stray)`` per image: the predictions whose box (before padding) overlaps some
    GT PHI box of any class, and those that overlap none.

    Over-redaction made by the first kind is *margin*: padding and oversized boxes around PHI
    the model did see (a box that runs over the hair, a padded portrait face). That of the second
    kind is *false alarm*: the model took something that holds no PHI for PHI. The two call for
    different fixes (box precision and padding against restraint), so the report splits them.
    """
    at_phi, stray = [], []
    for gt, det in zip(gts, dets, strict=True):
        if len(det) and len(gt.boxes):
            touches = (iou_matrix(det.boxes, gt.boxes) > 0).any(axis=1)
        else:
            touches = np.zeros(len(det), bool)
        at_phi.append(det.select(touches))
        stray.append(det.select(~touches))
    return at_phi, stray


def over_redaction_by_contact(
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
    thresholds: np.ndarray,
    padding: np.ndarray,
    rs: Resamples,
    **kwargs: Any,
) -> dict[str, dict[str, Any]]:
    """Over-redaction of the masks made by the ``at_phi`` and by the ``stray`` predictions of
    :func:`split_by_phi_contact` alone, each overall and ``by_class`` (that class's predictions
    of that kind alone), at the same thresholds and padding and with the same ratio of sums
    and bootstrap as :func:`over_redaction`. The two masks can overlap, so ``at_phi + stray``
    is at least the over-redaction of the whole mask."""
    out = {}
    for kind, part in zip(("at_phi", "stray"), split_by_phi_contact(gts, dets), strict=True):
        whole = over_redaction(redaction_stats(gts, part, thresholds, padding, **kwargs), rs)
        by_class = over_redaction_by_class(gts, part, thresholds, padding, rs, **kwargs)
        out[kind] = whole | {"by_class": by_class}
    return out
