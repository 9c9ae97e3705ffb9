"""The room around a patient: tiles, wood, printed textiles, curtains, furniture, windows and
equipment behind the scene (hard negatives, never PHI).

A phone photo taken at a bedside or in a clinic shows the room at its edges. A detector trained
only on plain sheets and walls has never seen grout grids, wood grain, plaid, blinds or a cabinet
edge, and at a low threshold it fires on them in real photos. Each element here is a cheap
procedural texture painted into a strip along one edge of the frame or a block in it, right
after the background, so everything else is painted over it. None of them holds a glyph: legible
text is PHI by DESIGN §4 and is painted only by :mod:`text`.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.primitives import smooth_noise

#: names recorded in the scene's hard negatives (``room_<kind>``)
ROOM_KINDS = ("tiles", "wood", "textile", "curtain", "furniture", "window", "equipment")

_F = np.float32


def _col(rng: np.random.Generator, *choices: tuple[float, float, float]) -> np.ndarray:
    return np.array(choices[rng.integers(len(choices))], _F) * _F(rng.uniform(0.85, 1.08))


def _paint(shade: np.ndarray, base: np.ndarray) -> np.ndarray:
    """``shade`` (h, w) times the colour ``base``: an (h, w, 3) image."""
    return np.clip(shade[..., None] * base[None, None, :], 0.0, 1.0)


def tiles(rng: np.random.Generator, h: int, w: int, u: float) -> np.ndarray:
    """Wall or floor tiles: a grid of slightly varied squares with grout lines."""
    s = max(6.0, rng.uniform(0.06, 0.16) * u)
    sx, sy = (s, s) if rng.random() < 0.7 else (s * 2, s)  # square or brick-shaped
    yy, xx = np.mgrid[0:h, 0:w].astype(_F)
    off = (np.floor(yy / sy) % 2) * sx / 2 if sx != sy else 0.0
    ix, iy = np.floor((xx + off) / sx), np.floor(yy / sy)
    jitter = np.sin(ix * 12.9898 + iy * 78.233) * 0.03  # per-tile tone without a lookup table
    gx, gy = (xx + off) % sx, yy % sy
    grout = np.minimum(np.minimum(gx, sx - gx), np.minimum(gy, sy - gy)) < max(1.0, 0.04 * s)
    shade = 1.0 + jitter - 0.18 * grout
    return _paint(
        shade.astype(_F), _col(rng, (0.92, 0.92, 0.9), (0.8, 0.86, 0.88), (0.86, 0.8, 0.7))
    )


def wood(rng: np.random.Generator, h: int, w: int, u: float) -> np.ndarray:
    """A table top, door or floor: planks of wood grain along one axis."""
    along_x = rng.random() < 0.5
    hh, ww = (h, w) if along_x else (w, h)
    yy = np.arange(hh, dtype=_F)[:, None]
    warp = smooth_noise(rng, hh, ww, max(8.0, 0.2 * u)) * rng.uniform(3, 10)
    grain = 0.5 + 0.5 * np.sin((yy + warp) * (2 * np.pi / rng.uniform(3, 9)))
    plank = max(8, int(rng.uniform(0.08, 0.25) * u))
    seam = (np.arange(hh) % plank < 1)[:, None]
    shade = 0.85 + 0.12 * grain - 0.3 * seam
    out = _paint(
        shade.astype(_F), _col(rng, (0.55, 0.38, 0.22), (0.72, 0.55, 0.36), (0.4, 0.27, 0.17))
    )
    return out if along_x else out.transpose(1, 0, 2).copy()


def textile(rng: np.random.Generator, h: int, w: int, u: float) -> np.ndarray:
    """A printed blanket, cushion or visitor's clothing: stripes, checks or dots in two colours."""
    yy, xx = np.mgrid[0:h, 0:w].astype(_F)
    period = max(4.0, rng.uniform(0.02, 0.1) * u)
    ang = rng.uniform(0, np.pi)
    t = xx * np.cos(ang) + yy * np.sin(ang)
    kind = rng.integers(3)
    if kind == 0:  # stripes
        m = (np.sin(t * 2 * np.pi / period) > rng.uniform(-0.5, 0.5)).astype(_F)
    elif kind == 1:  # checks: two stripe sets, half strength each
        t2 = -xx * np.sin(ang) + yy * np.cos(ang)
        m = 0.5 * (np.sin(t * 2 * np.pi / period) > 0) + 0.5 * (np.sin(t2 * 2 * np.pi / period) > 0)
    else:  # dots on a grid
        gx, gy = (xx % period) - period / 2, (yy % period) - period / 2
        m = (gx * gx + gy * gy < (period * rng.uniform(0.15, 0.35)) ** 2).astype(_F)
    m = cv2.GaussianBlur(m.astype(_F), (0, 0), 0.7)
    a = _col(rng, (0.85, 0.85, 0.82), (0.3, 0.35, 0.6), (0.75, 0.3, 0.3), (0.35, 0.55, 0.35))
    b = _col(rng, (0.15, 0.15, 0.2), (0.95, 0.93, 0.85), (0.9, 0.75, 0.3), (0.55, 0.2, 0.35))
    fold = 1.0 + 0.1 * smooth_noise(rng, h, w, max(10.0, 0.25 * u))
    return np.clip((a * (1 - m[..., None]) + b * m[..., None]) * fold[..., None], 0, 1)


