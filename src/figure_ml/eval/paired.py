"""Is one model better than another? A paired comparison at the over-redaction budget.

Two models scored on the same images can differ by a few boxes out of hundreds by chance: a
continuation of the reference once "won" a val split by 5 of 825 boxes and then tied on the
test split. This module says whether a difference is larger than that noise.

Each model is taken to its own budget threshold ``t_B`` (DESIGN §4: the lowest global score
threshold whose over-redaction on these images is ``<= budget``), both with the same padding,
so both hide at most the same share of the photo. Every GT box is then a pair (missed by the
candidate?, missed by the baseline?), and for a class ``c`` (or all classes pooled):

    difference = (missed_candidate - missed_baseline) / GT boxes of c

negative: the candidate misses fewer. Two 95% intervals, as for every rate here:

- **bootstrap over images** (the resamples of :mod:`figure_ml.eval.bootstrap`; pairs and a
  photo's boxes stay together). The thresholds ``t_B`` stay as found on all images, so the
  interval is conditional on them.
- **exact, conditional on the discordant boxes** (McNemar's exact test turned into an
  interval): of the ``m`` boxes only one model misses, ``b`` are the candidate's; the
  Clopper–Pearson interval ``[pi_lo, pi_hi]`` of ``b / m`` gives
  ``[m (2 pi_lo - 1), m (2 pi_hi - 1)] / n``. With ``m = 0`` it is ``[0, 0]``.

The **verdict** gives the candidate the benefit of the doubt in neither direction: a win
needs the wider of the two intervals to clear 0 (the higher of the upper ends, as the gates
do), and a loss needs only one of them to (the higher of the lower ends). Else the
conservative interval for a win would hide a real loss: with 5 or fewer discordant boxes,
all the candidate's, the exact lower end is below 0 whatever the class size, so a class
could get 5 faces worse while the pooled difference wins.

- ``better``: the pooled difference's upper end (wider interval) is below 0, no class is
  worse, and the candidate hides no more of the photo than the baseline (below);
- ``worse``: the pooled or some class's difference has a lower end above 0 in either
  interval;
- ``no_difference``: the data cannot tell them apart (a lead inside the noise is not a win).

**Same budget, same use of it.** Thresholds are discrete, so "within the budget" can mean
4.9% for one side and 1% for the other, and fewer misses bought with four more points of
photo are not a better model. A win therefore also needs the candidate's over-redaction on
these images to exceed the baseline's by at most :data:`OR_TOLERANCE` (0.25 points; the point
difference, not its interval: the bootstrap interval of the paired over-redaction difference
is about +-0.5 points wide even when both sides sit at 4.99%, and would refuse every win).
Otherwise the verdict is ``no_difference`` and ``over_redaction.blocks_win`` says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from figure_ml.classes import CLASS_NAMES
from figure_ml.eval.bootstrap import Resamples, ratio_ci
from figure_ml.eval.budget import GlobalSweep
from figure_ml.eval.exact import clopper_pearson
from figure_ml.eval.records import Detections, GroundTruth
from figure_ml.eval.redaction import KAPPA, RedactionStats

VERDICTS = ("better", "worse", "no_difference")
#: a win needs candidate over-redaction - baseline's <= this (module docstring)
OR_TOLERANCE = 0.0025
#: the row of the pooled difference (every GT box of every class)
ALL = "all"


@dataclass(frozen=True)
class PairedDifference:
    """Candidate minus baseline, in miss-rate points of one class (or all pooled)."""

    name: str
    n_gt: int
    missed_candidate: int
    missed_baseline: int
    #: discordant boxes: missed by the candidate only / by the baseline only
    only_candidate: int
    only_baseline: int
    difference: float
    ci: tuple[float, float]
    ci_exact: tuple[float, float]

    @property
    def lower(self) -> float:
        return min(self.ci[0], self.ci_exact[0])

    @property
    def upper(self) -> float:
        return max(self.ci[1], self.ci_exact[1])

    @property
    def lower_against_candidate(self) -> float:
        """The higher of the two lower ends: above 0 in either interval, the candidate is
        worse (module docstring); NaN only where both are."""
        ends = [e for e in (self.ci[0], self.ci_exact[0]) if not np.isnan(e)]
        return max(ends) if ends else float("nan")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self) | {"ci": list(self.ci), "ci_exact": list(self.ci_exact)}
        return out | {
            "lower": self.lower,
            "upper": self.upper,
            "lower_against_candidate": self.lower_against_candidate,
        }


def exact_paired_ci(only_candidate: int, only_baseline: int, n_gt: int) -> tuple[float, float]:
    """The exact interval of ``(only_candidate - only_baseline) / n_gt`` conditional on the
    discordant count ``m`` (module docstring); ``(nan, nan)`` without boxes."""
    if n_gt <= 0:
        return float("nan"), float("nan")
    m = only_candidate + only_baseline
    if m == 0:
        return 0.0, 0.0
    lo, hi = clopper_pearson(only_candidate, m)
    return m * (2 * lo - 1) / n_gt, m * (2 * hi - 1) / n_gt


def paired_difference(
    name: str, cand: RedactionStats, base: RedactionStats, sel: np.ndarray, rs: Resamples
) -> PairedDifference:
    """The paired difference over the GT boxes selected by ``sel`` (same boxes on both sides)."""
    miss_c = ~cand.gt_covered[sel]
    miss_b = ~base.gt_covered[sel]
    img = cand.gt_image[sel]
    num = np.bincount(img, weights=miss_c.astype(float) - miss_b, minlength=cand.n_images)
    den = np.bincount(img, minlength=cand.n_images).astype(float)
    point, low, high = ratio_ci(num, den, rs)
    n_gt = int(sel.sum())
    only_c, only_b = int((miss_c & ~miss_b).sum()), int((miss_b & ~miss_c).sum())
    if n_gt == 0:
        point = low = high = float("nan")
    return PairedDifference(
        name=name,
        n_gt=n_gt,
        missed_candidate=int(miss_c.sum()),
        missed_baseline=int(miss_b.sum()),
        only_candidate=only_c,
        only_baseline=only_b,
        difference=point,
        ci=(low, high),
        ci_exact=exact_paired_ci(only_c, only_b, n_gt),
    )


def verdict(pooled: PairedDifference, per_class: Sequence[PairedDifference]) -> str:
    """``better`` / ``worse`` / ``no_difference`` from the miss intervals alone (module
    docstring); :func:`compare_at_budget` then holds back a win bought with more photo."""
    rows = [d for d in per_class if d.n_gt] + [pooled]
    if any(d.lower_against_candidate > 0 for d in rows):
        return "worse"
    if pooled.n_gt and pooled.upper < 0:
        return "better"
    return "no_difference"


def compare_at_budget(
    gts: Sequence[GroundTruth],
    candidate: Sequence[Detections],
    baseline: Sequence[Detections],
    padding: np.ndarray,
    *,
    budget: float,
    kappa: float = KAPPA,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Both models at their own budget threshold on ``gts``; the paired differences per class
    and pooled, the over-redaction difference and the verdict (module docstring)."""
    padding = np.asarray(padding, np.float64)
    sides = {}
    for side, dets in (("candidate", candidate), ("baseline", baseline)):
        sweep = GlobalSweep(gts, dets, padding, kappa)
        t = sweep.lowest_within(budget)
        sides[side] = (t, sweep.stats(t))
    # one list of GT for both sides: the same boxes in the same order, so they pair up
    (t_c, cand), (t_b, base) = sides["candidate"], sides["baseline"]
    rs = Resamples.draw(cand.n_images, n_resamples, seed=seed)
    per_class = [
        paired_difference(name, cand, base, cand.gt_class == c, rs)
        for c, name in enumerate(CLASS_NAMES)
    ]
    pooled = paired_difference(ALL, cand, base, np.ones(len(cand.gt_class), bool), rs)
    or_diff = cand.mask_outside_gt - base.mask_outside_gt
    or_point, or_low, or_high = ratio_ci(or_diff, cand.outside_gt, rs)
    area = float(cand.outside_gt.sum()) or 1.0
    or_c, or_b = float(cand.mask_outside_gt.sum() / area), float(base.mask_outside_gt.sum() / area)
    by_misses = verdict(pooled, per_class)
    # a win on misses that the candidate paid for with more photo is no win
    blocks_win = by_misses == "better" and or_c - or_b > OR_TOLERANCE
    return {
        "budget": budget,
        "kappa": kappa,
        "padding": dict(zip(CLASS_NAMES, padding.tolist(), strict=True)),
        "n_images": cand.n_images,
        "bootstrap": {"resamples": n_resamples, "seed": seed},
        "threshold": {"candidate": t_c, "baseline": t_b},
        "over_redaction": {
            "candidate": or_c,
            "baseline": or_b,
            "difference": or_point,
            "ci": [or_low, or_high],
            "tolerance": OR_TOLERANCE,
            "blocks_win": blocks_win,
        },
        "per_class": {d.name: d.as_dict() for d in per_class},
        ALL: pooled.as_dict(),
        "verdict": "no_difference" if blocks_win else by_misses,
    }


def comparison_table(result: dict[str, Any]) -> str:
    """Markdown rows: boxes missed at the budget by each side and the paired difference."""
    rows = [
        "| class | GT boxes | missed: candidate | missed: baseline | only candidate | "
        "only baseline | difference (points) | 95% CI (bootstrap) | 95% CI (exact) |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for d in [*result["per_class"].values(), result[ALL]]:
        if not d["n_gt"]:
            rows.append(f"| {d['name']} | 0 | - | - | - | - | - | - | - |")
            continue
        ci, ex = d["ci"], d["ci_exact"]
        rows.append(
            f"| {d['name']} | {d['n_gt']} | {d['missed_candidate']} | {d['missed_baseline']} | "
            f"{d['only_candidate']} | {d['only_baseline']} | {100 * d['difference']:+.2f} | "
            f"[{100 * ci[0]:+.2f}, {100 * ci[1]:+.2f}] | [{100 * ex[0]:+.2f}, {100 * ex[1]:+.2f}] |"
        )
    return "\n".join(rows)
