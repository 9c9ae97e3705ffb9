"""Parity gates: an exported artifact ships only if it redacts as well as what it came from.

- **INT8 / ORT / FP16 vs FP32** (per class, *paired*): on the same test images at the same
  operating point, the per-image difference ``missed_artifact - missed_fp32`` of class ``c``
  is summed and divided by the class's GT count; its 95% interval comes from a bootstrap over
  images (pairs stay together). The artifact passes when the **upper bound** of that interval
  is at most ``delta``: one unlucky extra miss on a small set does not fail it, and a lower
  point estimate that the data cannot tell from noise does not count as better.
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


def paired_miss_parity(
    name: str,
    stats: RedactionStats,
    reference: RedactionStats,
    delta: float,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
) -> list[ParityCheck]:
    """One check per class with GT: upper 95% bound of the paired miss difference <= delta.

    ``stats`` and ``reference`` are the same images' GT evaluated at the same operating point
    with the artifact's and the reference's detections (same GT order, so boxes pair up).
    """
    if not np.array_equal(stats.gt_image, reference.gt_image) or not np.array_equal(
        stats.gt_class, reference.gt_class
    ):
        raise ValueError("parity needs the same images and GT boxes on both sides")
    rs = Resamples.draw(stats.n_images, n_resamples, seed)
    out = []
    for c, cname in enumerate(CLASS_NAMES):
        sel = stats.gt_class == c
        if not sel.any():
            continue
        img = stats.gt_image[sel]
        diff = (~stats.gt_covered[sel]).astype(float) - (~reference.gt_covered[sel]).astype(float)
        num = np.bincount(img, weights=diff, minlength=stats.n_images)
        den = np.bincount(img, minlength=stats.n_images).astype(float)
        point, low, high = ratio_ci(num, den, rs)
        ref_miss = float((~reference.gt_covered[sel]).mean())
        out.append(
            ParityCheck(
                name,
                f"paired_miss_diff[{cname}]",
                high,
                delta,
                high <= delta + 1e-12,
                f"difference {100 * point:+.2f} points, 95% CI [{100 * low:+.2f}, "
                f"{100 * high:+.2f}], FP32 miss {100 * ref_miss:.2f}% of {int(sel.sum())}",
                point=point,
                ci=(low, high),
            )
        )
    return out


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
