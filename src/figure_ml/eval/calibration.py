"""The operating point chosen on the validation split (DESIGN §4 *Calibration*): per class a
padding and a threshold, under an over-redaction budget.

For class ``c`` the *class-aware* miss rate at threshold ``t`` counts a GT box of class ``c``
as hidden only by the padded predictions **of class c** with ``score >= t`` (so each class's
threshold can be chosen on its own). The calibrated ``tau_c`` is the highest ``t`` whose
class-aware miss rate is at most the class's target, raised where the budget demands it
(:func:`calibrate`). Reported on the test split, never chosen on it.

**Budget bound.** The budget step asks, by default, that the *upper end of the 95% bootstrap
interval* (over validation images, :mod:`figure_ml.eval.bootstrap`) of the over-redaction be
within the budget, not its point estimate (``calibration.budget_bound``: ``upper``, or
``point``). Why: the shipped point is a promise about photos it has not seen. A point estimate
calibrated to sit exactly at the budget is as likely to land above it on new photos as below:
the reference shipped until 2026-12-05 (sha256 03f44dfb...), calibrated at 5.00% on its 300
validation photos, hid 5.52% (95% CI 4.66-6.45%) of its seed-204 test split. Choosing the
threshold whose upper confidence bound meets the budget is the risk-control rule of Bates et
al., "Distribution-Free, Risk-Controlling Prediction Sets" (J. ACM 2021), with the project's own
bootstrap as the bound. On that reference it chose 0.043 instead of 0.023 (validation 4.36%, 95%
CI 3.73-5.00%), and the test split was hidden 4.74% (4.03-5.52%); the point missed 3/18/9/30
face, tattoo, wristband and text boxes instead of 2/16/9/25 (of 113/123/166/700). The headline
(miss at the budget on the scored split, :mod:`figure_ml.eval.budget`) is a measurement, not a
promise, and keeps the point estimate.

**Target bound** (``calibration.target_bound``: ``point``, the default, or ``upper``). With
``point`` a class's target holds on the calibration split when its class-aware miss rate there
is ``<= target`` (``floor(target * n)`` of its ``n`` boxes may be missed), and calibration
ships the highest threshold that allows it. That threshold is a maximum chosen on ``n`` boxes,
so on new photos it misses more than the target as often as not: on 10 random 300/700 splits of
the reference's 1,000-image seed-206 val split (mirrored pass), wristbands and text lines, the
classes most often met this way (5 and 8 of the 10 splits), missed more than their 3% of the
700 held-out images' boxes (120 of 3,609 and 335 of 9,044, summed over the splits), while the
point hid only 4.19% of the photo against a 5% budget. With ``upper`` a target holds only
when the exact (Clopper-Pearson) upper 95% bound of the miss rate is ``<= target``: ``k``
misses are allowed for the largest ``k`` whose bound is within it (none: the target cannot be
met on ``n`` boxes, e.g. 1% on fewer than 368), the same risk control as the budget bound. On
those splits it missed 92 and 251 of the same boxes (594 of 18,371 PHI boxes against 701) at
4.56% over-redaction (2 of the 10 above 5% on the held-out images, against none). It is not
the default: on a fresh test split it made no difference (seed 209, 1,500 images: 146 of 3,965
boxes missed at the operating point against 148, hiding 4.56% against 4.38%; README).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from figure_ml.boxes import clip_boxes, pad_boxes
from figure_ml.classes import CLASS_NAMES
from figure_ml.config import TARGET_BOUNDS
from figure_ml.eval.bootstrap import Resamples
from figure_ml.eval.budget import (
    DEFAULT_MAX_OVER_REDACTION,
    GlobalSweep,
    pooled_over_redaction,
    pooled_over_redaction_ci,
)
from figure_ml.eval.coverage import cover_thresholds
from figure_ml.eval.data import EvalData
from figure_ml.eval.exact import clopper_pearson
from figure_ml.eval.operating_point import OperatingPoint
from figure_ml.eval.overlap import calibration_record
from figure_ml.eval.records import Detections, GroundTruth
from figure_ml.eval.redaction import KAPPA, RedactionStats, redaction_stats


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


def allowed_misses(n: int, target: float, bound: str = "point") -> int:
    """How many of ``n`` boxes a class may miss on the calibration split and still meet
    ``target`` (module docstring, *Target bound*): ``floor(target * n)`` for ``point``; for
    ``upper`` the largest ``k`` whose Clopper-Pearson upper 95% bound of ``k / n`` is
    ``<= target``, -1 when not even ``k = 0`` is (the target cannot be shown on ``n`` boxes)."""
    if bound == "point":
        return int(np.floor(target * n + 1e-9))
    if bound != "upper":
        raise ValueError(f"target bound must be one of {list(TARGET_BOUNDS)}, got {bound!r}")
    k = -1
    while k < n and clopper_pearson(k + 1, n)[1] <= target + 1e-12:
        k += 1
    return k


def calibrate_class(
    cover_t: np.ndarray,
    target: float,
    *,
    floor: float = 0.01,
    ceiling: float = 0.99,
    bound: str = "point",
) -> Calibrated:
    """Highest threshold in ``[floor, ceiling]`` whose class-aware miss rate meets ``target``
    under ``bound`` (:func:`allowed_misses`).

    With ``k`` boxes allowed to be missed, any ``t`` at most the ``(k+1)``-th smallest cover
    threshold misses at most ``k``; that value is the answer. When even ``floor`` misses too
    much, or no miss count meets the target (``k = -1``), the target cannot be met: ``floor``
    is returned, ``met`` false.
    """
    n = len(cover_t)
    if n == 0:
        return Calibrated(floor, float("nan"), target, False, 0)
    srt = np.sort(cover_t)
    k = allowed_misses(n, target, bound)
    # k = -1: no miss count meets the target, so no threshold does
    best = -np.inf if k < 0 else ceiling if k >= n else float(min(srt[k], ceiling))
    if best < floor:
        return Calibrated(floor, float(miss_rate_at(srt, floor)[0]), target, False, n)
    return Calibrated(best, float(miss_rate_at(srt, best)[0]), target, True, n)


def target_met(miss_rate: float, n: int, target: float, bound: str = "point") -> bool:
    """Whether a class-aware ``miss_rate`` on ``n`` calibration boxes meets ``target`` under
    ``bound`` (:func:`allowed_misses`); never without boxes."""
    return bool(n) and round(miss_rate * n) <= allowed_misses(n, target, bound)


def _class_over_redaction(
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
    c: int,
    tau: float,
    rho: float,
    kappa: float,
) -> float:
    """Over-redaction of class ``c``'s predictions alone at ``(tau, rho)`` (pooled)."""
    thr = np.full(len(CLASS_NAMES), np.inf)
    thr[c] = tau
    pad = np.zeros(len(CLASS_NAMES))
    pad[c] = rho
    return pooled_over_redaction(redaction_stats(gts, dets, thr, pad, kappa=kappa))


