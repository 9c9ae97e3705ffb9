"""Class ``tattoo``: ink designs in the skin (line art, symbols, tribal bands, lettering).

Designs are drawn as a uint8 ink mask on a local patch, optionally with colour fills, blurred
(ink spreads in the dermis), then multiplied into the skin so its texture and shading show
through. Faded tattoos are painted with low alpha; ``claim`` follows the design's own strength so
that the object owns exactly the pixels where its ink is visible.
"""

from __future__ import annotations

import cv2
import faker as faker_mod
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.glyphs import HERSHEY, hershey_alpha, text_alpha
from figure_ml.data.render.primitives import Layout, bezier, rotate_patch
from figure_ml.data.render.skin import SkinRegion

DESIGNS = ("curves", "heart", "star", "anchor", "tribal", "lettering", "glyph", "filled", "rose")
#: Typical tattoo inks: aged black goes blue-green in the skin.
INKS = ((0.12, 0.16, 0.2), (0.1, 0.1, 0.12), (0.15, 0.22, 0.25), (0.2, 0.22, 0.3))
COLOUR_INKS = ((0.75, 0.15, 0.15), (0.15, 0.5, 0.25), (0.9, 0.75, 0.2), (0.2, 0.35, 0.75))


def _heart(s: float) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 60)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return np.stack([x, y], 1) / 34 * s + s / 2


def _star(s: float, points: int, inner: float) -> np.ndarray:
    ang = np.linspace(-np.pi / 2, 1.5 * np.pi, 2 * points, endpoint=False)
    rad = np.where(np.arange(2 * points) % 2 == 0, 0.48, 0.48 * inner) * s
    return np.stack([np.cos(ang) * rad, np.sin(ang) * rad], 1) + s / 2


