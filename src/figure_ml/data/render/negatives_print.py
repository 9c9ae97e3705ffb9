"""Printed hard negatives: scale bars, text-like textures and drawn faces (see :mod:`negatives`).

Each is composed flat on a small patch, rotated, and placed where it overlaps no PHI or finding
(the layout's reserved boxes), then reserved in turn so that later PHI keeps clear of it.
"""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.primitives import Layout, rotate_patch, smooth_noise

PAPER_RGB = ((0.97, 0.97, 0.95), (0.98, 0.96, 0.85), (0.93, 0.95, 0.98), (0.9, 0.9, 0.88))


def _place(
    canvas: Canvas, layout: Layout, back: np.ndarray, col: np.ndarray, rot: float, tries: int = 10
) -> bool:
    """Rotate a flat ``back`` alpha and its ``col`` and paint them at a free spot; reserve it."""
    rng = canvas.rng
    a = rotate_patch(back, rot)
    c = rotate_patch(col, rot)
    h, w = a.shape
    for _ in range(tries):  # at least 80% of the patch inside the frame (or centred if larger)
        x0 = int(rng.uniform(-0.2 * w, max(-0.2 * w, canvas.width - 0.8 * w)))
        y0 = int(rng.uniform(-0.2 * h, max(-0.2 * h, canvas.height - 0.8 * h)))
        box = (x0, y0, x0 + w, y0 + h)
        if layout.overlap(box) < 0.1:
            shadow = cv2.GaussianBlur(a, (0, 0), 2.0) * 0.3
            canvas.paint(x0 + 2, y0 + 3, shadow, (0.3, 0.3, 0.3), mode="multiply", occlude=False)
            canvas.paint(x0, y0, a, c, None)
            layout.reserve(box)
            return True
    return False


