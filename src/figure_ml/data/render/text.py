"""Class ``text``: printed PHI on labels, stickers, paper, screens, and marker writing on skin.

:func:`add_printed` chooses carriers (see :mod:`carriers`) and places them clear of other PHI;
:func:`skin_marking` writes on the patient's skin. Barcodes and QR codes are separate ``text``
objects.
"""

from __future__ import annotations

import cv2
import faker as faker_mod
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.carriers import Sheet, place_sheet, sheet_with_lines
from figure_ml.data.render.glyphs import (
    HERSHEY,
    barcode_alpha,
    hershey_line,
    log_uniform,
    qr_alpha,
)
from figure_ml.data.render.phi_content import phi_line
from figure_ml.data.render.primitives import Layout, rotate_patch
from figure_ml.data.render.skin import SkinRegion

#: share of printed carriers allowed to run off the frame. A carrier centred anywhere (as before
#: 2026-12) left 87 of 250 test text lines cut by the edge: labels in real photos are mostly
#: framed whole, and a sliver of a line at the border teaches neither reading nor restraint.
EDGE_CUT_SHARE = 0.2


def carrier_centre(
    rng: np.random.Generator, w: int, h: int, sw: float, sh: float, rot: float, may_cut: bool
) -> tuple[float, float]:
    """A centre for an ``sw x sh`` carrier turned by ``rot`` degrees in a ``w x h`` frame.

    Unless ``may_cut``, the centre keeps the turned carrier's bounding box inside the frame
    where it fits (a carrier wider than the frame is centred on that axis). :func:`place_sheet`
    then moves each corner by up to its perspective jitter (12% of the carrier), so a corner
    may still poke out by that much.
    """
    if may_cut:
        return float(rng.uniform(0, w)), float(rng.uniform(0, h))
    c, s = abs(np.cos(np.radians(rot))), abs(np.sin(np.radians(rot)))
    half_w, half_h = (c * sw + s * sh) / 2, (s * sw + c * sh) / 2
    return _inside(rng, w, half_w), _inside(rng, h, half_h)


def _inside(rng: np.random.Generator, extent: int, half: float) -> float:
    """A coordinate in ``[half, extent - half]``, or the middle when that range is empty."""
    lo, hi = half, extent - half
    return float(rng.uniform(lo, hi)) if hi > lo else extent / 2


