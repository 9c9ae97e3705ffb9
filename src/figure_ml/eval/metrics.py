"""All redaction metrics of one operating point, with slices: the body of ``metrics.json``.

Stable keys (users' CI reads them): ``per_class.<name>.{miss_rate, miss_rate_ci,
miss_rate_ci_exact, miss_rate_upper, n_gt, n_missed, recall, precision, ap50, ap50_95}``,
``miss_rate`` / ``miss_rate_ci[_exact]`` / ``miss_rate_upper`` (all classes),
``image_leak_rate[_ci, _ci_exact, _upper]`` (over ``n_images_with_phi``), ``over_redaction[_ci]``
(pooled over images) with ``over_redaction_per_image.{mean, p90, max}`` (each image's own share),
``over_redaction_by_class.<name>.{value, ci}`` (that class's masks alone),
``over_redaction_by_contact.{at_phi, stray}.{value, ci, by_class.<name>}`` (the masks of the
predictions that touch a GT box — margin — and of those that touch none — false alarms),
``finding_occlusion[_ci]`` (null when no image has findings), ``map50``,
``map50_95``, ``thresholds.<name>``, ``padding.<name>``, ``kappa``, ``n_images``, and
``slices.{size, skin_tone, source, photo_size}.<value>`` with the same redaction keys inside
(``photo_size``: the band of the photo's long side, :data:`figure_ml.sizes.PHOTO_BANDS`),
``slices.restraint.<hard negative>.{value, ci, n_images, by_class.<name>}``; and the
headline ``budget`` with ``per_class.<name>.miss_at_budget[_ci, _ci_exact, _upper]`` and
``at_budget.{threshold, over_redaction, over_redaction_ci}`` (DESIGN §4) — absent at the top
level of a detector set's metrics, which carry them per member (``members.<name>``,
:mod:`figure_ml.eval.union`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from figure_ml.classes import CLASS_NAMES
from figure_ml.eval.bootstrap import Resamples
from figure_ml.eval.budget import DEFAULT_BUDGET, GlobalSweep, budget_curve, miss_at_budget
from figure_ml.eval.detection import detection_metrics
from figure_ml.eval.finding_occlusion import finding_occlusion
from figure_ml.eval.leak_rate import image_leak_rate
from figure_ml.eval.miss_rate import miss_rate, overall_miss_rate, per_class_miss_rate
from figure_ml.eval.over_redaction import (
    class_alone_stats,
    over_redaction,
    over_redaction_by_class,
    over_redaction_by_contact,
)
from figure_ml.eval.records import Detections, GroundTruth
from figure_ml.eval.redaction import KAPPA, RedactionStats, redaction_stats, subset_images
from figure_ml.sizes import DEFAULT_INPUT_SIZE, PHOTO_BANDS, SIZE_BUCKETS, photo_band_ids

TONE_NAMES = {0: "unknown", 1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}


def redaction_metrics(stats: RedactionStats, rs: Resamples) -> dict[str, Any]:
    """The redaction metrics of ``stats`` (images of ``rs`` must match)."""
    overall = overall_miss_rate(stats, rs)
    leak = image_leak_rate(stats, rs)
    over = over_redaction(stats, rs)
    occl = finding_occlusion(stats, rs)
    return {
        "per_class": per_class_miss_rate(stats, rs),
        "miss_rate": overall["miss_rate"],
        "miss_rate_ci": overall["miss_rate_ci"],
        "miss_rate_ci_exact": overall["miss_rate_ci_exact"],
        "miss_rate_upper": overall["miss_rate_upper"],
        "n_gt": overall["n_gt"],
        "n_missed": overall["n_missed"],
        "image_leak_rate": leak["value"],
        "image_leak_rate_ci": leak["ci"],
        "image_leak_rate_ci_exact": leak["ci_exact"],
        "image_leak_rate_upper": leak["upper"],
        "n_images_leaked": leak["n_leaked"],
        "n_images_with_phi": leak["n_images_with_phi"],
        "over_redaction": over["value"],
        "over_redaction_ci": over["ci"],
        "over_redaction_per_image": over["per_image"],
        "finding_occlusion": occl["value"],
        "finding_occlusion_ci": occl["ci"],
        "n_images": stats.n_images,
        "n_images_with_findings": occl["n_images"],
    }


def slice_metrics(
    stats: RedactionStats,
    rs: Resamples,
    alone: dict[str, RedactionStats] | None = None,
) -> dict[str, dict[str, Any]]:
    """Miss rates by GT size bucket; all redaction metrics by skin tone, by source and by photo
    size band (an operating point calibrated on small frames can over-redact phone originals,
    which the redactor tiles: the pooled figure alone would hide that); and ``restraint``:
    over-redaction on the photos *without PHI*, by the hard negative painted into them
    (synthetic data records them) — what the model mistakes for PHI. With ``alone`` (each
    class's own mask, :func:`~figure_ml.eval.over_redaction.class_alone_stats`) every restraint
    entry also carries ``by_class.<name>``: the over-redaction of that class's mask alone on
    those photos — *which* PHI the model takes the negative for (a printed poster face read as
    a face, a tiled wall read as text)."""
    by_size: dict[str, Any] = {}
    for b, name in enumerate(SIZE_BUCKETS):
        sel = stats.gt_size == b
        if not sel.any():
            continue
        by_size[name] = miss_rate(stats, rs, sel) | {
            "per_class": {
                cname: miss_rate(stats, rs, sel & (stats.gt_class == c))
                for c, cname in enumerate(CLASS_NAMES)
                if (sel & (stats.gt_class == c)).any()
            }
        }
    by_tone: dict[str, Any] = {}
    for tone in sorted(set(stats.skin_tone.tolist())):
        keep = stats.skin_tone == tone
        by_tone[TONE_NAMES.get(tone, str(tone))] = redaction_metrics(
            subset_images(stats, keep), rs.subset(keep)
        )
    by_source: dict[str, Any] = {}
    for src in sorted(set(stats.source.tolist())):
        keep = stats.source == src
        by_source[src] = redaction_metrics(subset_images(stats, keep), rs.subset(keep))
    by_photo: dict[str, Any] = {}
    bands = photo_band_ids(stats.long_side)
    for b, name in enumerate(PHOTO_BANDS):
        keep = bands == b
        if keep.any():
            by_photo[name] = redaction_metrics(subset_images(stats, keep), rs.subset(keep))
    free = ~stats.images_with_phi
    by_negative: dict[str, Any] = {}
    for kind in sorted({k for ks in stats.hard_negatives[free] for k in ks}):
        keep = free & np.array([kind in ks for ks in stats.hard_negatives])
        by_negative[kind] = over_redaction(subset_images(stats, keep), rs.subset(keep))
        if alone is not None:
            by_negative[kind]["by_class"] = {
                name: over_redaction(subset_images(s, keep), rs.subset(keep))
                for name, s in alone.items()
            }
    return {
        "size": by_size,
        "skin_tone": by_tone,
        "source": by_source,
        "photo_size": by_photo,
        "restraint": by_negative,
    }


def compute_metrics(
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
    thresholds: dict[str, float],
    padding: dict[str, float],
    *,
    kappa: float = KAPPA,
    n_resamples: int = 1000,
    seed: int = 0,
    input_size: int = DEFAULT_INPUT_SIZE,
    diagnostics: bool = True,
    budget: float | None = DEFAULT_BUDGET,
    curve: bool = True,
    channels: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Everything ``metrics.json`` reports for one set of predictions at one operating point,
    and — unless ``budget`` is None — the miss rate at that over-redaction budget
    (:mod:`figure_ml.eval.budget`): ``budget``, ``at_budget`` and per class
    ``miss_at_budget[_ci, _ci_exact, _upper]``, plus the curve behind it (``budget_curve``).

    ``channels``: a detector set (:mod:`figure_ml.ensemble`): ``dets`` carry channel ids and
    these ``(thresholds, padding)`` arrays, one value per channel, define the union's mask;
    ``thresholds`` / ``padding`` are then only reported. Diagnostics (recall, precision, AP)
    are computed on the detections the set keeps, mapped back to classes."""
    thr = np.array([thresholds[c] for c in CLASS_NAMES], np.float64)
    rho = np.array([padding[c] for c in CLASS_NAMES], np.float64)
    diag_dets = dets
    if channels is not None:
        from figure_ml.ensemble import to_classes

        thr_c, rho = (np.asarray(a, np.float64) for a in channels)
        diag_dets = [to_classes(d.select(d.scores >= thr_c[d.classes])) for d in dets]
        thr, thr_diag = thr_c, np.zeros(len(CLASS_NAMES))
    stats = redaction_stats(gts, dets, thr, rho, kappa=kappa, input_size=input_size)
    rs = Resamples.draw(len(gts), n_resamples, seed)
    out = redaction_metrics(stats, rs)
    alone = class_alone_stats(gts, dets, thr, rho, kappa=kappa, input_size=input_size)
    out["over_redaction_by_class"] = over_redaction_by_class(gts, dets, thr, rho, rs, alone=alone)
    out["over_redaction_by_contact"] = over_redaction_by_contact(
        gts, dets, thr, rho, rs, kappa=kappa, input_size=input_size
    )
    if budget is not None:
        sweep = GlobalSweep(gts, dets, rho, kappa)
        at = miss_at_budget(sweep, rs, budget)
        for name in CLASS_NAMES:
            b = at["per_class"][name]
            out["per_class"][name].update(
                {
                    "miss_at_budget": b["miss_rate"],
                    "miss_at_budget_ci": b["miss_rate_ci"],
                    "miss_at_budget_ci_exact": b["miss_rate_ci_exact"],
                    "miss_at_budget_upper": b["miss_rate_upper"],
                    "n_missed_at_budget": b["n_missed"],
                }
            )
        out["budget"] = budget
        out["at_budget"] = {k: v for k, v in at.items() if k != "per_class"}
        if curve:
            out["budget_curve"] = budget_curve(sweep)
    if diagnostics:
        det = detection_metrics(gts, diag_dets, thr if channels is None else thr_diag)
        for name in CLASS_NAMES:
            d = det["per_class"][name]
            out["per_class"][name].update(
                {k: d[k] for k in ("recall", "precision", "ap50", "ap50_95", "n_pred")}
            )
        out["map50"], out["map50_95"] = det["map50"], det["map50_95"]
    out["slices"] = slice_metrics(stats, rs, alone)
    out["thresholds"] = dict(thresholds)
    out["padding"] = dict(padding)
    out["kappa"] = kappa
    out["bootstrap"] = {"resamples": n_resamples, "seed": seed, "level": 0.95}
    out["size_input_px"] = input_size
    return out