def curtain(rng: np.random.Generator, h: int, w: int, u: float) -> np.ndarray:
    """A privacy curtain: vertical folds under a soft light."""
    xx = np.arange(w, dtype=_F)[None, :]
    period = rng.uniform(0.04, 0.12) * u
    phase = smooth_noise(rng, 1, w, max(8.0, period * 3))[0] * 2
    folds = 0.5 + 0.5 * np.sin(xx * 2 * np.pi / period + phase)
    shade = np.broadcast_to(0.7 + 0.3 * folds, (h, w)).astype(_F)
    return _paint(shade, _col(rng, (0.55, 0.7, 0.75), (0.85, 0.82, 0.7), (0.6, 0.65, 0.8)))


def furniture(rng: np.random.Generator, h: int, w: int, u: float) -> np.ndarray:
    """A cabinet front or bed frame: panels with bevelled edges, handles and a metal rail."""
    base = _col(rng, (0.9, 0.9, 0.88), (0.7, 0.72, 0.75), (0.6, 0.5, 0.4), (0.85, 0.8, 0.7))
    img = np.broadcast_to(base, (h, w, 3)).astype(_F).copy()
    n = int(rng.integers(1, 4))
    pw = w / n
    edge = max(1, int(0.01 * u))
    for k in range(n):  # door panels: a dark gap and a light bevel, a bar handle
        x0 = int(k * pw)
        img[:, x0 : x0 + edge] *= 0.55
        img[:, x0 + edge : x0 + 2 * edge] *= 1.12
        hx = int(x0 + pw * rng.uniform(0.15, 0.85))
        hy0, hl = int(h * rng.uniform(0.1, 0.5)), int(h * rng.uniform(0.1, 0.3))
        cv2.rectangle(img, (hx, hy0), (hx + 2 * edge, hy0 + hl), (0.75, 0.75, 0.78), -1)
    if rng.random() < 0.5:  # a chrome rail: a bright line above a dark one
        y = int(h * rng.uniform(0.2, 0.8))
        th = max(2, int(0.015 * u))
        img[y : y + th] = 0.92
        img[y + th : y + 2 * th] = 0.35
    return np.clip(img, 0, 1)