def add_printed(
    canvas: Canvas, fk: faker_mod.Faker, fonts: tuple[str, ...], layout: Layout, n_objects: int
) -> list:
    """Paint carriers until about ``n_objects`` text objects exist; returns them."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    made: list = []
    tries = 0
    while len(made) < n_objects:
        left = n_objects - len(made)
        carrier = str(
            rng.choice(
                ["label", "sticker", "paper", "screen", "code"], p=[0.3, 0.2, 0.2, 0.15, 0.15]
            )
        )
        cap = log_uniform(rng, 6, 80) if carrier != "paper" else log_uniform(rng, 6, 30)
        rot = float(rng.normal(0, 25)) if rng.random() < 0.8 else float(rng.uniform(-180, 180))
        persp = rng.uniform(0, 0.12)
        if carrier == "code":
            sheet = Sheet(1, 1, (0.97, 0.97, 0.95), 0)
            if rng.random() < 0.5:
                code = barcode_alpha(
                    fk.numerify("#" * int(rng.integers(6, 14))),
                    log_uniform(rng, 1, 4),
                    log_uniform(rng, 12, 90),
                )
                kind = "barcode"
            else:
                code, kind = (
                    qr_alpha(fk.name() + fk.numerify(" ########"), log_uniform(rng, 1, 6)),
                    "qr",
                )
            pad = int(rng.uniform(4, 16))
            sheet = Sheet(code.shape[0] + 2 * pad, code.shape[1] + 2 * pad, (0.97, 0.97, 0.95), 0)
            sheet.put(
                code,
                pad,
                pad,
                {"carrier": "label", "content": kind, "font": "", "char_px": 0.0, "chars": 0},
            )
            ink = (0.05, 0.05, 0.06)
        else:
            n = int(min(max(1, left + int(rng.integers(0, 2))), 7 if carrier != "screen" else 5))
            code_kind = None
            if carrier in ("label", "sticker", "paper") and rng.random() < 0.35:
                code_kind = "barcode" if rng.random() < 0.7 else "qr"
            if carrier == "screen":
                color, ink = (
                    (0.04, 0.05, 0.07),
                    [(0.3, 1.0, 0.4), (0.9, 0.95, 1.0), (0.4, 0.9, 1.0), (1.0, 0.9, 0.3)][
                        rng.integers(4)
                    ],
                )
            else:
                color = [
                    (0.97, 0.97, 0.95),
                    (0.98, 0.96, 0.85),
                    (0.93, 0.95, 0.98),
                    (0.99, 0.9, 0.6),
                ][rng.integers(4)]
                ink = [(0.05, 0.05, 0.06), (0.1, 0.12, 0.3)][rng.integers(2)]
            sheet = sheet_with_lines(fk, rng, fonts, carrier, n, cap, color, code_kind)
        # keep the whole carrier in a sane share of the frame, then choose where it goes
        scale = min(1.0, 0.9 * min(w, h) / max(sheet.w, sheet.h))
        may_cut = rng.random() < EDGE_CUT_SHARE
        box = None
        for attempt in range(20):
            sw, sh = sheet.w * scale, sheet.h * scale
            cx, cy = carrier_centre(rng, w, h, sw, sh, rot, may_cut)
            cand = (cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2)
            if layout.overlap(cand) < 0.1:
                box = cand
                break
            if attempt % 5 == 4:  # no free spot this big: a smaller (farther) carrier
                scale *= 0.7
        tries += 1
        if box is None:
            if tries > 6:
                break
            continue  # never pile a label onto a face, a band or another label
        objs = place_sheet(canvas, sheet, cx, cy, scale, rot, persp, ink, glow=carrier == "screen")
        layout.reserve(box)
        made.extend(objs)
        if tries > 12:
            break  # guards against a loop when every try lands outside the frame
    return made


def skin_marking(canvas: Canvas, fk: faker_mod.Faker, region: SkinRegion, layout: Layout) -> list:
    """Marker writing on skin (a name, DOB or MRN written before surgery), in a script hand."""
    rng = canvas.rng
    kind = str(rng.choice(["name", "dob", "mrn"]))
    text = phi_line(fk, rng, kind) if rng.random() < 0.6 else fk.last_name()
    cap = log_uniform(rng, 8, 70)
    font = HERSHEY[rng.integers(len(HERSHEY))]
    a, band = hershey_line(text, font, cap, max(1, cap / rng.uniform(6, 14)))
    a = cv2.GaussianBlur(a, (0, 0), 0.5 + cap / 60)
    rot = float(rng.uniform(-40, 40))
    a, band = rotate_patch(a, rot), rotate_patch(band, rot)
    p = region.sample_point(rng, 0.0)
    if p is None:
        return []
    x0, y0 = int(p[0] - a.shape[1] / 2), int(p[1] - a.shape[0] / 2)
    on_skin = region.alpha_at(x0, y0, *a.shape)
    a *= on_skin
    band *= on_skin
    if (a > 0.3).sum() < 6:
        return []
    col = [(0.35, 0.15, 0.55), (0.1, 0.15, 0.45), (0.08, 0.08, 0.08), (0.1, 0.35, 0.2)][
        rng.integers(4)
    ]
    obj = canvas.new_object(
        "phi",
        "text",
        carrier="skin",
        content=kind,
        font="hershey",
        char_px=round(cap, 1),
        rotation_deg=round(rot, 1),
        chars=len(text),
    )
    canvas.paint(x0, y0, a * rng.uniform(0.7, 0.95), col, obj, mode="multiply", claim=0.25)
    # and the rest of the line's band (DESIGN §4) where it lies on bare skin: the ink hides
    # what it is written over, the gaps between its letters do not
    canvas.claim(x0, y0, band >= 0.5, obj, unowned_only=True)
    layout.reserve((x0, y0, x0 + a.shape[1], y0 + a.shape[0]))
    return [obj]
