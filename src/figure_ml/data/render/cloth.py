"""Cloth: bed sheets, drapes, exam paper, walls and gowns as backgrounds and occluders.

Everything here is painted with ``owner=None`` (never PHI); a drape hides PHI under it.
"""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.primitives import paint_sparse, poly_alpha, smooth_noise

#: Background surfaces of clinical photos and their base colours.
BACKGROUNDS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "bed_sheet": ((0.93, 0.93, 0.92), (0.82, 0.88, 0.93), (0.86, 0.92, 0.88), (0.95, 0.94, 0.9)),
    "surgical_drape": ((0.25, 0.45, 0.65), (0.22, 0.5, 0.45), (0.3, 0.55, 0.7)),
    "exam_paper": ((0.92, 0.9, 0.84), (0.88, 0.88, 0.86)),
    "wall": ((0.85, 0.82, 0.74), (0.75, 0.78, 0.78), (0.9, 0.88, 0.84), (0.62, 0.66, 0.7)),
    "gown": ((0.55, 0.68, 0.8), (0.78, 0.8, 0.86), (0.45, 0.6, 0.55)),
}


def _wrinkles(rng: np.random.Generator, h: int, w: int, ang: float, n: int) -> np.ndarray:
    """Relief (about -1..1) of ``n`` creases on an ``h x w`` grid, lit from one side.

    Creases run roughly along the folds; their height field is embossed (its gradient against a
    light direction), which gives each one a bright and a dark flank like a real wrinkle.
    """
    height = np.zeros((h, w), np.float32)
    if n <= 0:
        return height
    ln = rng.uniform(0.15, 0.5, n) * min(h, w) + 2
    # creases gather around a pinch point or two and radiate from it, the rest follow the folds
    k = int(rng.integers(1, 3))
    centres = np.stack([rng.uniform(0.1, 0.9, k) * w, rng.uniform(0.1, 0.9, k) * h], 1)
    p0 = centres[rng.integers(k, size=n)] + rng.normal(0, 0.08 * min(h, w), (n, 2))
    radial = np.arctan2(*(p0 - centres.mean(0)).T[::-1])
    a = np.where(rng.random(n) < 0.6, radial, ang) + rng.normal(0.0, 0.3, n)
    d = np.stack([np.cos(a), np.sin(a)], 1) * ln[:, None]
    bend = np.stack([-d[:, 1], d[:, 0]], 1) * rng.normal(0, 0.15, (n, 1))
    t = np.linspace(0.0, 1.0, 8)[None, :, None]
    # a quadratic curve through a bent midpoint: creases are not ruler-straight
    pts = p0[:, None] + d[:, None] * t + bend[:, None] * 4 * t * (1 - t)
    lines = np.round(pts * 4).astype(np.int32)
    m = np.zeros((h, w), np.uint8)
    cv2.polylines(m, list(lines), False, 255, 1, cv2.LINE_AA, shift=2)
    height = cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), 1.8)
    la = rng.uniform(0, 2 * np.pi)
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3)
    return np.clip(gx * np.cos(la) + gy * np.sin(la), -1.0, 1.0) * 2.0 - 0.5 * height


def _weave(rng: np.random.Generator, h: int, w: int, amp: float) -> np.ndarray:
    """``1 + amp * relief`` of threads: warp and weft each a little lighter or darker (dye, slub).

    The relief is separable (one value per row plus one per column), so it costs one pass.
    """
    pitch = rng.uniform(1.2, 2.5)
    # bounded, not Gaussian: a rare very dark thread across the frame reads as graph paper
    rows = rng.uniform(-1.0, 1.0, int(h / pitch) + 2).astype(np.float32)
    cols = rng.uniform(-1.0, 1.0, int(w / pitch) + 2).astype(np.float32)
    r = np.interp(np.arange(h, dtype=np.float32) / pitch, np.arange(len(rows)), rows)
    c = np.interp(np.arange(w, dtype=np.float32) / pitch, np.arange(len(cols)), cols)
    return np.add.outer(
        (0.5 * amp * r).astype(np.float32), (1.0 + 0.5 * amp * c).astype(np.float32)
    )


