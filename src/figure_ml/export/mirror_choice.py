"""Whether the redactor also runs the model on the mirrored photo (the manifest's
``output.flip_tta``), chosen on the calibration split.

The mirrored pass (:func:`figure_ml.onnx_detect.with_mirror`) gives a second, slightly
different box for most objects, and the redactor hides the union of boxes, so it can hide what
one pass leaves uncovered. It also doubles the model's false positives, so the same
over-redaction budget then allows a higher threshold. Which effect wins depends on the model:
on the 1,000-image val split of seed 206 the shipped reference missed 86 PHI boxes at the 5%
budget in one pass and 65 with the mirror, while the test suite's weak fixture model misses
more with it (docs/design.md, Evaluation). So with ``flip_tta=auto`` export predicts the
calibration split both ways, calibrates each, and ships the mirrored pass only when it misses
strictly fewer of that split's PHI boxes at the budget (each at its own calibrated padding).
The scored split plays no part.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from figure_ml.classes import CLASS_NAMES
from figure_ml.eval.budget import GlobalSweep
from figure_ml.eval.calibration import calibrated_point
from figure_ml.eval.data import EvalData
from figure_ml.eval.operating_point import OperatingPoint
from figure_ml.eval.run import predict_split

log = logging.getLogger(__name__)


@dataclass
class MirrorChoice:
    """The choice, the operating point calibrated for it, and the manifest's record of why."""

    flip: bool
    op: OperatingPoint
    record: dict[str, Any]


def missed_at_budget(gts, dets, op: OperatingPoint, budget: float) -> tuple[int, int]:
    """PHI boxes of ``gts`` left uncovered at the lowest global threshold whose over-redaction
    is within ``budget`` (DESIGN §4), at ``op``'s padding and kappa; and the box count."""
    pad = np.array([op.padding[c] for c in CLASS_NAMES], np.float64)
    sweep = GlobalSweep(gts, dets, pad, kappa=op.kappa)
    st = sweep.stats(sweep.lowest_within(budget))
    return int((~st.gt_covered).sum()), len(st.gt_covered)


def choose(make_predictor, val: EvalData, calibrate, *, budget: float, split: str) -> MirrorChoice:
    """``make_predictor(flip)`` builds the artifact's predictor either way, ``calibrate(gts,
    dets)`` fits an operating point on the predictions of ``val`` (the ``split`` split)."""
    runs = {}
    for flip in (False, True):
        gts, dets, _ = predict_split(make_predictor(flip), val, skip_bad=False)
        op = calibrate(gts, dets)
        runs[flip] = (op, *missed_at_budget(gts, dets, op, budget))
    (_, one, n), (_, two, _) = runs[False], runs[True]
    flip = two < one  # a tie keeps one pass: half the model time
    log.info(
        "mirrored pass %s: %s split, %d of %d PHI boxes missed at the %.0f%% budget with it, "
        "%d without",
        "on" if flip else "off",
        split,
        two,
        n,
        100 * budget,
        one,
    )
    record = {
        "chosen": flip,
        "split": split,
        "budget": budget,
        "n_gt": n,
        "missed_one_pass": one,
        "missed_mirrored": two,
    }
    return MirrorChoice(flip, runs[flip][0], record)


def calibrator(c, *, kappa: float, weights_sha256: str | None, data: EvalData):
    """:func:`calibrated_point` on ``data`` as a function of its predictions."""
    return lambda gts, dets: calibrated_point(
        gts, dets, c, kappa=kappa, weights_sha256=weights_sha256, data=data
    )


def with_flip(spec: dict[str, Any], flip: bool) -> dict[str, Any]:
    """``spec`` (the manifest's input, output and tiling blocks) with ``output.flip_tta``."""
    return {**spec, "output": {**spec["output"], "flip_tta": bool(flip)}}
