"""Whether the redactor also runs the model on the mirrored photo (the manifest's
``output.flip_tta``), chosen on the calibration split.

The mirrored pass (:func:`figure_ml.onnx_detect.with_mirror`) gives a second, slightly
different box for most objects, and the redactor hides the union of boxes, so it can hide what
one pass leaves uncovered. It also doubles the model's false positives, so the same
over-redaction budget then allows a higher threshold. Which effect wins depends on the model:
on the 1,000-image val split of seed 206 the shipped reference missed 86 PHI boxes at the 5%
budget in one pass and 65 with the mirror, while the test suite's weak fixture model can miss
more with it (docs/design.md, Evaluation). So with ``flip_tta=auto`` export predicts the
calibration split both ways and keeps the mirrored pass unless it misses more of that split's
PHI boxes at the budget than one pass **beyond noise** (each way at its best padding of the
calibration grid; :func:`choose` says why), then calibrates the operating point on the chosen
way's predictions. The scored split plays no part.

Beyond noise means that the exact paired interval of the difference
(:func:`figure_ml.eval.paired.exact_paired_ci`: McNemar's exact test as an interval,
conditional on the boxes only one way misses) lies above 0, the test ``eval.compare`` calls
``worse``. Until 2026-12-06 a lead of one box decided either way and a tie dropped the mirror.
On a 300-image calibration split a box or two is noise: the reference's export dropped the
mirror on seed 207's val split at 39 against 38 boxes (9 missed only with it, 8 only without),
while on the 1,000 val images of seed 206 the mirror misses 65 of 2,615 against 83 (each at
its best padding of the grid). Wrongly keeping the mirror costs model time; wrongly dropping
it costs PHI, so the burden of proof is on dropping it.
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
from figure_ml.eval.paired import exact_paired_ci
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


@dataclass(frozen=True)
class BestPadding:
    """One way's fewest misses at the budget over a padding grid (by
    :func:`fewest_missed_at_budget`)."""

    #: per GT box, in the order of the split's ground truth: left uncovered at the budget
    missed: np.ndarray
    padding: float

    @property
    def n_missed(self) -> int:
        return int(self.missed.sum())


def fewest_missed_at_budget(
    gts, dets, paddings: list[float], budget: float, kappa: float
) -> BestPadding:
    """The fewest PHI boxes of ``gts`` left uncovered at the lowest global threshold whose
    over-redaction is within ``budget`` (DESIGN §4), over ``paddings`` (one padding for every
    class), with that padding (the smaller on a tie) and which boxes they are."""
    best: BestPadding | None = None
    for rho in sorted(paddings):
        sweep = GlobalSweep(gts, dets, np.full(len(CLASS_NAMES), float(rho)), kappa=kappa)
        missed = ~sweep.stats(sweep.lowest_within(budget)).gt_covered
        if best is None or missed.sum() < best.n_missed:
            best = BestPadding(missed, float(rho))
    assert best is not None, "an empty padding grid is refused by CalibrationConfig"
    return best


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
    is kept unless, each way at its best padding of ``paddings``, it misses more boxes of
    ``val`` (the ``split`` split) at ``budget`` than one pass beyond noise: the exact paired
    interval of (missed mirrored - missed one pass) / boxes lies above 0 (module docstring).
    A tie or a lead inside the noise keeps it: wrongly keeping the mirror costs model time,
    wrongly dropping it costs PHI. Each pass is judged at its own best padding, not at the one
    calibration then picks per class, because that pick optimises the operating point's
    targets, not this figure, and on a 300-image split it moves the count by a box or two
    either way. ``calibrate(gts, dets)`` (if given) then fits the operating point on the
    chosen pass's predictions. The model is judged alone, also when teachers ship beside it
    (its own figure at the budget)."""
    runs = {}
    for flip in (False, True):  # one pass first: export's predictors then reuse its results
        gts, dets, _ = predict_split(make_predictor(flip), val, skip_bad=False)
        runs[flip] = (gts, dets, fewest_missed_at_budget(gts, dets, paddings, budget, kappa))
    one, two = runs[False][2], runs[True][2]
    n_gt = len(one.missed)  # the same GT boxes in the same order both ways: they pair up
    only_two, only_one = (
        int((two.missed & ~one.missed).sum()),
        int((one.missed & ~two.missed).sum()),
    )
    ci = exact_paired_ci(only_two, only_one, n_gt)
    flip = not ci[0] > 0  # dropped only when the mirror is worse beyond noise
    log.info(
        "mirrored pass %s: %s split, %d of %d PHI boxes missed at the %.0f%% budget with it "
        "(padding %g), %d without (padding %g); %d missed only with it, %d only without",
        "on" if flip else "off",
        split,
        two.n_missed,
        n_gt,
        100 * budget,
        two.padding,
        one.n_missed,
        one.padding,
        only_two,
        only_one,
    )
    record = {
        "chosen": flip,
        "split": split,
        "budget": budget,
        "n_gt": n_gt,
        "missed_one_pass": one.n_missed,
        "padding_one_pass": one.padding,
        "missed_mirrored": two.n_missed,
        "padding_mirrored": two.padding,
        # the paired evidence: boxes only one way misses, and the exact 95% interval of
        # (missed mirrored - missed one pass) / n_gt; the mirror is dropped when it is above 0.
        # None without PHI boxes (nothing to judge by: kept), never NaN in the JSON
        "missed_only_mirrored": only_two,
        "missed_only_one_pass": only_one,
        "difference_ci": [float(ci[0]), float(ci[1])] if n_gt else None,
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
