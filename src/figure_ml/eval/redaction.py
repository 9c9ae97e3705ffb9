"""From detections to what the redactor would hide: per-GT coverage and per-image areas.

DESIGN §4: the redaction mask ``M`` of an image is the union of ``pad(box, rho_c)`` of the
predictions with ``score >= tau_c`` (``c`` the prediction's class), clipped to the image. A GT
box is *covered* when ``area(g ∩ M) / area(g) >= kappa``, whatever the predicted class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from figure_ml.boxes import clip_boxes, redaction_mask
from figure_ml.eval.coverage import image_areas
from figure_ml.eval.records import Detections, GroundTruth
from figure_ml.sizes import DEFAULT_INPUT_SIZE, box_size_at_input, size_bucket_ids

#: default coverage needed for a GT box to count as hidden
KAPPA = 0.95


@dataclass
class RedactionStats:
    """Coverage of every GT box and mask areas of every image, at one operating point."""

    gt_image: np.ndarray  # (G,) image index of each GT box
    gt_class: np.ndarray  # (G,) class id
    gt_covered: np.ndarray  # (G,) bool
    gt_size: np.ndarray  # (G,) size bucket id (figure_ml.sizes.SIZE_BUCKETS)
    mask_outside_gt: np.ndarray  # (I,) px^2
    outside_gt: np.ndarray  # (I,) px^2
    findings: np.ndarray  # (I,) px^2 of union(F)
    findings_masked: np.ndarray  # (I,) px^2 of M ∩ union(F)
    source: np.ndarray  # (I,) str
    skin_tone: np.ndarray  # (I,) int
    hard_negatives: np.ndarray  # (I,) tuple of the hard negatives painted into each photo
    long_side: np.ndarray  # (I,) int: the photo's long side in px (figure_ml.sizes.PHOTO_BANDS)

    @property
    def n_images(self) -> int:
        return len(self.outside_gt)

    @property
    def images_with_phi(self) -> np.ndarray:
        """(I,) bool: the image holds at least one GT box."""
        return np.bincount(self.gt_image, minlength=self.n_images) > 0


def redaction_stats(
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
    thresholds: np.ndarray,
    rho: np.ndarray,
    *,
    kappa: float = KAPPA,
    input_size: int = DEFAULT_INPUT_SIZE,
) -> RedactionStats:
    """Evaluate the redaction of every image at per-class ``thresholds`` and padding ``rho``."""
    if len(gts) != len(dets):
        raise ValueError(f"{len(gts)} ground truths but {len(dets)} detection sets")
    thresholds = np.asarray(thresholds, np.float64)
    rho = np.asarray(rho, np.float64)
    gt_image, gt_class, gt_cov, gt_size = [], [], [], []
    per_image = np.zeros((len(gts), 4))
    for i, (gt, det) in enumerate(zip(gts, dets, strict=True)):
        mask = redaction_mask(det, thresholds, rho, gt.width, gt.height)
        gt_boxes = clip_boxes(gt.boxes, gt.width, gt.height)
        areas = image_areas(
            gt_boxes, mask, clip_boxes(gt.findings, gt.width, gt.height), gt.width, gt.height
        )
        gt_image.append(np.full(len(gt_boxes), i))
        gt_class.append(gt.classes)
        gt_cov.append(areas.gt_covered >= kappa - 1e-12)
        gt_size.append(
            size_bucket_ids(box_size_at_input(gt_boxes, gt.width, gt.height, input_size))
        )
        per_image[i] = (
            areas.mask_outside_gt,
            areas.outside_gt,
            areas.findings,
            areas.findings_masked,
        )

    def cat(parts, dtype):
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    return RedactionStats(
        gt_image=cat(gt_image, np.int64),
        gt_class=cat(gt_class, np.int64),
        gt_covered=cat(gt_cov, bool),
        gt_size=cat(gt_size, np.int64),
        mask_outside_gt=per_image[:, 0],
        outside_gt=per_image[:, 1],
        findings=per_image[:, 2],
        findings_masked=per_image[:, 3],
        source=np.array([g.source for g in gts], dtype=object),
        skin_tone=np.array([g.skin_tone for g in gts], np.int64),
        hard_negatives=_object_array([g.hard_negatives for g in gts]),
        long_side=np.array([max(g.width, g.height) for g in gts], np.int64),
    )


def _object_array(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)  # tuples stay whole (np.array would unpack them)
    out[:] = values
    return out


def subset_images(stats: RedactionStats, keep: np.ndarray) -> RedactionStats:
    """The stats of the images where ``keep`` is true (GT boxes re-indexed)."""
    keep = np.asarray(keep, bool)
    new_index = np.cumsum(keep) - 1
    g = keep[stats.gt_image]
    return RedactionStats(
        gt_image=new_index[stats.gt_image[g]],
        gt_class=stats.gt_class[g],
        gt_covered=stats.gt_covered[g],
        gt_size=stats.gt_size[g],
        mask_outside_gt=stats.mask_outside_gt[keep],
        outside_gt=stats.outside_gt[keep],
        findings=stats.findings[keep],
        findings_masked=stats.findings_masked[keep],
        source=stats.source[keep],
        skin_tone=stats.skin_tone[keep],
        hard_negatives=stats.hard_negatives[keep],
        long_side=stats.long_side[keep],
    )
