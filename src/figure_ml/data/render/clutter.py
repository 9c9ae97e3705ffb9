"""Clinical context that is *not* PHI: backgrounds, drapes, gloves, gauze, rulers, tubes, devices.

Everything here is painted with ``owner=None``: it is a hard negative for the detector (a ruler's
numbers are printed text but not PHI) and an occluder that takes pixels away from PHI under it.
"""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.cloth import drape
from figure_ml.data.render.gloves import glove
from figure_ml.data.render.primitives import (
    bezier,
    blob_polygon,
    poly_alpha,
    rotate_patch,
    smooth_noise,
)


def _rounded_rect(h: int, w: int, hw: float, hh: float, r: float) -> np.ndarray:
    """Anti-aliased alpha of a rounded rectangle of half sizes ``hw x hh`` centred in the patch."""
    m = np.zeros((h, w), np.uint8)
    r = min(r, hw, hh)
    cx, cy = w / 2, h / 2
    cv2.rectangle(m, (int(cx - hw + r), int(cy - hh)), (int(cx + hw - r), int(cy + hh)), 255, -1)
    cv2.rectangle(m, (int(cx - hw), int(cy - hh + r)), (int(cx + hw), int(cy + hh - r)), 255, -1)
    for sx in (-1, 1):
        for sy in (-1, 1):
            cv2.circle(
                m, (int(cx + sx * (hw - r)), int(cy + sy * (hh - r))), int(r), 255, -1, cv2.LINE_AA
            )
    return cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), 0.7)


def gauze(canvas: Canvas, x: float, y: float, size: float) -> None:
    """A folded gauze swab or an adhesive island dressing (beige or white, lighter pad)."""
    rng = canvas.rng
    s = int(max(8, size))
    hw, hh = s * 0.9, s * rng.uniform(0.55, 0.9)
    a = _rounded_rect(2 * s, 2 * s, hw, hh, s * rng.uniform(0.05, 0.3))
    yy, xx = np.mgrid[0 : 2 * s, 0 : 2 * s].astype(np.float32)
    if rng.random() < 0.5:  # folded cotton gauze: a fine weave and fold lines
        period = rng.uniform(2.5, 5)
        weave = 0.93 + 0.07 * np.sin(xx * 6.28 / period) * np.sin(yy * 6.28 / period)
        fold = 1 - 0.06 * (np.abs(xx - s * rng.uniform(0.7, 1.3)) < 1.5)
        col = np.array([0.96, 0.96, 0.94], np.float32) * (weave * fold)[..., None]
    else:  # adhesive island dressing: beige/white border around a lighter absorbent pad
        col = np.empty((2 * s, 2 * s, 3), np.float32)
        col[:] = [(0.9, 0.82, 0.7), (0.95, 0.95, 0.95)][rng.integers(2)]
        inner = _rounded_rect(2 * s, 2 * s, hw * 0.6, hh * 0.55, s * 0.08)
        col += inner[..., None] * (np.array([0.99, 0.99, 0.98]) - col)
        col *= (1 - 0.08 * (np.abs(inner - 0.5) < 0.45))[..., None]  # pad edge relief
        if rng.random() < 0.4:  # exudate spot on the pad
            blob = poly_alpha(2 * s, 2 * s, [blob_polygon(rng, s, s, s * 0.2, s * 0.15, 0.3)], 3)
            col *= 1 - 0.5 * blob[..., None] * np.array([0.1, 0.5, 0.8], np.float32)
    col *= (0.9 + 0.1 * smooth_noise(rng, 2 * s, 2 * s, s / 2))[..., None]
    rot = rng.uniform(0, 360)
    a = rotate_patch(a, rot)
    col = rotate_patch(col, rot)
    canvas.paint(int(x - a.shape[1] / 2), int(y - a.shape[0] / 2), a, col, None)


def ruler(canvas: Canvas, x: float, y: float, length: float) -> None:
    """A paper/plastic ruler or scale sticker with mm ticks and printed centimetre numbers."""
    rng = canvas.rng
    ln = int(max(40, length))
    width = int(max(12, ln * rng.uniform(0.08, 0.16)))
    col = np.array(
        [(0.97, 0.97, 0.95), (0.95, 0.9, 0.4), (0.9, 0.95, 0.97)][rng.integers(3)], np.float32
    )
    ink = np.zeros((width, ln), np.uint8)
    mm = ln / rng.uniform(40, 150)  # pixels per mm
    cm_count = int(ln / (10 * mm))
    for i in range(int(ln / mm)):
        tx = int(4 + i * mm)
        if tx >= ln - 2:
            break
        tl = width * (0.45 if i % 10 == 0 else 0.3 if i % 5 == 0 else 0.18)
        cv2.line(ink, (tx, 0), (tx, int(tl)), 255, 1, cv2.LINE_AA)
    scale = width * 0.028
    if mm * 10 > 12 * scale:
        for c in range(cm_count + 1):
            tx = int(4 + c * 10 * mm)
            cv2.putText(
                ink,
                str(c),
                (tx - int(6 * scale), int(width * 0.85)),
                cv2.FONT_HERSHEY_SIMPLEX,
                scale,
                255,
                1,
                cv2.LINE_AA,
            )
    if rng.random() < 0.5:
        cv2.putText(
            ink,
            "cm",
            (int(ln * 0.85), int(width * 0.85)),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale * 0.8,
            255,
            1,
            cv2.LINE_AA,
        )
    body = np.ones((width, ln), np.float32)
    rot = rng.uniform(-180, 180)
    body_r = rotate_patch(body, rot)
    ink_r = rotate_patch(ink.astype(np.float32) / 255, rot)
    x0, y0 = int(x - body_r.shape[1] / 2), int(y - body_r.shape[0] / 2)
    canvas.paint(
        x0 + 2,
        y0 + 3,
        cv2.GaussianBlur(body_r, (0, 0), 2) * 0.3,
        (0.3, 0.3, 0.3),
        mode="multiply",
        occlude=False,
    )
    canvas.paint(x0, y0, body_r, col, None)
    canvas.paint(x0, y0, ink_r, (0.05, 0.05, 0.05), None)


