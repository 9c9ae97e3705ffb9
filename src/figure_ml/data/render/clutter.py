"""Clinical context that is *not* PHI: backgrounds, drapes, gloves, gauze, rulers, tubes, devices.

Everything here is painted with ``owner=None``: it is a hard negative for the detector (a ruler's
numbers are printed text but not PHI) and an occluder that takes pixels away from PHI under it.
"""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.skin import (
    blob_polygon,
    draw_segments,
    hand_polys,
    paint_sparse,
    poly_alpha,
    rotate_patch,
    smooth_noise,
)

#: Background surfaces of clinical photos and their base colours.
BACKGROUNDS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "bed_sheet": ((0.93, 0.93, 0.92), (0.82, 0.88, 0.93), (0.86, 0.92, 0.88), (0.95, 0.94, 0.9)),
    "surgical_drape": ((0.25, 0.45, 0.65), (0.22, 0.5, 0.45), (0.3, 0.55, 0.7)),
    "exam_paper": ((0.92, 0.9, 0.84), (0.88, 0.88, 0.86)),
    "wall": ((0.85, 0.82, 0.74), (0.75, 0.78, 0.78), (0.9, 0.88, 0.84), (0.62, 0.66, 0.7)),
    "gown": ((0.55, 0.68, 0.8), (0.78, 0.8, 0.86), (0.45, 0.6, 0.55)),
}

GLOVE_RGB = ((0.35, 0.45, 0.85), (0.5, 0.4, 0.75), (0.92, 0.92, 0.9), (0.85, 0.78, 0.62))


def fabric(rng: np.random.Generator, h: int, w: int, base: np.ndarray, folds: float) -> np.ndarray:
    """``(h, w, 3)`` cloth: soft folds (elongated low-frequency shading) plus a faint weave."""
    ang = rng.uniform(0, np.pi)
    small_h, small_w = max(2, h // 8), max(2, w // 8)
    yy, xx = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
    phase = (xx * np.cos(ang) + yy * np.sin(ang)) / max(4.0, rng.uniform(6, 25))
    # gentle bending keeps folds long and roughly parallel, as cloth drapes
    warp = smooth_noise(rng, small_h, small_w, max(4.0, small_w / 3)) * rng.uniform(0.3, 1.2)
    ridges = np.sin(phase + warp) ** 3
    # folds and broad unevenness are both low-frequency: build them small, upsample once
    small = 1.0 + folds * ridges + 0.04 * smooth_noise(rng, small_h, small_w, max(small_w, 4) / 3)
    shade = cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    grain = rng.standard_normal((max(2, h // 2), max(2, w // 2)), dtype=np.float32)
    shade *= 1.0 + 0.012 * cv2.resize(grain, (w, h))
    out = shade[..., None] * np.asarray(base, np.float32)
    return out


def paint_background(canvas: Canvas) -> str:
    """Fill the frame with a surface (sheet, drape, paper, wall+bed split); returns its name."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    name = str(rng.choice(list(BACKGROUNDS)))
    cols = BACKGROUNDS[name]
    base = np.array(cols[rng.integers(len(cols))], np.float32) * rng.uniform(0.85, 1.05)
    img = fabric(rng, h, w, base, rng.uniform(0.03, 0.12) if name != "wall" else 0.01)
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
    cols = BACKGROUNDS["surgical_drape"] + BACKGROUNDS["bed_sheet"][:2]
    img = fabric(rng, h, w, np.array(cols[rng.integers(len(cols))], np.float32), 0.1)
    paint_sparse(canvas, 0, 0, a, img, None)


def glove(canvas: Canvas, x: float, y: float, r: float) -> list[tuple[int, int, np.ndarray]]:
    """A gloved hand (nitrile/latex) reaching in; returns the painted (x0, y0, alpha) patches."""
    rng = canvas.rng
    ang = rng.uniform(0, 2 * np.pi)
    u = np.array([np.cos(ang), np.sin(ang)])
    wrist = np.array([x, y]) - u * 2.5 * r
    cuff = wrist - u * 2.0 * r
    # the sleeve of a gown or coat runs out of the frame behind the glove's short cuff
    sleeve = [(cuff - u * 3 * max(canvas.width, canvas.height), cuff + u * 0.3 * r, 1.35 * r)]
    segs = [(cuff, wrist, 1.05 * r), *hand_polys(rng, wrist, u, r, rng.random() < 0.4)]
    out = []
    for parts, base in ((sleeve, None), (segs, GLOVE_RGB[rng.integers(len(GLOVE_RGB))])):
        got = _paint_capsules(canvas, parts, r, base)
        out += [got] if got else []
    return out


def _paint_capsules(
    canvas: Canvas, segs: list, r: float, base: tuple | None
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
    # rounded fingers and palm under a soft key light; a broad, weak sheen (nitrile is satin)
    gy, gx = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    key = (gx * np.cos(ang) + gy * np.sin(ang)) / max(mask.shape) * 0.25
    shade = 0.55 + 0.45 * np.sqrt(t) + key + 0.1 * np.exp(-((t - 0.7) ** 2) / 0.02)
    col = np.array(base, np.float32) * shade[..., None]
    canvas.paint(x0c, y0c, a, np.clip(col, 0, 1), None)
    return x0c, y0c, a


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
    from figure_ml.data.render.skin import bezier

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
