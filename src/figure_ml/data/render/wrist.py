"""Things around a wrist: the ring geometry a band or bracelet wraps with, and a sleeve over it.

Shared by the ``wristband`` class and the hard negatives (bracelets, watches, sleeves): a
wristband and a bracelet must be drawn the same way, or the detector learns the drawing, not
the print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.cloth import fabric
from figure_ml.data.render.primitives import paint_sparse
from figure_ml.data.render.skin import SkinRegion


@dataclass
class Ring:
    """A flat texture wrapped around a wrist: patch origin, alpha, colour and the cylinder
    coordinate ``t`` (-1..1 across the limb) with its cosine ``ct`` for shading."""

    x0: int
    y0: int
    alpha: np.ndarray
    col: np.ndarray
    t: np.ndarray
    ct: np.ndarray


def wrap_ring(
    region: SkinRegion, rb: float, band_h: int, bow: float, tex: np.ndarray, along0: float = 0.0
) -> Ring | None:
    """Map ``tex`` (``band_h`` x flat width, RGB) onto a ring of radius ``rb`` at the wrist.

    The print is mapped with ``u = asin(t)`` across the limb (it compresses towards the
    silhouette); the edges bow as ellipse arcs when the camera looks a little along the forearm.
    ``along0`` shifts the ring along the forearm (px, towards the hand). None when the wrist is
    gone or nothing of the ring would show.
    """
    if region.wrist is None:
        return None
    wx, wy, ux, uy, r = region.wrist
    wx, wy = wx + ux * along0, wy + uy * along0
    # v completes a right-handed frame with u so the print is not mirrored
    u, v = np.array([ux, uy]), np.array([uy, -ux])
    flat_w = tex.shape[1]
    ext = int(rb + band_h + abs(bow)) + 3
    x0, y0 = int(wx) - ext, int(wy) - ext
    yy, xx = np.mgrid[0 : 2 * ext, 0 : 2 * ext].astype(np.float32)
    dx, dy = xx + x0 - wx, yy + y0 - wy
    along = dx * u[0] + dy * u[1]
    across = dx * v[0] + dy * v[1]
    t = across / rb
    ct = np.sqrt(np.clip(1.0 - t * t, 0.0, 1.0))
    inside = np.abs(t) <= 1.0
    map_x = np.where(inside, (np.arcsin(np.clip(t, -1, 1)) / np.pi + 0.5) * (flat_w - 1), -10)
    map_y = np.where(inside, along - bow * ct + band_h / 2, -10)
    map_x, map_y = map_x.astype(np.float32), map_y.astype(np.float32)
    col = cv2.remap(tex, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.remap(
        np.ones(tex.shape[:2], np.float32),
        map_x,
        map_y,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    alpha = cv2.GaussianBlur(alpha, (0, 0), 0.6)
    # the ring exists only where its wrist is still visible (not under a gown or another arm)
    k = 2 * int(0.3 * r) + 1
    alpha *= cv2.dilate(region.alpha_at(x0, y0, 2 * ext, 2 * ext), np.ones((k, k), np.uint8))
    if (alpha > 0.5).sum() < 10:
        return None
    return Ring(x0, y0, alpha, col, t, ct)


def sleeve_over(
    canvas: Canvas, region: SkinRegion, cut: float, regions: Sequence[SkinRegion] = ()
) -> bool:
    """A gown or coat sleeve over ``region``'s forearm, ending ``cut`` px past the wrist.

    The sleeve covers the whole forearm behind the cut, up to where it leaves the frame; returns
    whether anything was painted.
    """
    if region.wrist is None:
        return False
    rng = canvas.rng
    wx, wy, ux, uy, r = region.wrist
    u, v = np.array([ux, uy]), np.array([uy, -ux])
    rx0, ry0 = region.x0, region.y0
    rh, rw = region.alpha.shape
    k = 2 * int(0.25 * r) + 1
    arm = cv2.dilate((region.alpha > 0.3).astype(np.uint8), np.ones((k, k), np.uint8))
    gx = (np.arange(rw, dtype=np.float32) + np.float32(rx0 - wx))[None, :]
    gy = (np.arange(rh, dtype=np.float32) + np.float32(ry0 - wy))[:, None]
    al = gx * np.float32(u[0]) + gy * np.float32(u[1])
    ac = gx * np.float32(v[0]) + gy * np.float32(v[1])
    wave = 0.06 * r * np.sin(ac / max(r, 1) * rng.uniform(2, 5))
    sleeve = (arm > 0) & ((al + wave) < cut)
    ys, xs = np.nonzero(sleeve.any(axis=1))[0], np.nonzero(sleeve.any(axis=0))[0]
    if not len(ys):
        return False
    # texture only the sleeve's own box (a forearm's box is mostly empty)
    sy = slice(max(ys[0] - 2, 0), min(ys[-1] + 3, rh))
    sx = slice(max(xs[0] - 2, 0), min(xs[-1] + 3, rw))
    a = cv2.GaussianBlur(sleeve[sy, sx].astype(np.float32), (0, 0), 1.0)
    base = [(0.55, 0.68, 0.8), (0.85, 0.85, 0.88), (0.2, 0.25, 0.35)][rng.integers(3)]
    cloth = fabric(rng, *a.shape, np.array(base, np.float32), 0.12)
    roundness = np.clip(1.0 - (ac[sy, sx] / (1.3 * r)) ** 2, 0, 1) ** 0.5
    cloth *= (0.6 + 0.4 * roundness)[..., None]
    rx0, ry0 = rx0 + sx.start, ry0 + sy.start
    paint_sparse(canvas, rx0, ry0, a, cloth, None)
    for reg in regions:  # tattoos and findings painted later must avoid the sleeve
        reg.cover(rx0, ry0, a)
    return True
