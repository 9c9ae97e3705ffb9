"""Calibrating a detector set (DESIGN §4-§5): each member's per-class threshold and padding,
chosen on the validation split so that the *union* meets the class targets within the budget.

Exactly, on the calibration split only (``members[k]`` are member k's detections, class ids;
``classes[k]`` the classes it detects; member 0 is the trained model and detects every class):

0. **Ceilings.** ``ceilings[k][c]`` is the highest threshold member ``k`` may get for class
   ``c``: for the model, its own single-model operating point (thresholds *and* padding fixed
   to that point's, :func:`~figure_ml.eval.calibration.calibrate` on the same split); for a
   teacher, its authors' default threshold. Why: (a) the model's masks in the union are then a
   superset of its masks alone at the same padding, so on *any* images the union misses no more
   boxes of any class than the model alone; (b) the validation split is synthetic, where the
   model (trained on that world) finds text and faces the teachers do not, and val would
   argue a teacher off (measured before the ceilings: PP-OCR raised to 0.9, 64% of real text
   lines missed). A teacher's default was chosen by its authors on real photos, the domain it
   is in the set for; val may lower it, never raise it. What PP-OCR fires on in val's PHI-free
   photos is, by count, mostly not an artefact of the generator: ruler and scale-bar digits,
   pain-scale cards and suture lines (:mod:`figure_ml.data.restraint_sheet`), which real
   clinical photos hold too. The ceiling keeps those boxes, so the set hides such digits in
   real photos as well; the over-redaction that costs is reported, never calibrated away. (By
   area it was mostly whole-photo regions on text-free synthetic scenes, which the teacher
   itself now drops: step 4b of :mod:`figure_ml.teachers.ppocr_det`.)
1. **Per-member coverage.** For member ``k``, class ``c`` it detects and padding ``rho`` of
   ``padding_grid``: ``v[k, c, rho]``, one value per GT box of class ``c``, the highest
   threshold at which member ``k``'s own class-``c`` predictions padded by ``rho`` cover the box
   (:func:`~figure_ml.eval.calibration.class_cover_thresholds`). A box counts as hidden by the
   union at thresholds ``t_k`` when **some** member covers it alone (``v[k, c, rho_k] >= t_k``
   for some ``k``). This is conservative: masks of two members that cover a box only together
   are not counted, so the union's real class-aware miss rate is at most this.
2. **Candidates.** For each ``(k, c, rho)`` the thresholds ``GRID`` (0.05, 0.1, 0.2 ... 0.9,
   1.0) in ``[floor, ceiling]``, the ceiling itself, and the member's own single-model answer
   (:func:`~figure_ml.eval.calibration.calibrate_class`: the highest threshold whose miss rate
   alone is ``<= target_c``) when it has one below the ceiling. The model's ``rho`` is its
   fixed padding. Each candidate's cost is the pooled over-redaction of member ``k``'s
   class-``c`` predictions alone at ``(t, rho)``.
3. **Per class, a small grid over members.** Every combination of one ``(rho_k, t_k)`` per
   member detecting ``c`` (the model and each teacher of ``c``: two members, three for text
   with ``ppocr_det`` and ``craft``; a set names each network once).
   Among combinations whose union miss rate (step 1) meets ``target_c`` (is ``<=`` it, or with
   ``target_bound="upper"`` its exact upper bound is:
   :func:`~figure_ml.eval.calibration.allowed_misses`), keep the one with the least summed
   cost (an upper bound of the union's over-redaction from class ``c``); ties: higher
   thresholds. None meets it: the combination with the lowest union miss rate, then the
   least cost. A class without GT boxes on val: every member at its ceiling, smallest padding
   for teachers.
4. **The budget**, per channel and greedy (members' scores are not on one scale: CenterFace's
   and PP-OCR's scores sit far above a small YOLO's, so one global threshold ``t_B`` as in
   :func:`~figure_ml.eval.calibration.calibrate` would switch the model off to bound the
   teachers). While the union's pooled val over-redaction (every channel at its padding) is
   above ``max_over_redaction`` — with ``budget_resamples``, while the upper end of its 95%
   bootstrap interval is (:mod:`figure_ml.eval.calibration`, *Budget bound*) — each channel
   offers up to two *moves*: its threshold raised to
   the smallest value of ``GRID`` (or its ceiling) above it and at most its ceiling that lowers
   the union's over-redaction; and, for a teacher's channel, its padding lowered to the
   largest smaller value of ``padding_grid`` that lowers it. Apply the move with the largest
   ``OR drop / (union miss rise of its class + 1e-6)`` (ties: the larger drop). Stop when
   within the budget, or when no move lowers it (``budget.met`` false: the members at their
   ceilings and smallest paddings over-redact more than the budget on val). Thresholds only
   rise, paddings only shrink, and the model's padding never changes (the ceiling guarantee
   of step 0 needs it). Why padding moves: step 3 picks, for a class no combination meets,
   the combination that misses least — the widest padding, whatever it costs — and a padding
   chosen before the budget step must not survive it untested (the same trap as the single
   model's, :func:`~figure_ml.eval.calibration.calibrate`). A wide padding on a text line is
   a wide strip of photo: shrinking it can keep boxes a threshold raise would drop.
5. **Met.** A class is met when its union miss rate (step 1) at the shipped thresholds is
   ``<= target_c`` (and it has GT boxes on val) and the union is within the budget: a target
   that holds only above the budget is not met (as for a single model).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from figure_ml.classes import CLASS_NAMES, NUM_CLASSES
from figure_ml.ensemble import channel, channel_arrays, to_channels
from figure_ml.eval.bootstrap import Resamples
from figure_ml.eval.budget import DEFAULT_MAX_OVER_REDACTION, pooled_over_redaction
from figure_ml.eval.calibration import (
    _class_over_redaction,
    allowed_misses,
    budget_record,
    calibrate_class,
    class_cover_thresholds,
    mark_over_budget,
    target_met,
)
from figure_ml.eval.records import Detections, GroundTruth
from figure_ml.eval.redaction import KAPPA, RedactionStats, redaction_stats

GRID = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _union_miss(covers: Sequence[np.ndarray], thresholds: Sequence[float]) -> float:
    hidden = np.zeros(len(covers[0]), bool)
    for v, t in zip(covers, thresholds, strict=True):
        hidden |= v >= t
    return float(1.0 - hidden.mean())


def channel_dets(members: Sequence[Sequence[Detections]]) -> list[Detections]:
    """Per image, every member's detections with channel ids (see :mod:`figure_ml.ensemble`)."""
    out = []
    for per_member in zip(*members, strict=True):
        parts = [to_channels(d, k) for k, d in enumerate(per_member)]
        out.append(
            Detections(
                np.concatenate([p.boxes for p in parts]),
                np.concatenate([p.scores for p in parts]),
                np.concatenate([p.classes for p in parts]),
            )
        )
    return out


