"""Bare body parts of the patient: limbs (arm with hand, lower leg), trunk, skin close-ups.

Each returns the :class:`SkinRegion` it painted so later renderers can place things on it.
"""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.hands import draw_segments, hand_polys, knuckle_creases
from figure_ml.data.render.primitives import bezier, smooth_noise
from figure_ml.data.render.skin import SkinRegion, paint_skin_mask


def limb_outline(
    rng: np.random.Generator, p0: np.ndarray, p1: np.ndarray, r0: float, r1: float, bend: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tapered, slightly bent limb from ``p0`` to ``p1``: (polygon, centreline, radii)."""
    d = p1 - p0
    n = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-6)
    mid = (p0 + p1) / 2 + n * bend * np.linalg.norm(d)
    c = bezier(np.stack([p0, mid, p1]), 24)
    t = np.linspace(0, 1, 24)
    # muscle bulge near the proximal third, then taper
    r = r0 + (r1 - r0) * t + 0.12 * r0 * np.sin(np.pi * np.clip(t * 1.4, 0, 1)) * rng.uniform(0, 1)
    tang = np.gradient(c, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True) + 1e-9
    nrm = np.stack([-tang[:, 1], tang[:, 0]], 1)
    poly = np.concatenate([c + nrm * r[:, None], (c - nrm * r[:, None])[::-1]])
    return poly, c, r


# ---------------------------------------------------------------------------- body parts
def _clipped_box(canvas: Canvas, pts: np.ndarray, pad: float) -> tuple[int, int, int, int] | None:
    """Canvas-clipped integer box around ``pts`` (+ ``pad``): only visible pixels get drawn."""
    x0 = max(int(pts[:, 0].min() - pad), 0)
    y0 = max(int(pts[:, 1].min() - pad), 0)
    x1 = min(int(pts[:, 0].max() + pad) + 1, canvas.width)
    y1 = min(int(pts[:, 1].max() + pad) + 1, canvas.height)
    return (x0, y0, x1, y1) if x1 - x0 > 4 and y1 - y0 > 4 else None


def add_limb(canvas: Canvas, fitz: int, kind: str, size: float) -> SkinRegion | None:
    """An arm (forearm, often with a hand) or a lower leg; ``size`` is the wrist radius."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    leg = kind == "leg"
    r = size * (1.7 if leg else 1.0)
    ang = rng.uniform(0, 2 * np.pi)
    u = np.array([np.cos(ang), np.sin(ang)])
    end = np.array([rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.75) * h])
    # the proximal end always leaves the frame: a limb never ends in mid-air
    start = end - u * max(r * (5.0 if leg else 9.0), 1.2 * np.hypot(w, h))
    if leg:
        end = end + u * r * 6.0  # a shin runs through the frame
    poly, centre, radii = limb_outline(
        rng, start, end, r * rng.uniform(1.3, 1.5), r, rng.normal(0, 0.05)
    )
    segs: list[tuple[np.ndarray, np.ndarray, float]] = []
    has_hand = kind == "arm"  # a forearm ending in mid-frame without a hand looks amputated
    tang = centre[-1] - centre[-3]
    u_end = tang / (np.linalg.norm(tang) + 1e-9)
    if has_hand:
        segs = hand_polys(rng, centre[-1] - u_end * 0.2 * r, u_end, r, rng.random() < 0.3)
    allpts = np.concatenate([poly] + [np.stack([a, b]) for a, b, _ in segs]) if segs else poly
    box = _clipped_box(canvas, allpts, r * 0.6)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    origin = np.array([x0, y0], np.float64)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round((poly - origin) * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
    cv2.circle(mask, tuple(int(v) for v in centre[-1] - origin), int(radii[-1]), 255, -1)
    draw_segments(mask, segs, origin)
    region = paint_skin_mask(
        canvas,
        kind,
        x0,
        y0,
        mask,
        fitz,
        r / 25.0,
        rng.uniform(0, 6.3),
        r,
        hairy=rng.uniform(0, 1.5 if leg else 0.8),
        hair_dir=ang,
    )
    if has_hand:
        knuckle_creases(canvas, segs, region)
    if kind == "arm":
        wx, wy = centre[-1] - u_end * r * rng.uniform(0.5, 1.1)
        region.wrist = (float(wx), float(wy), float(u_end[0]), float(u_end[1]), float(radii[-1]))
    return region


def add_torso(canvas: Canvas, fitz: int) -> SkinRegion | None:
    """A large rounded trunk area (abdomen, back, chest) filling much of the frame."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
    rx, ry = rng.uniform(0.45, 0.8) * w, rng.uniform(0.55, 1.1) * h
    # a trunk seen from above is a rounded box (superellipse), not an ellipse
    t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    p = rng.uniform(2.5, 4.0)
    sx = np.sign(np.cos(t)) * np.abs(np.cos(t)) ** (2 / p)
    sy = np.sign(np.sin(t)) * np.abs(np.sin(t)) ** (2 / p)
    wob = 1 + 0.03 * smooth_noise(rng, 1, 72, 8)[0]
    ang = rng.normal(0, 0.15)
    px_, py_ = sx * rx * wob, sy * ry * wob
    poly = np.stack(
        [cx + px_ * np.cos(ang) - py_ * np.sin(ang), cy + px_ * np.sin(ang) + py_ * np.cos(ang)], 1
    )
    box = _clipped_box(canvas, poly, 4)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(
        mask, [np.round((poly - [x0, y0]) * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2
    )
    radius = min(rx, ry)
    region = paint_skin_mask(
        canvas,
        "torso",
        x0,
        y0,
        mask,
        fitz,
        radius / 180.0,
        rng.uniform(0, 6.3),
        radius,
        hairy=rng.uniform(0, 0.4),
        hair_dir=rng.uniform(0, 6.3),
    )
    if rng.random() < 0.4:  # a navel or a skin fold gives the trunk scale
        p = region.sample_point(rng, radius * 0.3)
        if p is not None:
            s = int(max(3, radius * 0.04))
            patch = np.zeros((4 * s, 4 * s), np.uint8)
            cv2.ellipse(patch, (2 * s, 2 * s), (s, int(s * 1.4)), 0, 0, 360, 255, -1, cv2.LINE_AA)
            a = cv2.GaussianBlur(patch.astype(np.float32) / 255, (0, 0), s * 0.4) * 0.6
            canvas.paint(
                int(p[0]) - 2 * s,
                int(p[1]) - 2 * s,
                a,
                (0.45, 0.35, 0.32),
                mode="multiply",
                occlude=False,
            )
    return region


def add_closeup(canvas: Canvas, fitz: int) -> SkinRegion:
    """Skin filling the frame (a dermatology close-up), maybe with a curved background edge."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    mask = np.full((h, w), 255, np.uint8)
    if rng.random() < 0.5:
        side = rng.integers(4)
        t = np.linspace(0, 1, 20)
        depth = rng.uniform(0.05, 0.3) * (w if side < 2 else h)
        bow = depth * (1 - 0.6 * (2 * t - 1) ** 2)
        if side == 0:
            pts = np.stack([bow, t * h], 1)
            poly = np.concatenate([pts, [[0, h], [0, 0]]])
        elif side == 1:
            pts = np.stack([w - bow, t * h], 1)
            poly = np.concatenate([pts, [[w, h], [w, 0]]])
        elif side == 2:
            pts = np.stack([t * w, bow], 1)
            poly = np.concatenate([pts, [[w, 0], [0, 0]]])
        else:
            pts = np.stack([t * w, h - bow], 1)
            poly = np.concatenate([pts, [[w, h], [0, h]]])
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 0, cv2.LINE_AA)
    radius = 0.35 * min(w, h)
    return paint_skin_mask(
        canvas,
        "closeup",
        0,
        0,
        mask,
        fitz,
        min(w, h) / 120.0,
        rng.uniform(0, 6.3),
        radius,
        hairy=rng.uniform(0, 0.6),
        hair_dir=rng.uniform(0, 6.3),
    )
