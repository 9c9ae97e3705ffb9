"""Whether the redactor also runs the model on the mirrored photo (the manifest's
``output.flip_tta``), chosen on the calibration split.

The mirrored pass (:func:`figure_ml.onnx_detect.with_mirror`) gives a second, slightly
different box for most objects, and the redactor hides the union of boxes, so it can hide what
one pass leaves uncovered. It also doubles the model's false positives, so the same
over-redaction budget then allows a higher threshold. Which effect wins depends on the model:
on the 1,000-image val split of seed 206 the shipped reference missed 86 PHI boxes at the 5%
budget in one pass and 65 with the mirror, while the test suite's weak fixture model misses
more with it (docs/design.md, Evaluation). So with ``flip_tta=auto`` export predicts the
calibration split both ways and ships the mirrored pass only when it misses strictly fewer of
that split's PHI boxes at the budget (each way at its best padding of the calibration grid,
:func:`choose` says why), then calibrates the operating point on the chosen way's
predictions. The scored split plays no part.
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
    #: calibrated on the chosen way's predictions; None for a detector set, whose members
    #: are calibrated together afterwards (figure_ml.export.ensemble)
    op: OperatingPoint | None
    record: dict[str, Any]


def fewest_missed_at_budget(
    gts, dets, paddings: list[float], budget: float, kappa: float
) -> tuple[int, float, int]:
    """The fewest PHI boxes of ``gts`` left uncovered at the lowest global threshold whose
    over-redaction is within ``budget`` (DESIGN §4), over ``paddings`` (one padding for every
    class); that padding (the smaller on a tie); the box count."""
    best: tuple[int, float] | None = None
    n = 0
    for rho in sorted(paddings):
        sweep = GlobalSweep(gts, dets, np.full(len(CLASS_NAMES), float(rho)), kappa=kappa)
        st = sweep.stats(sweep.lowest_within(budget))
        missed, n = int((~st.gt_covered).sum()), len(st.gt_covered)
        if best is None or missed < best[0]:
            best = (missed, float(rho))
    assert best is not None, "an empty padding grid is refused by CalibrationConfig"
    return best[0], best[1], n


def choose(
    make_predictor,
    val: EvalData,
    calibrate,
    *,
    budget: float,
    paddings: list[float],
    kappa: float,
    split: str,
) -> MirrorChoice:
    """``make_predictor(flip)`` builds the artifact's predictor either way; the mirrored pass
    is kept when, at its best padding of ``paddings``, it misses strictly fewer boxes of
    ``val`` (the ``split`` split) at ``budget`` than one pass at its best. Each pass is judged
    at its own best padding, not at the one calibration then picks per class, because that
    pick optimises the operating point's targets, not this figure, and on a 300-image split
    it moves the count by a box or two either way. A one-box lead is enough: wrongly keeping
    the mirror costs model time, wrongly dropping it costs PHI. ``calibrate(gts, dets)`` (if
    given) then fits the operating point on the chosen pass's predictions. The model is judged
    alone, also when teachers ship beside it (its own figure at the budget)."""
    runs = {}
    for flip in (False, True):  # one pass first: export's predictors then reuse its results
        gts, dets, _ = predict_split(make_predictor(flip), val, skip_bad=False)
        runs[flip] = (gts, dets, *fewest_missed_at_budget(gts, dets, paddings, budget, kappa))
    one, two = runs[False][2:], runs[True][2:]
    flip = two[0] < one[0]  # a tie keeps one pass: half the model time
    log.info(
        "mirrored pass %s: %s split, %d of %d PHI boxes missed at the %.0f%% budget with it "
        "(padding %g), %d without (padding %g)",
        "on" if flip else "off",
        split,
        two[0],
        two[2],
        100 * budget,
        two[1],
        one[0],
        one[1],
    )
    record = {
        "chosen": flip,
        "split": split,
        "budget": budget,
        "n_gt": one[2],
        "missed_one_pass": one[0],
        "padding_one_pass": one[1],
        "missed_mirrored": two[0],
        "padding_mirrored": two[1],
    }
    gts, dets = runs[flip][:2]
    return MirrorChoice(flip, calibrate(gts, dets) if calibrate else None, record)


def calibrator(c, *, kappa: float, weights_sha256: str | None, data: EvalData):
    """:func:`calibrated_point` on ``data`` as a function of its predictions."""
    return lambda gts, dets: calibrated_point(
        gts, dets, c, kappa=kappa, weights_sha256=weights_sha256, data=data
    )


def with_flip(spec: dict[str, Any], flip: bool) -> dict[str, Any]:
    """``spec`` (the manifest's input, output and tiling blocks) with ``output.flip_tta``."""
    return {**spec, "output": {**spec["output"], "flip_tta": bool(flip)}}
