"""Hand geometry shared by bare arms and gloves: palm and finger capsules, and their creases."""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.skin import SkinRegion


def hand_polys(
    rng: np.random.Generator, wrist: np.ndarray, u: np.ndarray, r: float, closed: bool
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Palm and finger capsules of a hand at ``wrist`` pointing along ``u`` (``r`` = wrist radius).

    Returns segments ``(a, b, radius)``: three fat capsules make the palm (about 1.4 wrist
    widths wide and 1.7 long, like a real hand), then four fingers and the thumb (last five).
    """
    v = np.array([-u[1], u[0]])
    side = 1.0 if rng.random() < 0.5 else -1.0
    segs = [
        (wrist + u * 0.5 * r + v * o * r, wrist + u * 2.3 * r + v * o * r, 1.0 * r)
        for o in (-0.35, 0.0, 0.35)
    ]
    spread = rng.uniform(0.0, 0.3)
    fingers = ((2.2, -0.98), (2.55, -0.33), (2.4, 0.32), (1.9, 0.95))
    for ln, off in fingers:
        base = wrist + u * (3.0 - 0.25 * abs(off)) * r + v * off * r * side
        ang = off * spread + rng.normal(0, 0.04)
        dirv = u * np.cos(ang) + v * np.sin(ang) * side
        ln = ln * r * (0.3 if closed else 1.0)
        segs.append((base, base + dirv * ln, 0.3 * r))
    tb = wrist + u * 0.9 * r - v * 0.9 * r * side
    ta = rng.uniform(0.5, 1.0)
    tdir = u * np.cos(ta) - v * np.sin(ta) * side
    segs.append((tb, tb + tdir * (1.0 if closed else 1.9) * r, 0.36 * r))
    return segs


def draw_segments(
    mask: np.ndarray, segs: list[tuple[np.ndarray, np.ndarray, float]], origin: np.ndarray
) -> None:
    """Rasterise capsules ``(a, b, radius)`` into ``mask`` (patch origin at canvas ``origin``)."""
    for a, b, rad in segs:
        pa = tuple(int(v) for v in np.round(a - origin))
        pb = tuple(int(v) for v in np.round(b - origin))
        cv2.line(mask, pa, pb, 255, max(1, int(2 * rad)), cv2.LINE_AA)
        cv2.circle(mask, pa, int(rad), 255, -1, cv2.LINE_AA)
        cv2.circle(mask, pb, int(rad), 255, -1, cv2.LINE_AA)


def knuckle_creases(
    canvas: Canvas, segs: list[tuple[np.ndarray, np.ndarray, float]], region: SkinRegion
) -> None:
    """Dark gaps between fingers and nail plates, which is what makes the blob read as a hand."""
    for a, b, rad in segs[-5:]:
        d = b - a
        ln = np.linalg.norm(d)
        if ln < 3 or rad < 1.5:
            continue
        u = d / ln
        nail = b - u * rad * 0.8
        pad = int(rad * 2) + 2
        px0, py0 = int(nail[0]) - pad, int(nail[1]) - pad
        patch = np.zeros((2 * pad, 2 * pad), np.uint8)
        ang = float(np.degrees(np.arctan2(u[1], u[0])))
        cv2.ellipse(
            patch,
            (pad, pad),
            (max(1, int(rad * 0.7)), max(1, int(rad * 0.55))),
            ang,
            0,
            360,
            255,
            -1,
            cv2.LINE_AA,
        )
        a_n = cv2.GaussianBlur(patch.astype(np.float32) / 255.0, (0, 0), 0.8) * 0.35
        canvas.paint(px0, py0, a_n, (1.0, 0.9, 0.9), occlude=False)
        # the crease along the finger's side separates it from its neighbour
        side = np.array([-u[1], u[0]]) * rad
        seg = np.stack([a + side, b + side - u * rad])
        bx0, by0 = int(seg[:, 0].min()) - 2, int(seg[:, 1].min()) - 2
        patch2 = np.zeros(
            (int(seg[:, 1].max()) - by0 + 3, int(seg[:, 0].max()) - bx0 + 3), np.uint8
        )
        p = np.round(seg - [bx0, by0]).astype(np.int32)
        cv2.line(patch2, tuple(p[0]), tuple(p[1]), 255, 1, cv2.LINE_AA)
        a_c = cv2.GaussianBlur(patch2.astype(np.float32) / 255.0, (0, 0), 0.7) * 0.5
        a_c *= region.alpha_at(bx0, by0, *a_c.shape)
        canvas.paint(bx0, by0, a_c, (0.55, 0.45, 0.42), mode="multiply", occlude=False)
