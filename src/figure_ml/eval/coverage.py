"""Exact areas of the redaction mask against GT boxes and findings, per image.

The redaction mask ``M`` is a union of axis-aligned rectangles, so every area DESIGN §4 needs
is exact on the *compressed grid* of the image: the cells between consecutive distinct x and
y edges of all boxes involved. Inside one cell every box either covers it entirely or not at
all, so areas are sums of cell areas — no rasterisation, no resolution error.

Two masks, each on the side that never flatters: a GT box's coverage counts the continuous
rectangles (the redactor hides at least that), while over-redaction and finding occlusion count
the pixels the redactor really hides — every pixel a rectangle touches
(:func:`figure_ml.boxes.snap_to_pixels`), up to a pixel more per side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from figure_ml.boxes import snap_to_pixels


@dataclass(frozen=True)
class ImageAreas:
    """Areas of one image (pixels^2) under one redaction mask ``M``.

    ``gt_covered``: per GT box, ``area(g ∩ M) / area(g)``; ``mask_outside_gt``: area of the
    hidden pixels of ``M`` outside every GT box; ``outside_gt``: image area outside every GT box;
    ``findings``: area of the union of findings; ``findings_masked``: area of the hidden pixels
    of ``M`` inside ``union(F)``.
    """

    gt_covered: np.ndarray
    mask_outside_gt: float
    outside_gt: float
    findings: float
    findings_masked: float


#: bits per box set in the packed counting grid (counts below 2**21 per cell)
_BITS = 21
_FIELD = (1 << _BITS) - 1


def _cover_grids(sets: list[np.ndarray], xs: np.ndarray, ys: np.ndarray) -> list[np.ndarray]:
    """For each box set, a boolean ``(len(ys)-1, len(xs)-1)`` grid: cell covered by the set.

    A 2-D difference array (+1 at each box's top-left corner, -1 past its right and bottom
    edges, +1 past both) whose 2-D prefix sum counts the boxes over each cell. Up to three
    sets share one int64 grid, each in its own 21-bit field: prefix sums are linear, so the
    fields add independently, and the final counts are non-negative and small, so they unpack
    with shifts. One bincount and two integer cumsums instead of three of each.
    """
    ny, nx = len(ys), len(xs)
    idx, weight = [], []
    for k, boxes in enumerate(sets):
        if not len(boxes):
            continue
        x0, x1 = np.searchsorted(xs, boxes[:, 0]), np.searchsorted(xs, boxes[:, 2])
        y0, y1 = np.searchsorted(ys, boxes[:, 1]), np.searchsorted(ys, boxes[:, 3])
        idx += [y0 * nx + x0, y1 * nx + x1, y0 * nx + x1, y1 * nx + x0]
        unit = 1 << (_BITS * k)
        weight += [np.full(2 * len(boxes), float(unit)), np.full(2 * len(boxes), -float(unit))]
    if not idx:
        return [np.zeros((ny - 1, nx - 1), bool) for _ in sets]
    # float64 holds these sums of +-2**42 exactly (53-bit mantissa); bincount beats np.add.at
    flat = np.bincount(np.concatenate(idx), np.concatenate(weight), minlength=ny * nx)
    grid = flat.astype(np.int64).reshape(ny, nx).cumsum(0).cumsum(1)[:-1, :-1]
    return [((grid >> (_BITS * k)) & _FIELD) > 0 for k in range(len(sets))]


def _grid(boxes: list[np.ndarray], width: float, height: float) -> tuple:
    """The compressed grid of ``boxes``: x edges, y edges and the area of every cell."""
    allb = np.concatenate(boxes)
    xs = np.unique(np.concatenate([[0.0, width], allb[:, 0], allb[:, 2]]))
    ys = np.unique(np.concatenate([[0.0, height], allb[:, 1], allb[:, 3]]))
    return xs, ys, np.outer(np.diff(ys), np.diff(xs))


def _gt_coverage(gt: np.ndarray, mask: np.ndarray, width: float, height: float) -> np.ndarray:
    """Per GT box, ``area(g ∩ M) / area(g)`` with the continuous mask rectangles."""
    if not len(gt):
        return np.zeros(0)
    xs, ys, cell = _grid([gt, mask], width, height)
    (in_m,) = _cover_grids([mask], xs, ys)
    m_area = cell * in_m
    x0, x1 = np.searchsorted(xs, gt[:, 0]), np.searchsorted(xs, gt[:, 2])
    y0, y1 = np.searchsorted(ys, gt[:, 1]), np.searchsorted(ys, gt[:, 3])
    inter = np.array([m_area[a:b, c:d].sum() for a, b, c, d in zip(y0, y1, x0, x1, strict=True)])
    area = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1])
    # a GT box without area is never covered (as in cover_thresholds): never flatters
    return np.where(area > 0, inter / np.where(area > 0, area, 1), 0.0)


def image_areas(
    gt: np.ndarray, mask: np.ndarray, findings: np.ndarray, width: float, height: float
) -> ImageAreas:
    """Areas of one image. All boxes ``(N, 4)`` xyxy, already padded and clipped to the image.

    Two grids, each only as fine as its own boxes need (one grid over both edge sets would be
    about four times the cells): GT coverage on the continuous mask, and the areas on the
    painted pixels."""
    gt = np.asarray(gt, np.float64).reshape(-1, 4)
    mask = np.asarray(mask, np.float64).reshape(-1, 4)
    hidden = snap_to_pixels(mask, width, height)
    findings = np.asarray(findings, np.float64).reshape(-1, 4)
    xs, ys, cell = _grid([gt, hidden, findings], width, height)
    in_h, in_g, in_f = _cover_grids([hidden, gt, findings], xs, ys)
    h_area = cell * in_h
    outside = ~in_g
    return ImageAreas(
        gt_covered=_gt_coverage(gt, mask, width, height),
        mask_outside_gt=float(h_area[outside].sum()),
        outside_gt=float(cell[outside].sum()),
        findings=float(cell[in_f].sum()),
        findings_masked=float(h_area[in_f].sum()),
    )


def cover_thresholds(
    gt: np.ndarray, pred: np.ndarray, scores: np.ndarray, kappa: float
) -> np.ndarray:
    """Per GT box, the highest score threshold ``t`` at which the union of ``pred`` boxes with
    ``score >= t`` still covers at least ``kappa`` of it; ``-inf`` when even all of them don't.

    Miss rate at any threshold ``t`` is then ``mean(cover_thresholds < t)``, which is what makes
    threshold sweeps (calibration, curves) one pass per image.
    """
    gt = np.asarray(gt, np.float64).reshape(-1, 4)
    out = np.full(len(gt), -np.inf)
    if not len(gt) or not len(pred):
        return out
    order = np.argsort(-np.asarray(scores), kind="stable")
    pred = np.asarray(pred, np.float64).reshape(-1, 4)[order]
    scores = np.asarray(scores, np.float64)[order]
    for i, g in enumerate(gt):
        area = (g[2] - g[0]) * (g[3] - g[1])
        if area <= 0:
            continue
        # only predictions that overlap g matter; clip them to g
        hit = (pred[:, 0] < g[2]) & (pred[:, 2] > g[0]) & (pred[:, 1] < g[3]) & (pred[:, 3] > g[1])
        if not hit.any():
            continue
        p = pred[hit].copy()
        p[:, [0, 2]] = p[:, [0, 2]].clip(g[0], g[2])
        p[:, [1, 3]] = p[:, [1, 3]].clip(g[1], g[3])
        xs = np.unique(np.concatenate([[g[0], g[2]], p[:, 0], p[:, 2]]))
        ys = np.unique(np.concatenate([[g[1], g[3]], p[:, 1], p[:, 3]]))
        cx, cy = (xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2
        # (K, cells): does prediction k (in score order) cover cell centre?
        inside = (
            (p[:, 0, None, None] <= cx[None, None, :])
            & (cx[None, None, :] <= p[:, 2, None, None])
            & (p[:, 1, None, None] <= cy[None, :, None])
            & (cy[None, :, None] <= p[:, 3, None, None])
        ).reshape(len(p), -1)
        cell = np.outer(np.diff(ys), np.diff(xs)).ravel()
        first = np.where(inside.any(0), inside.argmax(0), len(p))  # first pred covering each cell
        gained = np.bincount(first, weights=cell, minlength=len(p) + 1)[: len(p)]
        reached = np.nonzero(np.cumsum(gained) >= kappa * area - 1e-9)[0]
        if len(reached):
            out[i] = scores[hit][reached[0]]
    return out