def _budget_bound_padding(
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
    covers: dict[float, list[np.ndarray]],
    chosen: dict[str, tuple[float, Calibrated | None]],
    targets: dict[str, float],
    grid: list[float],
    *,
    kappa: float,
    max_over_redaction: float,
    floor: float,
    resamples: Resamples | None = None,
    target_bound: str = "point",
) -> tuple[dict[str, float], float, set[str]]:
    """Steps 2-3 of :func:`calibrate`: the paddings that ship, the budget threshold ``t_B`` and
    the classes the budget binds.

    A class is *budget-bound* when no pair met its target or ``t_B`` lifts its threshold above
    the highest that met it: it ships at ``t_B`` (or at its best pair at the new padding, when
    one lies above ``t_B``), so what counts for it is its miss rate **at t_B** — and ``t_B``
    moves with the padding (a wider box hides more
    outside GT, so the budget needs a higher threshold; at a fixed ``t_B`` the widest padding
    would always look best). The budget-bound classes share one padding: the grid value ``r``
    whose own ``t_B(r)`` (every other class at its padding) gives the lowest mean of
    ``miss / max(target, 0.01)`` over them (ties: the smaller padding). Binding can spread (a
    new ``t_B`` can lift another class above its pair), so this repeats; the bound set only
    grows, so it settles in at most one round per class. ``chosen`` is updated in place with
    each bound class's own best pair at the shared padding (``None`` when it meets nothing).
    """

    bound: set[str] = set()

    def budget_threshold(shared: float | None = None) -> float:
        """``t_B`` with every class at its chosen padding, or the bound ones at ``shared``."""
        pads = [shared if n in bound and shared is not None else chosen[n][0] for n in CLASS_NAMES]
        sweep = GlobalSweep(gts, dets, np.array(pads), kappa)
        return max(floor, sweep.lowest_within(max_over_redaction, resamples))

    t_b = budget_threshold()
    while True:
        newly = {
            n
            for n in CLASS_NAMES
            if n not in bound and (chosen[n][1] is None or t_b > chosen[n][1].threshold)
        }
        if not newly:
            return {n: chosen[n][0] for n in CLASS_NAMES}, t_b, bound
        bound |= newly
        scored = []
        for r in grid:
            t = budget_threshold(r)
            miss = [
                float(miss_rate_at(covers[r][c], t)[0]) / max(targets[n], 0.01)
                for c, n in enumerate(CLASS_NAMES)
                if n in bound and len(covers[r][c])
            ]
            scored.append((float(np.mean(miss)) if miss else 0.0, r, t))
        _, r, t_b = min(scored)
        for c, n in enumerate(CLASS_NAMES):
            if n in bound:
                cal = calibrate_class(covers[r][c], targets[n], floor=floor, bound=target_bound)
                chosen[n] = (r, cal if cal.met else None)