def calibrate_union(
    gts: Sequence[GroundTruth],
    members: Sequence[Sequence[Detections]],
    classes: Sequence[Sequence[str]],
    ceilings: Sequence[dict[str, float]],
    targets: dict[str, float],
    padding_grid: Sequence[float],
    *,
    model_padding: dict[str, float],
    max_over_redaction: float = DEFAULT_MAX_OVER_REDACTION,
    kappa: float = KAPPA,
    floor: float = 0.01,
    budget_resamples: Resamples | None = None,
    target_bound: str = "point",
) -> dict[str, Any]:
    """The set's operating point (module docstring). ``ceilings[k]``: class name -> the highest
    threshold member ``k`` may get (the model: its single-model operating point; a teacher: its
    authors' default); ``model_padding``: the model's padding at that point, kept as is.

    Returns ``{"members": [{"thresholds", "padding"} by class name, per member], "met",
    "details", "budget"}``; ``budget.moves`` lists the budget step's moves in order
    (``channel``, ``kind`` "threshold" or "padding", ``from``, ``to``, the union's
    ``over_redaction`` after it).
    """
    if not padding_grid:
        raise ValueError("padding_grid is empty")
    # coverage at every padding any member can get: the teachers' grid and the model's own
    grid = sorted({float(r) for r in padding_grid} | {float(v) for v in model_padding.values()})
    covers = [
        {rho: class_cover_thresholds(gts, dets, np.full(NUM_CLASSES, rho), kappa) for rho in grid}
        for dets in members
    ]
    ceiling = np.full(len(members) * NUM_CLASSES, np.inf)
    for k, table in enumerate(ceilings):
        for name, t in table.items():
            ceiling[channel(k, CLASS_NAMES.index(name))] = float(t)

    def paddings(k: int, name: str) -> list[float]:
        return [float(model_padding[name])] if k == 0 else sorted(float(r) for r in padding_grid)

    choice: dict[tuple[int, str], tuple[float, float]] = {}  # (member, class) -> (rho, t)
    details: dict[str, Any] = {}
    for c, name in enumerate(CLASS_NAMES):
        who = [k for k in range(len(members)) if name in classes[k]]
        if not who:
            continue
        n_gt = len(covers[who[0]][grid[0]][c])
        if n_gt == 0:
            for k in who:
                choice[k, name] = (paddings(k, name)[0], float(ceiling[channel(k, c)]))
            details[name] = {"n_gt": 0, "searched": False}
            continue
        options = []  # per member: [(rho, t, cost)]
        for k in who:
            top = float(ceiling[channel(k, c)])
            opts = []
            for rho in paddings(k, name):
                cal = calibrate_class(
                    covers[k][rho][c], targets[name], floor=floor, bound=target_bound
                )
                ts = {t for t in GRID if floor <= t <= top} | {top}
                if cal.met and cal.threshold <= top:
                    ts.add(cal.threshold)
                for t in sorted(ts):
                    cost = _class_over_redaction(gts, members[k], c, t, rho, kappa)
                    opts.append((rho, t, cost))
            options.append(opts)
        best = None
        allowed = allowed_misses(n_gt, targets[name], target_bound)  # once: not per combination
        for combo in itertools.product(*options):
            miss = _union_miss([covers[k][o[0]][c] for k, o in zip(who, combo, strict=True)],
                               [o[1] for o in combo])  # fmt: skip
            cost = sum(o[2] for o in combo)
            ok = round(miss * n_gt) <= allowed  # calibration.target_met
            key = (0, cost, -sum(o[1] for o in combo)) if ok else (1, miss, cost)
            if best is None or key < best[0]:
                best = (key, combo, miss)
        assert best is not None
        for k, o in zip(who, best[1], strict=True):
            choice[k, name] = (o[0], o[1])
        details[name] = {"n_gt": n_gt, "searched": True, "union_miss_before_budget": best[2]}
    tables = [
        (
            {n: choice[k, n][1] for n in CLASS_NAMES if (k, n) in choice},
            {n: choice[k, n][0] for n in CLASS_NAMES if (k, n) in choice},
        )
        for k in range(len(members))
    ]
    thr, pad = channel_arrays(tables)
    dets = channel_dets(members)

    def union_stats(t: np.ndarray, p: np.ndarray) -> RedactionStats:
        return redaction_stats(gts, dets, t, p, kappa=kappa)

    def class_miss(c: int, t: np.ndarray, p: np.ndarray) -> float:
        who = [k for k in range(len(members)) if np.isfinite(t[channel(k, c)])]
        if not who or not len(covers[who[0]][grid[0]][c]):
            return 0.0
        return _union_miss(
            [covers[k][float(p[channel(k, c)])][c] for k in who],
            [t[channel(k, c)] for k in who],
        )

    def moves_of(ch: int, t: np.ndarray, p: np.ndarray):
        """The channel's candidate moves, ``(kind, new value, trial thresholds, trial pads)``:
        threshold raises in increasing order, then (a teacher's channel only: the model's
        padding is fixed) padding shrinks in decreasing order. The caller keeps the first of
        each kind that lowers the over-redaction: the smallest step that helps."""
        steps = sorted({v for v in GRID if v <= ceiling[ch]} | {min(ceiling[ch], 1.0)})
        for t_next in (v for v in steps if v > t[ch]):
            trial = t.copy()
            trial[ch] = t_next
            yield "threshold", float(t_next), trial, p
        if ch < NUM_CLASSES:
            return
        for r in sorted((float(r) for r in padding_grid if r < p[ch] - 1e-12), reverse=True):
            trial = p.copy()
            trial[ch] = r
            yield "padding", r, t, trial

    # the union at the current thresholds and paddings: the record of its over-redaction
    # (point, and the "judged" value, upper bound or point, that the budget holds)
    final = budget_record(union_stats(thr, pad), budget_resamples)
    current = final["record"]["over_redaction"]
    moves: list[dict[str, Any]] = []
    while final["judged"] > max_over_redaction + 1e-12:
        best = None
        for ch in np.flatnonzero(np.isfinite(thr)):
            c = int(ch % NUM_CLASSES)
            found: set[str] = set()
            for kind, value, t_try, p_try in moves_of(int(ch), thr, pad):
                if kind in found:
                    continue  # only the smallest step of each kind that lowers it
                s_try = union_stats(t_try, p_try)
                after = pooled_over_redaction(s_try)
                drop = current - after
                if drop > 1e-12:
                    found.add(kind)
                    rise = class_miss(c, t_try, p_try) - class_miss(c, thr, pad)
                    key = (drop / (max(rise, 0.0) + 1e-6), drop)
                    if best is None or key > best[0]:
                        before = thr[ch] if kind == "threshold" else pad[ch]
                        best = (key, int(ch), kind, float(before), value, t_try, p_try, s_try)
        if best is None:
            break
        _, ch, kind, before, value, thr, pad, stats = best
        final = budget_record(stats, budget_resamples)
        current = final["record"]["over_redaction"]
        moves.append(
            {"channel": ch, "kind": kind, "from": before, "to": value, "over_redaction": current}
        )
    for k, (t_tab, p_tab) in enumerate(tables):
        for n in t_tab:
            t_tab[n] = float(min(1.0, thr[channel(k, CLASS_NAMES.index(n))]))
            p_tab[n] = float(pad[channel(k, CLASS_NAMES.index(n))])
    met: dict[str, bool] = {}
    for c, name in enumerate(CLASS_NAMES):
        who = [k for k in range(len(members)) if name in tables[k][0]]
        d = details.setdefault(name, {"n_gt": 0, "searched": False})
        if not who or not d["n_gt"]:
            met[name] = False
            continue
        miss = _union_miss(
            [covers[k][tables[k][1][name]][c] for k in who], [tables[k][0][name] for k in who]
        )
        met[name] = target_met(miss, d["n_gt"], targets[name], target_bound)
        d.update(union_miss=miss, target=float(targets[name]), target_met=met[name])
    within = mark_over_budget(final["judged"], max_over_redaction, met, details)
    return {
        "members": [{"thresholds": t, "padding": p} for t, p in tables],
        "met": met,
        "details": details,
        "budget": {
            "max_over_redaction": float(max_over_redaction),
            **final["record"],
            "met": within,
            "moves": moves,
            "padding_grid": sorted(float(r) for r in padding_grid),
            "ceilings": [dict(t) for t in ceilings],
            "target_bound": target_bound,
        },
    }
