"""Parity gates: an exported artifact ships only if it redacts as well as what it came from.

- **INT8 vs FP32** (per class): ``miss_rate(INT8) <= miss_rate(FP32) + delta`` on the test
  split at the calibrated thresholds.
- **FP32 ONNX vs .pt** (boxes): on the same images, above ``box_conf``, every ``.pt`` box is
  matched to the ONNX box of the same class with the highest IoU, and each matched IoU must
  reach ``box_iou`` (0.99); a ``.pt`` box without a match fails too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from figure_ml.classes import CLASS_NAMES
from figure_ml.eval.geometry import iou_matrix
from figure_ml.eval.records import Detections


@dataclass(frozen=True)
class ParityCheck:
    artifact: str
    check: str
    value: float
    bound: float
    passed: bool
    detail: str = ""


def miss_rate_parity(
    name: str, metrics: dict[str, Any], reference: dict[str, Any], delta: float
) -> list[ParityCheck]:
    """One check per class with GT: ``miss(artifact) <= miss(reference) + delta``."""
    out = []
    for c in CLASS_NAMES:
        ref, got = reference["per_class"][c], metrics["per_class"][c]
        if not ref["n_gt"]:
            continue
        bound = ref["miss_rate"] + delta
        out.append(
            ParityCheck(
                name,
                f"miss_rate[{c}]",
                got["miss_rate"],
                bound,
                got["miss_rate"] <= bound + 1e-12,
                f"reference {ref['miss_rate']:.4f}",
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
