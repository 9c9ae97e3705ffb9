"""Class ``wristband``: a hospital ID band wrapped around a wrist, with its print curving with it.

The band is modelled as a ring on the limb's cylinder (:func:`wrist.wrap_ring`, which bracelets
and watches share): a flat print (name, DOB, MRN, barcode) is mapped with ``u = asin(t)`` across
the limb and the band's edges bow as ellipse arcs when the camera looks along the forearm. All
band and print pixels belong to the one wristband object: the print is not a separate ``text``
object.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import faker as faker_mod
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.gloves import glove
from figure_ml.data.render.glyphs import barcode_alpha, text_alpha
from figure_ml.data.render.phi_content import phi_line
from figure_ml.data.render.primitives import Layout
from figure_ml.data.render.skin import SkinRegion
from figure_ml.data.render.wrist import sleeve_over, wrap_ring

#: Band colours: white ID bands and the alert colours used by hospitals.
BAND_RGB: dict[str, tuple[float, float, float]] = {
    "white": (0.95, 0.95, 0.93),
    "red": (0.85, 0.12, 0.12),
    "yellow": (0.98, 0.85, 0.15),
    "purple": (0.55, 0.25, 0.65),
    "green": (0.2, 0.65, 0.3),
    "orange": (0.98, 0.55, 0.12),
    "blue": (0.45, 0.7, 0.92),
}


def _print_texture(
    fk: faker_mod.Faker,
    rng: np.random.Generator,
    fonts: tuple[str, ...],
    band_h: int,
    flat_w: int,
    base: np.ndarray,
) -> tuple[np.ndarray, str]:
    """Flat ``(band_h, flat_w, 3)`` band surface with its PHI print; returns it and the font."""
    tex = np.empty((band_h, flat_w, 3), np.float32)
    tex[:] = base
    font = fonts[rng.integers(len(fonts))]
    if band_h < 6 or flat_w < 12:
        return tex, Path(font).stem
    win_x0, win_x1 = 0, flat_w
    if base.mean() < 0.8 and rng.random() < 0.5:  # alert bands often carry a white label window
        win_x0, win_x1 = int(flat_w * 0.12), int(flat_w * 0.88)
        tex[int(band_h * 0.12) : int(band_h * 0.88), win_x0:win_x1] = (0.96, 0.96, 0.94)
    ink = np.zeros((band_h, flat_w), np.float32)
    n_lines = int(rng.integers(2, 4))
    cap = band_h * rng.uniform(0.5, 0.75) / n_lines
    x = win_x0 + int(flat_w * rng.uniform(0.06, 0.2))
    if rng.random() < 0.7:
        bar = barcode_alpha(fk.numerify("#" * 8), max(1.0, cap / 8), band_h * 0.55)
        bw = min(bar.shape[1], int((win_x1 - x) * 0.4))
        by = int((band_h - bar.shape[0]) / 2)
        if bw > 8 and by >= 0:
            ink[by : by + bar.shape[0], x : x + bw] = bar[:, :bw]
            x += bw + int(cap)
    y = int((band_h - n_lines * cap * 1.45) / 2)
    for kind in ["name", "dob", "mrn"][:n_lines]:
        a = text_alpha(phi_line(fk, rng, kind), font, cap)
        ph, pw = a.shape
        pw = min(pw, win_x1 - x - 1)
        if pw > 2 and y >= 0 and y + ph <= band_h:
            ink[y : y + ph, x : x + pw] = np.maximum(ink[y : y + ph, x : x + pw], a[:, :pw])
        y += int(cap * 1.45)
    tex *= 1.0 - ink[..., None] * (1.0 - np.array([0.06, 0.06, 0.08], np.float32))
    return tex, Path(font).stem


def add_wristband(
    canvas: Canvas,
    fk: faker_mod.Faker,
    fonts: tuple[str, ...],
    region: SkinRegion,
    layout: Layout,
    regions: Sequence[SkinRegion] = (),
) -> list:
    """Wrap a band around ``region``'s wrist; maybe hide part of it under a sleeve or glove."""
    rng = canvas.rng
    if region.wrist is None:
        return []
    wx, wy, ux, uy, r = region.wrist
    rb = r * rng.uniform(1.03, 1.12)  # the band stands off the skin and is a little loose
    band_h = max(3, int(r * rng.uniform(0.5, 0.85)))
    bow = r * rng.uniform(-0.35, 0.35)  # camera looking along the forearm bows the edges
    color_name = "white" if rng.random() < 0.5 else str(rng.choice(list(BAND_RGB)[1:]))
    base = np.array(BAND_RGB[color_name], np.float32) * rng.uniform(0.9, 1.03)
    flat_w = max(12, int(np.pi * rb))
    tex, font = _print_texture(fk, rng, fonts, band_h, flat_w, base)
    ring = wrap_ring(region, rb, band_h, bow, tex)
    if ring is None:
        return []
    x0, y0, alpha, col, t, ct = ring.x0, ring.y0, ring.alpha, ring.col, ring.t, ring.ct
    ext = alpha.shape[0] // 2
    light = rng.uniform(-0.6, 0.6)
    shade = 0.45 + 0.55 * np.clip(ct * np.cos(light) + t * np.sin(light), 0, 1)
    shade += 0.25 * np.exp(-(((t - np.sin(light) * 0.6) / 0.12) ** 2))  # glossy plastic
    col = np.clip(col * shade[..., None], 0, 1)
    obj = canvas.new_object(
        "phi", "wristband", color=color_name, font=font, band_px=round(2 * rb, 1), occluded="none"
    )
    canvas.paint(
        x0 + 2,
        y0 + 3,
        cv2.GaussianBlur(alpha, (0, 0), 2) * 0.35,
        (0.3, 0.25, 0.25),
        mode="multiply",
        occlude=False,
    )
    canvas.paint(x0, y0, alpha, col, obj)
    layout.reserve((x0, y0, x0 + 2 * ext, y0 + 2 * ext))

    roll = rng.random()
    if roll < 0.3:  # a sleeve or cuff pulled down over part of the band
        cut = band_h * rng.uniform(-0.2, 0.3) - abs(bow) * 0.5
        sleeve_over(canvas, region, cut, regions)
        obj.attrs["occluded"] = "sleeve"
    elif roll < 0.45:  # the examiner's gloved hand grips the wrist on the hand side
        off = band_h * 0.5 + r * rng.uniform(1.6, 2.4)
        for gx0, gy0, ga in glove(canvas, wx + ux * off, wy + uy * off, r * rng.uniform(0.55, 0.8)):
            for reg in regions:
                reg.cover(gx0, gy0, ga)
        obj.attrs["occluded"] = "glove"
    return [obj]