def _design(
    rng: np.random.Generator, fk: faker_mod.Faker, fonts: tuple[str, ...], kind: str, s: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(ink, fill)`` uint8 masks of a ``s x s``-ish design; ``fill`` is the colour-fill area."""
    ink = np.zeros((s, s), np.uint8)
    fill = None
    th = max(1, int(s * rng.uniform(0.015, 0.05)))
    aa = cv2.LINE_AA

    def pl(p: np.ndarray, closed: bool = True, width: int = th) -> None:
        cv2.polylines(ink, [np.round(p * 4).astype(np.int32)], closed, 255, width, aa, shift=2)

    if kind == "curves":
        for _ in range(int(rng.integers(2, 7))):
            pl(bezier(rng.uniform(0.08, 0.92, (4, 2)) * s, 40), False)
    elif kind in ("heart", "star", "filled"):
        poly = (
            _heart(s * 0.9) + s * 0.05
            if kind == "heart"
            else _star(s, int(rng.integers(5, 9)), rng.uniform(0.35, 0.6))
        )
        if kind == "filled" or rng.random() < 0.3:
            cv2.fillPoly(ink, [np.round(poly * 4).astype(np.int32)], 255, aa, shift=2)
        else:
            pl(poly)
            fill = np.zeros_like(ink)
            cv2.fillPoly(fill, [np.round(poly * 4).astype(np.int32)], 255, aa, shift=2)
    elif kind == "anchor":
        c = s / 2
        cv2.line(ink, (int(c), int(s * 0.15)), (int(c), int(s * 0.85)), 255, th + 1, aa)
        cv2.circle(ink, (int(c), int(s * 0.1)), int(s * 0.06), 255, th, aa)
        cv2.line(ink, (int(s * 0.3), int(s * 0.3)), (int(s * 0.7), int(s * 0.3)), 255, th + 1, aa)
        cv2.ellipse(
            ink, (int(c), int(s * 0.6)), (int(s * 0.35), int(s * 0.28)), 0, 0, 180, 255, th + 1, aa
        )
    elif kind == "tribal":
        for _ in range(int(rng.integers(2, 5))):  # tapered thorny spikes from a common spine
            ctrl = rng.uniform(0.05, 0.95, (4, 2)) * s
            c = bezier(ctrl, 30)
            tang = np.gradient(c, axis=0)
            nrm = np.stack([-tang[:, 1], tang[:, 0]], 1) / (
                np.linalg.norm(tang, axis=1)[:, None] + 1e-9
            )
            wd = np.sin(np.linspace(0, np.pi, 30)) ** 0.7 * s * rng.uniform(0.03, 0.09)
            poly = np.concatenate([c + nrm * wd[:, None], (c - nrm * wd[:, None])[::-1]])
            cv2.fillPoly(ink, [np.round(poly * 4).astype(np.int32)], 255, aa, shift=2)
    elif kind == "rose":
        c = np.array([s / 2, s / 2])
        for k in range(int(rng.integers(3, 6))):
            r = s * (0.08 + 0.08 * k)
            a0 = rng.uniform(0, 360)
            cv2.ellipse(
                ink, tuple(int(v) for v in c), (int(r), int(r * 0.8)), a0, 20, 300, 255, th, aa
            )
        pl(
            bezier(c + np.array([[0, s * 0.4], [s * 0.2, s * 0.6], [0, s * 0.95]]), 20),
            False,
        )
        fill = np.zeros_like(ink)
        cv2.circle(fill, tuple(int(v) for v in c), int(s * 0.4), 255, -1, aa)
    elif kind == "glyph":
        ch = str(rng.choice(list("ΩΨΣ∞†♥♦♣♠☯✝λΔ&$#@")))
        font = fonts[rng.integers(len(fonts))]
        a = text_alpha(ch, font, s * 0.7)
        a = cv2.resize(a, (s, s))
        ink = (a * 255).astype(np.uint8)
    else:  # lettering: a name, a date or a word, in a font or a script hand
        word = str(
            rng.choice(
                [
                    fk.first_name(),
                    fk.last_name(),
                    "MOM",
                    "LOVE",
                    "FAMILY",
                    # not fk.year(): Faker draws years up to *today*, which would make
                    # the data depend on the run date
                    str(1940 + int(rng.integers(0, 86))),
                    "Faith",
                    "Forever",
                ]
            )
        )
        if rng.random() < 0.5:
            a = hershey_alpha(word, HERSHEY[rng.integers(2)], s * 0.25, max(1, s * 0.02))
        else:
            a = text_alpha(word, fonts[rng.integers(len(fonts))], s * 0.22)
        ink = (np.clip(a, 0, 1) * 255).astype(np.uint8)
    return ink, fill


def add_tattoo(
    canvas: Canvas,
    fk: faker_mod.Faker,
    fonts: tuple[str, ...],
    region: SkinRegion,
    layout: Layout,
    size_px: float,
) -> list:
    """Paint one tattoo of about ``size_px`` on ``region``; returns ``[obj]`` or ``[]``."""
    rng = canvas.rng
    kind = str(rng.choice(DESIGNS))
    s = int(max(10, size_px))
    ink_m, fill_m = _design(rng, fk, fonts, kind, s)
    ink = ink_m.astype(np.float32) / 255.0
    blur = max(0.5, s * rng.uniform(0.004, 0.015))
    ink = cv2.GaussianBlur(ink, (0, 0), blur)
    faded = bool(rng.random() < 0.25)
    strength = rng.uniform(0.35, 0.6) if faded else rng.uniform(0.75, 0.95)
    ink_rgb = np.array(INKS[rng.integers(len(INKS))], np.float32)
    # colour under the outline: a separate multiply layer painted before the line work
    colour = None
    if fill_m is not None and rng.random() < 0.5:
        colour = cv2.GaussianBlur(fill_m.astype(np.float32) / 255.0, (0, 0), blur * 1.5)
    rot = float(rng.uniform(-60, 60))
    ink = rotate_patch(ink, rot)
    if colour is not None:
        colour = rotate_patch(colour, rot)
    h, w = ink.shape
    box, best = layout.place(region, rng, w, h, 0.25 * s, 20)
    if box is None or best > 0.3:  # would sit on a wristband, face or another tattoo
        return []
    x0, y0 = int(box[0]), int(box[1])
    skin = region.alpha_at(x0, y0, h, w)
    ink *= skin * strength
    vis = ink.max()
    if vis < 0.05 or (ink > 0.5 * vis).sum() < 12:
        return []
    obj = canvas.new_object(
        "phi",
        "tattoo",
        design=kind,
        faded=faded,
        size_px=s,
        rotation_deg=round(rot, 1),
        colour=colour is not None,
    )
    claim = 0.4 * float(vis)  # faint ink still owns its pixels, but not the blur halo around it
    if colour is not None:
        c_rgb = np.array(COLOUR_INKS[rng.integers(len(COLOUR_INKS))], np.float32)
        ca = colour * skin * strength * 0.8
        canvas.paint(x0, y0, ca, c_rgb, obj, mode="multiply", claim=max(claim, 0.2))
    canvas.paint(x0, y0, ink, ink_rgb, obj, mode="multiply", claim=claim)
    layout.reserve(box)
    return [obj]