def window(rng: np.random.Generator, h: int, w: int, u: float) -> np.ndarray:
    """A window or light box, nearly white, with mullions or the slats of a blind."""
    img = np.full((h, w, 3), rng.uniform(0.9, 1.0), _F)
    img *= np.array((0.97, 0.99, 1.0), _F)
    frame = (0.85, 0.85, 0.85) if rng.random() < 0.5 else (0.3, 0.3, 0.32)
    th = max(2, int(0.02 * u))
    if rng.random() < 0.5:  # blind slats
        pitch = max(4, int(rng.uniform(0.02, 0.05) * u))
        rows = (np.arange(h) % pitch) < max(1, pitch // 4)
        img[rows] *= 0.8
    else:  # mullions
        for x in np.linspace(0, w, int(rng.integers(2, 4)) + 1)[1:-1]:
            img[:, int(x) : int(x) + th] = frame
        img[int(h * rng.uniform(0.3, 0.7)) :][:th] = frame
    return img


def equipment(rng: np.random.Generator, h: int, w: int, u: float) -> np.ndarray:
    """A monitor, pump or wall panel: a dark housing with a blank screen, knobs and lights."""
    img = np.broadcast_to(_col(rng, (0.82, 0.83, 0.84), (0.25, 0.26, 0.28)), (h, w, 3))
    img = img.astype(_F).copy()
    m = max(2, int(0.06 * min(h, w)))
    # a blank (no text: text is PHI) dark screen with a faint reflection
    sx1, sy1 = int(w * rng.uniform(0.5, 0.8)), int(h * rng.uniform(0.5, 0.8))
    img[m:sy1, m:sx1] = np.array((0.08, 0.1, 0.12), _F)
    ref = np.linspace(0.0, 0.12, sx1 - m, dtype=_F)[None, :, None]
    img[m:sy1, m:sx1] += ref
    for _ in range(int(rng.integers(2, 6))):  # knobs and status lights
        cx, cy = int(rng.uniform(sx1 + m, w)), int(rng.uniform(m, h - m))
        r = max(1, int(rng.uniform(0.01, 0.03) * u))
        col = (0.2, 0.85, 0.3) if rng.random() < 0.4 else (0.6, 0.6, 0.62)
        cv2.circle(img, (cx, cy), r, col, -1, cv2.LINE_AA)
    return np.clip(img, 0, 1)


ROOM: dict[str, Callable[[np.random.Generator, int, int, float], np.ndarray]] = {
    "tiles": tiles,
    "wood": wood,
    "textile": textile,
    "curtain": curtain,
    "furniture": furniture,
    "window": window,
    "equipment": equipment,
}


def _region(rng: np.random.Generator, w: int, h: int) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: a strip along one edge (most often) or a block inside the frame."""
    if rng.random() < 0.7:
        side, depth = int(rng.integers(4)), rng.uniform(0.12, 0.45)
        if side == 0:
            return 0, 0, int(depth * w), h
        if side == 1:
            return int((1 - depth) * w), 0, w, h
        if side == 2:
            return 0, 0, w, int(depth * h)
        return 0, int((1 - depth) * h), w, h
    bw, bh = rng.uniform(0.2, 0.5) * w, rng.uniform(0.2, 0.5) * h
    x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
    return int(x0), int(y0), int(x0 + bw), int(y0 + bh)


def room_surroundings(canvas: Canvas, n: int) -> list[str]:
    """Paint ``n`` room elements over the background; returns their kinds (``ROOM_KINDS``)."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    u = float(min(w, h))
    kinds = []
    for _ in range(n):
        kind = str(rng.choice(ROOM_KINDS))
        x0, y0, x1, y1 = _region(rng, w, h)
        if x1 - x0 < 8 or y1 - y0 < 8:
            continue
        img = ROOM[kind](rng, y1 - y0, x1 - x0, u)
        # soft edges so that the element's border is a contour, not a seam of the generator
        a = np.ones((y1 - y0, x1 - x0), _F)
        a[0, :] = a[-1, :] = a[:, 0] = a[:, -1] = 0.5
        canvas.paint(x0, y0, a, img, None)
        kinds.append(kind)
    return kinds