def tube(canvas: Canvas) -> None:
    """An IV line, drain or ECG lead crossing part of the frame (a thick curved line)."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height

    pts = bezier(rng.uniform([-0.1 * w, -0.1 * h], [1.1 * w, 1.1 * h], (4, 2)), 48)
    th = int(max(2, rng.uniform(0.005, 0.02) * min(w, h)))
    x0, y0 = int(pts[:, 0].min()) - th - 2, int(pts[:, 1].min()) - th - 2
    x1, y1 = int(pts[:, 0].max()) + th + 2, int(pts[:, 1].max()) + th + 2
    x0c, y0c, x1c, y1c = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1c - x0c < 4 or y1c - y0c < 4:
        return
    m = np.zeros((y1c - y0c, x1c - x0c), np.uint8)
    hl = np.zeros_like(m)
    p = np.round((pts - [x0c, y0c]) * 4).astype(np.int32)
    cv2.polylines(m, [p], False, 255, th, cv2.LINE_AA, shift=2)
    cv2.polylines(hl, [p - th], False, 255, max(1, th // 4), cv2.LINE_AA, shift=2)
    a = m.astype(np.float32) / 255
    clear = rng.random() < 0.5
    col = np.array(
        [(0.85, 0.88, 0.9), (0.3, 0.5, 0.85), (0.95, 0.95, 0.95), (0.2, 0.2, 0.22)][
            rng.integers(4)
        ],
        np.float32,
    )
    canvas.paint(x0c, y0c, a * (0.45 if clear else 0.97), col, None, claim=0.4)
    canvas.paint(x0c, y0c, hl.astype(np.float32) / 255 * 0.6, (1, 1, 1), occlude=False)


def electrode(canvas: Canvas, x: float, y: float, r: float) -> None:
    """An ECG electrode: white foam disc with a grey snap in the middle."""
    s = int(max(4, r))
    patch = np.zeros((2 * s + 4, 2 * s + 4), np.uint8)
    cv2.circle(patch, (s + 2, s + 2), s, 255, -1, cv2.LINE_AA)
    a = patch.astype(np.float32) / 255
    inner = np.zeros_like(patch)
    cv2.circle(inner, (s + 2, s + 2), max(1, s // 3), 255, -1, cv2.LINE_AA)
    col = np.empty((*patch.shape, 3), np.float32)
    col[:] = (0.95, 0.95, 0.93)
    col *= 1 - 0.5 * inner.astype(np.float32)[..., None] / 255
    canvas.paint(int(x) - s - 2, int(y) - s - 2, a, col, None)


def foreground_clutter(
    canvas: Canvas, count: int, near: list[tuple[float, float, float]]
) -> list[str]:
    """Paint ``count`` occluders; ``near`` are (x, y, size) spots of interest (lesions, PHI).

    Gauze, gloves and rulers gather around those spots, like in real clinical photos, so that they
    partly hide PHI and sit next to findings. Returns the names painted (for the scene params).
    """
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    names: list[str] = []
    for _ in range(count):
        kind = str(
            rng.choice(
                ["ruler", "gauze", "glove", "tube", "electrode", "drape"],
                p=[0.32, 0.22, 0.08, 0.16, 0.12, 0.1],
            )
        )
        if near and rng.random() < 0.6:
            cx, cy, s = near[rng.integers(len(near))]
            # offset so the occluder touches the spot's side without hiding all of it
            ang = rng.uniform(0, 2 * np.pi)
            x, y = (
                cx + np.cos(ang) * s * rng.uniform(0.9, 1.6),
                cy + np.sin(ang) * s * rng.uniform(0.9, 1.6),
            )
        else:
            s = 0.15 * min(w, h)
            x, y = rng.uniform(0, w), rng.uniform(0, h)
        unit = min(w, h)
        if kind == "ruler":
            ruler(canvas, x, y, rng.uniform(0.25, 0.9) * unit)
        elif kind == "gauze":
            gauze(canvas, x, y, rng.uniform(0.05, 0.18) * unit)
        elif kind == "glove":
            glove(canvas, x, y, rng.uniform(0.04, 0.1) * unit)
        elif kind == "tube":
            tube(canvas)
        elif kind == "electrode":
            electrode(canvas, x, y, rng.uniform(0.02, 0.05) * unit)
        else:
            drape(canvas)
        names.append(kind)
    return names