def calibrate(
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
    targets: dict[str, float],
    padding_grid: Sequence[float],
    *,
    max_over_redaction: float = DEFAULT_MAX_OVER_REDACTION,
    kappa: float = KAPPA,
    floor: float = 0.01,
    budget_resamples: Resamples | None = None,
    target_bound: str = "point",
) -> dict[str, Any]:
    """The operating point that ships: per class ``(padding, threshold)`` under a budget.

    DESIGN §4, on the calibration (validation) split only:

    1. per class ``c`` and each padding ``rho`` of ``padding_grid``: ``tau_c(rho)``, the highest
       threshold whose class-aware miss rate meets ``target_c`` (``<= target_c``, or its exact
       upper bound is, with ``target_bound="upper"``; :func:`calibrate_class`);
       of the pairs that meet the target keep the one whose own predictions over-redact least;
    2. the budget: ``t_B`` = the lowest global threshold whose over-redaction (every class at
       its chosen padding) is ``<= max_over_redaction`` — with ``budget_resamples`` (bootstrap
       resamples of the validation images), whose upper 95% bound is (module docstring,
       *Budget bound*); ship ``tau_c = max(tau_c, t_B)``;
    3. a class the budget binds (no pair met its target, or ``t_B`` lifts it above its pair)
       ships at ``t_B``, so its padding is chosen for the miss rate *at t_B*, with ``t_B``
       recomputed for each padding: the budget-bound classes share the grid value that misses
       least there (:func:`_budget_bound_padding`). A class whose class-aware miss rate at the
       shipped ``tau_c`` does not meet its target is **not met** (``met: false``).

    Returns ``{"thresholds", "padding", "met", "details", "budget"}``, all keyed by class.
    """
    grid = sorted({float(r) for r in padding_grid})
    if not grid:
        raise ValueError("padding_grid is empty")
    covers = {
        rho: class_cover_thresholds(gts, dets, np.full(len(CLASS_NAMES), rho), kappa)
        for rho in grid
    }
    chosen: dict[str, tuple[float, Calibrated | None]] = {}
    for c, name in enumerate(CLASS_NAMES):
        met = []
        for rho in grid:
            cal = calibrate_class(covers[rho][c], targets[name], floor=floor, bound=target_bound)
            if cal.met:
                met.append(
                    (_class_over_redaction(gts, dets, c, cal.threshold, rho, kappa), rho, cal)
                )
        chosen[name] = min(met, key=lambda m: (m[0], m[1]))[1:] if met else (grid[0], None)
    padding, t_b, bound = _budget_bound_padding(
        gts,
        dets,
        covers,
        chosen,
        targets,
        grid,
        kappa=kappa,
        max_over_redaction=max_over_redaction,
        floor=floor,
        resamples=budget_resamples,
        target_bound=target_bound,
    )
    thresholds: dict[str, float] = {}
    pads: dict[str, float] = {}
    met_flags: dict[str, bool] = {}
    details: dict[str, Any] = {}
    for c, name in enumerate(CLASS_NAMES):
        rho, cal = padding[name], chosen[name][1]
        # a target unreachable at any padding ships at the budget's threshold
        tau = t_b if cal is None else max(cal.threshold, t_b)
        # "redact nothing" sits just above the top score; a shipped threshold stays in [0, 1]
        tau = min(tau, 1.0)
        n_gt = len(covers[rho][c])
        # a class absent from the calibration split has no miss rate: null, never NaN (JSON)
        miss = float(miss_rate_at(covers[rho][c], tau)[0]) if n_gt else None
        ok = target_met(miss, n_gt, targets[name], target_bound)  # False without boxes
        thresholds[name], pads[name], met_flags[name] = float(tau), float(rho), ok
        details[name] = {
            "threshold": float(tau),
            "padding": float(rho),
            "class_aware_miss_rate": miss,
            "target": float(targets[name]),
            "target_met": ok,
            "raised_by_budget": bool(cal is not None and t_b > cal.threshold),
            # its padding was chosen for the miss rate at t_B (step 3)
            "budget_bound": name in bound,
            "n_gt": n_gt,
        }
    final = budget_record(
        redaction_stats(
            gts,
            dets,
            np.array([thresholds[n] for n in CLASS_NAMES]),
            np.array([pads[n] for n in CLASS_NAMES]),
            kappa=kappa,
        ),
        budget_resamples,
    )
    within = mark_over_budget(final["judged"], max_over_redaction, met_flags, details)
    budget = {
        "max_over_redaction": float(max_over_redaction),
        "global_threshold": float(t_b),
        **final["record"],
        "met": within,
        "padding_grid": grid,
        # how a class's target was judged on these images (module docstring, *Target bound*)
        "target_bound": target_bound,
    }
    return {
        "thresholds": thresholds,
        "padding": pads,
        "met": met_flags,
        "details": details,
        "budget": budget,
    }