def scale_bar(canvas: Canvas, layout: Layout) -> bool:
    """A black-and-white segmented scale bar, or an L-shaped photo scale with a grey patch."""
    rng = canvas.rng
    unit = min(canvas.width, canvas.height)
    ln = int(max(30, rng.uniform(0.15, 0.5) * unit))
    wd = int(max(6, ln * rng.uniform(0.06, 0.12)))
    n = int(rng.integers(4, 11))
    seg = (np.arange(ln) * n // ln) % 2 == 0
    bar = np.where(seg, 0.05, 0.96).astype(np.float32)
    if rng.random() < 0.5:  # L-shaped scale: a second arm and a grey reference square
        side = int(ln * rng.uniform(0.4, 0.7))
        back = np.zeros((side + wd, ln), np.float32)
        col = np.full((side + wd, ln, 3), 0.96, np.float32)
        back[:wd] = 1.0
        back[:, :wd] = 1.0
        col[:wd] = bar[None, :, None]
        segv = np.where((np.arange(side + wd) * n // ln) % 2 == 0, 0.05, 0.96)
        col[:, :wd] = segv[:, None, None]
        g = int(min(side, ln) * 0.3)
        back[2 * wd : 2 * wd + g, 2 * wd : 2 * wd + g] = 1.0
        col[2 * wd : 2 * wd + g, 2 * wd : 2 * wd + g] = rng.uniform(0.4, 0.6)
    else:
        back = np.ones((wd, ln), np.float32)
        col = np.repeat(np.repeat(bar[None, :, None], wd, 0), 3, 2)
        col[[0, -1]] = 0.05  # outline
    return _place(canvas, layout, back, col, float(rng.uniform(-180, 180)))


def text_like(canvas: Canvas, layout: Layout) -> bool:
    """A printed pattern that reads as text from afar but holds no glyph: greeked lines of word
    blobs, pinstripes, rows of dashes or graph paper."""
    rng = canvas.rng
    unit = min(canvas.width, canvas.height)
    w = int(max(24, rng.uniform(0.12, 0.45) * unit))
    h = int(max(16, w * rng.uniform(0.4, 1.2)))
    ink = np.zeros((h, w), np.float32)
    kind = str(rng.choice(["greeked", "stripes", "dashes", "grid"]))
    pitch = max(3.0, rng.uniform(0.04, 0.12) * h)
    if kind == "greeked":  # rounded word-shaped blobs with ragged line ends, no letter forms
        th = max(1, int(pitch * rng.uniform(0.3, 0.5)))
        for y in np.arange(pitch, h - pitch / 2, pitch * 1.6):
            x, end = rng.uniform(0.03, 0.1) * w, w * rng.uniform(0.6, 0.95)
            while x < end:
                x1 = min(x + rng.uniform(1.5, 6) * th, end)
                cv2.line(ink, (int(x), int(y)), (int(x1), int(y)), 1.0, th, cv2.LINE_AA)
                ln = x1 - x
                x += ln + rng.uniform(0.8, 1.6) * th
        ink = cv2.GaussianBlur(ink, (0, 0), max(0.5, th * 0.3))
    elif kind == "stripes":
        ink[:] = (np.sin(np.arange(w) * 2 * np.pi / pitch) > rng.uniform(0.3, 0.8))[None, :]
    elif kind == "dashes":
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        rows = (yy % pitch) < max(1.0, pitch * 0.3)
        dash = ((xx + (yy // pitch) * pitch * 0.5) % (pitch * 2)) < pitch * 1.2
        ink[:] = rows & dash
    else:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ink[:] = ((yy % pitch) < 1) | ((xx % pitch) < 1)
        ink *= 0.5
    paper = np.array(PAPER_RGB[rng.integers(len(PAPER_RGB))], np.float32)
    dye = np.array([(0.05, 0.05, 0.06), (0.2, 0.3, 0.6), (0.6, 0.2, 0.2)][rng.integers(3)])
    col = paper * (1 - ink[..., None]) + dye.astype(np.float32) * ink[..., None]
    col *= (0.95 + 0.05 * smooth_noise(rng, h, w, max(h, w) / 3))[..., None]
    return _place(canvas, layout, np.ones((h, w), np.float32), col, float(rng.normal(0, 20)))


def _cartoon_face(img: np.ndarray, cx: int, cy: int, r: int, mood: float, colour) -> None:
    """A drawn face in ``img`` (H, W, 3): outline, two dot eyes, a mouth from smile to frown."""
    th = max(1, r // 10)
    cv2.circle(img, (cx, cy), r, colour, th, cv2.LINE_AA)
    for sx in (-1, 1):
        cv2.circle(img, (cx + sx * r // 3, cy - r // 4), max(1, r // 9), colour, -1, cv2.LINE_AA)
    my = cy + r // 3
    pts = np.array([[cx - r // 2, my], [cx, my + int(mood * r * 0.35)], [cx + r // 2, my]])
    cv2.polylines(img, [pts.astype(np.int32)], False, colour, th, cv2.LINE_AA)


def poster_faces(canvas: Canvas, layout: Layout) -> bool:
    """Drawn faces on paper: a pain-scale chart (a row of faces, smiling to crying) or a smiley
    sticker. Faces of lines and dots are not faces of people: never PHI."""
    rng = canvas.rng
    unit = min(canvas.width, canvas.height)
    n = int(rng.choice([1, 3, 4, 5, 6]))
    r = rng.uniform(0.03, 0.12) * unit
    r = int(max(5, min(r, 0.9 * max(canvas.width, canvas.height) / (2.6 * n + 1))))
    w, h = int(n * 2.6 * r + r), int(3.2 * r)
    col = np.empty((h, w, 3), np.float32)
    col[:] = PAPER_RGB[rng.integers(len(PAPER_RGB))]
    for i in range(n):
        t = i / max(n - 1, 1)
        cx, cy = int(r * 1.8 + i * 2.6 * r), int(1.5 * r)
        if rng.random() < 0.6:  # the pain scale's colour ramp, green to red
            fill = np.zeros((h, w), np.uint8)
            cv2.circle(fill, (cx, cy), r, 255, -1, cv2.LINE_AA)
            tint = np.array([0.4 + 0.55 * t, 0.85 - 0.5 * t, 0.35], np.float32)
            f = fill.astype(np.float32)[..., None] / 255
            col = col * (1 - f) + tint * f
        _cartoon_face(col, cx, cy, r, 1.0 - 2.0 * t if n > 1 else 1.0, (0.1, 0.1, 0.1))
    return _place(canvas, layout, np.ones((h, w), np.float32), col, float(rng.normal(0, 15)))
