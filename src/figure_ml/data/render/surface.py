"""Surface grain: the micro-texture every real surface shows in a photo and a render lacks.

Skin pores, paper fibre, fabric weave, painted walls and bedsheets all carry fine luminance
variation at a few pixels (grain) and at tens of pixels (weave, mottling, often stretched along
one direction). Without it every painted region is perfectly flat, so "textured" alone tells a
synthetic face or tattoo from a synthetic sheet, and a detector trained on that fires on any
textured region of a real photo. The grain is painted over the whole scene before the light, so
it covers PHI and background alike and teaches nothing about where PHI is.
"""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.primitives import smooth_noise

#: share of scenes that get grain (a few photos stay as smooth as a studio shot)
GRAIN_SHARE = 0.85


def _streaks(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Noise stretched along a random direction (weave, brushed paint, wood-like mottling)."""
    stretch = float(rng.uniform(2.0, 6.0))
    side = int(np.ceil(np.hypot(h, w)))  # a square that covers the frame at any angle
    field = smooth_noise(rng, side, max(2, int(side / stretch)), cell)
    field = cv2.resize(field, (side, side), interpolation=cv2.INTER_LINEAR)
    rot = cv2.getRotationMatrix2D((side / 2, side / 2), float(rng.uniform(0, 180)), 1.0)
    field = cv2.warpAffine(field, rot, (side, side), flags=cv2.INTER_LINEAR)
    y0, x0 = (side - h) // 2, (side - w) // 2
    return field[y0 : y0 + h, x0 : x0 + w]


def surface_grain(canvas: Canvas) -> dict[str, float] | None:
    """Multiply the scene by ``1 + fine + mid``: ``fine`` is noise 1.5-3 px wide with an
    amplitude of 1-3.5%, ``mid`` noise 6-20 px wide (stretched along one direction in half of
    the scenes) with 1-4%. Returns the parameters, or ``None`` for a scene left smooth."""
    rng = canvas.rng
    if rng.random() >= GRAIN_SHARE:
        return None
    h, w = canvas.height, canvas.width
    fine_cell, fine_amp = float(rng.uniform(1.5, 3.0)), float(rng.uniform(0.01, 0.035))
    mid_cell, mid_amp = float(rng.uniform(6.0, 20.0)), float(rng.uniform(0.01, 0.04))
    streaked = bool(rng.random() < 0.5)
    mid = _streaks(rng, h, w, mid_cell) if streaked else smooth_noise(rng, h, w, mid_cell)
    field = 1.0 + fine_amp * smooth_noise(rng, h, w, fine_cell) + mid_amp * mid
    for k in range(3):  # channel by channel (see Canvas.paint)
        canvas.image[..., k] *= field
    return {
        "fine_cell": round(fine_cell, 2),
        "fine_amp": round(fine_amp, 4),
        "mid_cell": round(mid_cell, 2),
        "mid_amp": round(mid_amp, 4),
        "streaked": streaked,
    }