def budget_record(stats: RedactionStats, resamples: Resamples | None) -> dict[str, Any]:
    """The shipped point's validation over-redaction as the calibration record keeps it:
    ``record`` holds ``over_redaction`` (point), ``bound`` (``"upper"`` or ``"point"``) and,
    for ``upper``, ``over_redaction_ci`` and ``resamples``; ``judged`` is the value the budget
    is held to (the upper bound, or the point)."""
    point = pooled_over_redaction(stats)
    if resamples is None:
        return {"record": {"over_redaction": point, "bound": "point"}, "judged": point}
    low, high = pooled_over_redaction_ci(stats, resamples)
    record = {
        "over_redaction": point,
        "bound": "upper",
        "over_redaction_ci": [low, high],
        "resamples": int(resamples.counts.shape[0]),
    }
    return {"record": record, "judged": high}


def mark_over_budget(
    over_redaction: float,
    max_over_redaction: float,
    met: dict[str, bool],
    details: dict[str, dict[str, Any]],
) -> bool:
    """Whether the shipped point's validation over-redaction (the value its budget bound holds
    to the budget: the upper 95% bound, or the point estimate) is within the budget. When it is
    not (a set whose members are all at their ceilings; a single model whose top scores are
    1.0), no class is met: its target holds only at an over-redaction the budget forbids.
    Updates ``met`` and ``details`` in place."""
    within = bool(over_redaction <= max_over_redaction + 1e-12)
    if not within:
        for name in met:
            met[name] = False
            details.setdefault(name, {}).update(target_met=False, over_budget=True)
    return within


def budget_resamples(c: Any, n_images: int) -> Resamples | None:
    """The bootstrap resamples of ``n_images`` calibration images that the budget bound of a
    :class:`figure_ml.config.CalibrationConfig` ``c`` needs (None for ``budget_bound: point``)."""
    if c.budget_bound == "point":
        return None
    return Resamples.draw(n_images, c.budget_resamples, c.budget_seed)


def calibrated_point(
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
    c: Any,
    *,
    kappa: float,
    weights_sha256: str | None,
    data: EvalData,
) -> OperatingPoint:
    """:func:`calibrate` with a :class:`figure_ml.config.CalibrationConfig` ``c`` on ``data``
    (whose predictions ``gts``/``dets`` are), as the :class:`OperatingPoint` that eval writes
    to thresholds.json and export ships; it records which images chose it
    (:mod:`figure_ml.eval.overlap`)."""
    cal = calibrate(
        gts,
        dets,
        c.targets,
        c.padding_grid,
        max_over_redaction=c.max_over_redaction,
        kappa=kappa,
        floor=c.floor,
        budget_resamples=budget_resamples(c, len(gts)),
        target_bound=c.target_bound,
    )
    return OperatingPoint(
        cal["thresholds"],
        cal["padding"],
        kappa,
        met=cal["met"],
        targets=dict(c.targets),
        weights_sha256=weights_sha256,
        extra={
            "budget": cal["budget"],
            "details": cal["details"],
            **calibration_record(c.split, data),
        },
    )