def fabric(
    rng: np.random.Generator,
    h: int,
    w: int,
    base: np.ndarray,
    folds: float,
    weave: float = 1.0,
) -> np.ndarray:
    """``(h, w, 3)`` cloth: soft folds, creases and a weave of threads (``weave`` 0: a wall).

    Folds are low-frequency, built at 1/8 size; creases at 1/4 size; both upsample once.
    """
    ang = rng.uniform(0, np.pi)
    small_h, small_w = max(2, h // 8), max(2, w // 8)
    yy, xx = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
    phase = (xx * np.cos(ang) + yy * np.sin(ang)) / max(4.0, rng.uniform(6, 25))
    # gentle bending keeps folds long and roughly parallel, as cloth drapes
    warp = smooth_noise(rng, small_h, small_w, max(4.0, small_w / 3)) * rng.uniform(0.3, 1.2)
    ridges = np.sin(phase + warp) ** 3
    small = 1.0 + folds * ridges + 0.04 * smooth_noise(rng, small_h, small_w, max(small_w, 4) / 3)
    if weave > 0 and min(h, w) >= 24:
        qh, qw = max(2, h // 4), max(2, w // 4)
        quarter = cv2.resize(small.astype(np.float32), (qw, qh), interpolation=cv2.INTER_LINEAR)
        n = int(rng.uniform(0.3, 1.2) * folds * 45 * np.sqrt(qh * qw) / 100)
        quarter += rng.uniform(0.05, 0.1) * weave * _wrinkles(rng, qh, qw, ang, n)
        small = quarter
    # the grain is half-resolution noise: applied at half size, one upsampling carries both
    hh, hw = max(2, h // 2), max(2, w // 2)
    half = cv2.resize(small.astype(np.float32), (hw, hh), interpolation=cv2.INTER_LINEAR)
    # uniform, not Gaussian, noise: as fine a grain, several times cheaper to draw
    grain = rng.random((hh, hw), dtype=np.float32)
    grain *= 0.042  # the standard deviation of the 0.012 * N(0, 1) grain it replaces
    grain += 1.0 - 0.021
    half *= grain
    shade = cv2.resize(half, (w, h), interpolation=cv2.INTER_LINEAR)
    if weave > 0:  # threads are pixel-fine: full resolution, but separable (one pass)
        shade *= _weave(rng, h, w, rng.uniform(0.01, 0.025) * weave)
    out = np.empty((h, w, 3), np.float32)
    for k in range(3):  # channel by channel (see Canvas.paint)
        np.multiply(shade, np.float32(base[k]), out=out[..., k])
    return out


def paint_background(canvas: Canvas) -> str:
    """Fill the frame with a surface (sheet, drape, paper, wall+bed split); returns its name."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    name = str(rng.choice(list(BACKGROUNDS)))
    cols = BACKGROUNDS[name]
    base = np.array(cols[rng.integers(len(cols))], np.float32) * rng.uniform(0.85, 1.05)
    wall = name == "wall"
    img = fabric(rng, h, w, base, 0.01 if wall else rng.uniform(0.03, 0.12), 0.0 if wall else 1.0)
    # the first layer: nothing is owned yet, so writing the pixels directly is equivalent to
    # an opaque paint and saves a full-frame composite
    canvas.image[:] = img
    if name == "wall" and rng.random() < 0.7:  # a bed or table edge across the lower part
        split = int(rng.uniform(0.4, 0.8) * h)
        cols2 = BACKGROUNDS["bed_sheet"]
        img2 = fabric(
            rng, h - split, w, np.array(cols2[rng.integers(len(cols2))], np.float32), 0.08
        )
        canvas.image[split:] = img2
        name = "wall_and_bed"
    return name


def drape(canvas: Canvas) -> None:
    """A surgical drape or sheet coming in from one side of the frame, with a cut-out edge."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    side = rng.integers(4)
    depth = rng.uniform(0.1, 0.35)
    t = np.linspace(0, 1, 16)
    wob = smooth_noise(rng, 1, 16, 4)[0] * 0.04
    if side < 2:
        x = (depth + wob) * w if side == 0 else (1 - depth - wob) * w
        edge = np.stack([x, t * h * 1.2 - 0.1 * h], 1)
        far = [[0 if side == 0 else w, 1.1 * h], [0 if side == 0 else w, -0.1 * h]]
    else:
        y = (depth + wob) * h if side == 2 else (1 - depth - wob) * h
        edge = np.stack([t * w * 1.2 - 0.1 * w, y], 1)
        far = [[1.1 * w, 0 if side == 2 else h], [-0.1 * w, 0 if side == 2 else h]]
    a = poly_alpha(h, w, [np.concatenate([edge, far])], 1.2)
    # cloth only where the drape is (a side strip), not over the whole frame
    rows, cols_ = np.nonzero(a.any(axis=1))[0], np.nonzero(a.any(axis=0))[0]
    if not len(rows):
        return
    sy, sx = slice(rows[0], rows[-1] + 1), slice(cols_[0], cols_[-1] + 1)
    a = a[sy, sx]
    cols = BACKGROUNDS["surgical_drape"] + BACKGROUNDS["bed_sheet"][:2]
    img = fabric(rng, *a.shape, np.array(cols[rng.integers(len(cols))], np.float32), 0.1)
    paint_sparse(canvas, sx.start, sy.start, a, img, None)
