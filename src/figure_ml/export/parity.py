"""Parity gates: an exported artifact ships only if it redacts as well as what it came from.

- **INT8 / ORT / FP16 vs FP32** (per class, *paired*): on the same test images at the same
  operating point, the per-image difference ``missed_artifact - missed_fp32`` of class ``c``
  is summed and divided by the class's GT count; its 95% interval comes from a bootstrap over
  images (pairs stay together). The artifact passes when the **upper bound** of that interval
  is at most ``delta``: one unlucky extra miss on a small set does not fail it, and a lower
  point estimate that the data cannot tell from noise does not count as better.
- **Over-redaction vs FP32** (paired, pooled): the per-image difference of masked area
  outside every GT box, ``mask_outside_artifact - mask_outside_fp32``, summed and divided by the
  area outside GT, bootstrapped over images; passes when its upper 95% bound is at most
  ``delta``. Why: miss parity alone passes an artifact that hides *more* — in the limit one
  box over the whole photo misses nothing — and a redactor that blacks out the photo is broken
  too, only in the other direction.
- **FP32 ONNX vs .pt** (boxes): on the same images, above ``box_conf``, every ``.pt`` box is
  matched to the ONNX box of the same class with the highest IoU, and each matched IoU must
  reach ``box_iou`` (0.99); a ``.pt`` box without a match fails too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from figure_ml.boxes import iou_matrix
from figure_ml.classes import CLASS_NAMES
from figure_ml.eval.bootstrap import Resamples, ratio_ci
from figure_ml.eval.records import Detections
from figure_ml.eval.redaction import RedactionStats


@dataclass(frozen=True)
class ParityCheck:
    artifact: str
    check: str
    value: float
    bound: float
    passed: bool
    detail: str = ""
    point: float | None = None  # paired checks: the point difference ...
    ci: tuple[float, float] | None = None  # ... and its 95% interval (value = its upper end)


def _bounded_difference(
    name: str, check: str, num: np.ndarray, den: np.ndarray, rs: Resamples, delta: float, ref: str
) -> ParityCheck:
    """A paired check: ``sum(num) / sum(den)`` (per-image artifact-minus-FP32 differences over
    per-image totals) passes when the upper end of its 95% bootstrap interval is <= ``delta``."""
    point, low, high = ratio_ci(num, den, rs)
    if not np.isfinite(high):  # an empty denominator (e.g. no area outside GT): no difference
        point = low = high = 0.0
    return ParityCheck(
        name,
        check,
        high,
        delta,
        high <= delta + 1e-12,
        f"difference {100 * point:+.2f} points, 95% CI [{100 * low:+.2f}, {100 * high:+.2f}], "
        f"{ref}",
        point=point,
        ci=(low, high),
    )


def paired_miss_parity(
    name: str, stats: RedactionStats, reference: RedactionStats, delta: float, rs: Resamples
) -> list[ParityCheck]:
    """One check per class with GT: upper 95% bound of the paired miss difference <= delta.

    ``stats`` and ``reference`` are the same images' GT evaluated at the same operating point
    with the artifact's and the reference's detections (same GT order, so boxes pair up);
    ``rs``: bootstrap resamples of those images.
    """
    if not np.array_equal(stats.gt_image, reference.gt_image) or not np.array_equal(
        stats.gt_class, reference.gt_class
    ):
        raise ValueError("parity needs the same images and GT boxes on both sides")
    out = []
    for c, cname in enumerate(CLASS_NAMES):
        sel = stats.gt_class == c
        if not sel.any():
            continue
        img = stats.gt_image[sel]
        diff = (~stats.gt_covered[sel]).astype(float) - (~reference.gt_covered[sel]).astype(float)
        num = np.bincount(img, weights=diff, minlength=stats.n_images)
        den = np.bincount(img, minlength=stats.n_images).astype(float)
        ref_miss = float((~reference.gt_covered[sel]).mean())
        ref = f"FP32 miss {100 * ref_miss:.2f}% of {int(sel.sum())}"
        check = f"paired_miss_diff[{cname}]"
        out.append(_bounded_difference(name, check, num, den, rs, delta, ref))
    return out


def paired_over_redaction_parity(
    name: str, stats: RedactionStats, reference: RedactionStats, delta: float, rs: Resamples
) -> ParityCheck:
    """Upper 95% bound of the paired over-redaction difference (artifact minus reference, in
    points of the area outside GT) <= ``delta``; same images on both sides, ``rs`` their
    bootstrap resamples."""
    # the same areas summed over different grids: equal up to rounding
    a, b = stats.outside_gt, reference.outside_gt
    if a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-6):
        raise ValueError("parity needs the same images on both sides")
    diff = stats.mask_outside_gt - reference.mask_outside_gt
    ref = float(reference.mask_outside_gt.sum() / max(reference.outside_gt.sum(), 1e-12))
    ref_text = f"FP32 over-redaction {100 * ref:.2f}%"
    return _bounded_difference(
        name, "paired_over_redaction_diff", diff, stats.outside_gt, rs, delta, ref_text
    )


def paired_parity(
    name: str,
    stats: RedactionStats,
    reference: RedactionStats,
    *,
    miss_delta: float,
    over_redaction_delta: float,
    n_resamples: int = 1000,
    classes: Sequence[str] | None = None,
) -> list[ParityCheck]:
    """Every paired check of an artifact against FP32: miss per class (only ``classes``, when
    given: a member's own classes) and over-redaction, on one set of seeded resamples."""
    rs = Resamples.draw(stats.n_images, n_resamples, seed=0)
    miss = paired_miss_parity(name, stats, reference, miss_delta, rs)
    if classes is not None:
        miss = [c for c in miss if c.check in {f"paired_miss_diff[{n}]" for n in classes}]
    return [*miss, paired_over_redaction_parity(name, stats, reference, over_redaction_delta, rs)]


def box_parity(
    name: str,
    got: Sequence[Detections],
    ref: Sequence[Detections],
    *,
    conf: float,
    min_iou: float,
) -> ParityCheck:
    """Worst matched IoU between ``ref`` boxes and ``got`` boxes (same class, score >= conf)."""
    worst, n_ref, unmatched = 1.0, 0, 0
    for g, r in zip(got, ref, strict=True):
        g, r = g.select(g.scores >= conf), r.select(r.scores >= conf)
        for c in np.unique(r.classes):
            rb, gb = r.boxes[r.classes == c], g.boxes[g.classes == c]
            n_ref += len(rb)
            if not len(gb):
                unmatched += len(rb)
                worst = 0.0
                continue
            best = iou_matrix(rb, gb).max(axis=1)
            worst = min(worst, float(best.min()))
            unmatched += int((best < min_iou).sum())
    detail = f"{n_ref} reference boxes, {unmatched} below IoU {min_iou}"
    return ParityCheck(name, "box_iou_vs_pt", worst, min_iou, unmatched == 0, detail)


def parity_table(checks: Sequence[ParityCheck]) -> str:
    rows = [f"{'artifact':<10} {'check':<22} {'value':>8} {'bound':>8}  result  detail"]
    for c in checks:
        cmp = ">=" if c.check.startswith("box") else "<="
        rows.append(
            f"{c.artifact:<10} {c.check:<22} {c.value:>8.4f} {cmp}{c.bound:>6.4f}  "
            f"{'PASS' if c.passed else 'FAIL':<6}  {c.detail}"
        )
    return "\n".join(rows)
