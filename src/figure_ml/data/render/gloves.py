"""Gloved hands (nitrile, latex) reaching into the frame, with the sleeve behind them.

Painted with ``owner=None``: a glove is an occluder and a hard negative, never PHI.
"""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.cloth import BACKGROUNDS, fabric
from figure_ml.data.render.hands import draw_segments, hand_polys
from figure_ml.data.render.primitives import paint_sparse

GLOVE_RGB = ((0.35, 0.45, 0.85), (0.5, 0.4, 0.75), (0.92, 0.92, 0.9), (0.85, 0.78, 0.62))


def glove(canvas: Canvas, x: float, y: float, r: float) -> list[tuple[int, int, np.ndarray]]:
    """A gloved hand (nitrile/latex) reaching in; returns the painted (x0, y0, alpha) patches."""
    rng = canvas.rng
    ang = rng.uniform(0, 2 * np.pi)
    u = np.array([np.cos(ang), np.sin(ang)])
    wrist = np.array([x, y]) - u * 2.5 * r
    cuff = wrist - u * 2.0 * r
    # the sleeve of a gown or coat runs out of the frame behind the glove's short cuff
    sleeve = [(cuff - u * 3 * max(canvas.width, canvas.height), cuff + u * 0.3 * r, 1.35 * r)]
    # the cuff ends in a rolled rim, a little wider than the cuff itself
    rim = (cuff - u * 0.05 * r, cuff + u * 0.22 * r, 1.14 * r)
    segs = [rim, (cuff, wrist, 1.05 * r), *hand_polys(rng, wrist, u, r, rng.random() < 0.4)]
    # shading sees one broad palm (three capsules would read as ribs) and a cuff running into it
    relief = [(cuff - u * 0.8 * r, wrist + u * 0.8 * r, 1.1 * r), (*segs[3][:2], 1.38 * r)]
    relief += segs[5:]
    rim_line = (cuff + u * 0.22 * r, np.array([-u[1], u[0]]) * 1.2 * r, cuff - u * 0.05 * r, u)
    out = []
    for parts, base in ((sleeve, None), (segs, GLOVE_RGB[rng.integers(len(GLOVE_RGB))])):
        got = _paint_capsules(canvas, parts, r, base, relief, rim_line)
        out += [got] if got else []
    return out


def _paint_capsules(
    canvas: Canvas,
    segs: list,
    r: float,
    base: tuple | None,
    relief: list | None = None,
    rim_line: tuple[np.ndarray, ...] | None = None,
) -> tuple[int, int, np.ndarray] | None:
    """Paint capsules as one shaded shape: a glove (``base`` colour, glossy) or a sleeve."""
    rng = canvas.rng
    pts = np.concatenate([np.stack([a, b]) for a, b, _ in segs])
    x0, y0 = int(pts[:, 0].min() - 2 * r), int(pts[:, 1].min() - 2 * r)
    x1, y1 = int(pts[:, 0].max() + 2 * r), int(pts[:, 1].max() + 2 * r)
    x0c, y0c = max(x0, 0), max(y0, 0)
    x1c, y1c = min(x1, canvas.width), min(y1, canvas.height)
    if x1c - x0c < 4 or y1c - y0c < 4:
        return None
    mask = np.zeros((y1c - y0c, x1c - x0c), np.uint8)
    draw_segments(mask, segs, np.array([x0c, y0c], np.float64))
    a = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 0.8)
    dist = cv2.distanceTransform((mask > 127).astype(np.uint8), cv2.DIST_L2, 3)
    t = np.clip(dist / max(r * 0.8, 1), 0, 1)
    if base is None:
        cols = BACKGROUNDS["gown"] + BACKGROUNDS["surgical_drape"]
        cloth = fabric(rng, *mask.shape, np.array(cols[rng.integers(len(cols))], np.float32), 0.15)
        paint_sparse(canvas, x0c, y0c, a, cloth * (0.65 + 0.35 * np.sqrt(t))[..., None], None)
        return x0c, y0c, a
    # each capsule is a cylinder: their union's height field separates the fingers by grooves,
    # rounds the palm and the rim; lit by one key light with a broad satin highlight (nitrile)
    origin = np.array([x0c, y0c], np.float64)
    height, rel = _capsule_height(mask.shape, relief or segs, origin)
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    inv = 1.0 / np.sqrt(gx * gx + gy * gy + 1.0)
    ang = rng.uniform(0, 2 * np.pi)
    lx, ly, lz = 0.55 * np.cos(ang), 0.55 * np.sin(ang), 0.83
    lam = np.clip((-gx * lx - gy * ly + lz) * inv, 0.0, 1.0)
    hz = lz + 1.0
    hn = np.sqrt(lx * lx + ly * ly + hz * hz)
    spec = np.clip((-gx * lx - gy * ly + hz) * inv / hn, 0.0, 1.0) ** 24
    shade = (0.3 + 0.7 * lam) * (0.7 + 0.3 * rel) + 0.25 * spec
    if rim_line is not None:  # the step from the rolled rim to the cuff
        c, v, end, u = rim_line[0] - origin, rim_line[1], rim_line[2] - origin, rim_line[3]
        gy, gx = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]].astype(np.float32)
        a = a * np.clip((gx - end[0]) * u[0] + (gy - end[1]) * u[1] + 0.5, 0.0, 1.0)  # cut flat
        line = np.zeros(mask.shape, np.uint8)
        ends = np.round(np.stack([c - v, c + v]) * 4).astype(np.int32)
        cv2.line(line, tuple(ends[0]), tuple(ends[1]), 255, max(1, int(r * 0.08)), cv2.LINE_AA, 2)
        shade *= 1.0 - 0.3 * cv2.GaussianBlur(line.astype(np.float32) / 255.0, (0, 0), 0.8)
    col = np.array(base, np.float32) * shade[..., None]
    col += (0.12 * spec)[..., None]  # the sheen is the light's colour, not the glove's
    canvas.paint(x0c, y0c, a, np.clip(col, 0, 1), None)
    return x0c, y0c, a


def _capsule_height(
    shape: tuple[int, int], segs: list, origin: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Height (px) of the union of cylinders ``(a, b, radius)`` and its height / radius."""
    height = np.zeros(shape, np.float32)
    rel = np.zeros(shape, np.float32)
    for a, b, rad in segs:
        pa, pb = a - origin, b - origin
        x0 = max(int(min(pa[0], pb[0]) - rad) - 1, 0)
        y0 = max(int(min(pa[1], pb[1]) - rad) - 1, 0)
        x1 = min(int(max(pa[0], pb[0]) + rad) + 2, shape[1])
        y1 = min(int(max(pa[1], pb[1]) + rad) + 2, shape[0])
        if x1 <= x0 or y1 <= y0:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        d = pb - pa
        t = np.clip(((xx - pa[0]) * d[0] + (yy - pa[1]) * d[1]) / max(d @ d, 1e-6), 0.0, 1.0)
        dist2 = (xx - pa[0] - t * d[0]) ** 2 + (yy - pa[1] - t * d[1]) ** 2
        hgt = np.sqrt(np.clip(rad * rad - dist2, 0.0, None)).astype(np.float32)
        np.maximum(height[y0:y1, x0:x1], hgt, out=height[y0:y1, x0:x1])
        np.maximum(rel[y0:y1, x0:x1], hgt / max(rad, 1e-6), out=rel[y0:y1, x0:x1])
    return height, rel
