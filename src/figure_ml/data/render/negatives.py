"""Hard negatives: things that look like PHI from a distance and must stay unredacted.

A detector that only ever saw PHI next to plain skin learns shortcuts (any line texture is text,
any face-like blob is a face, anything round a wrist is a band). Every renderer here paints with
``owner=None`` (never PHI, an occluder where opaque):

- ``scale_bar``: black-and-white scale bars and L-shaped photo scales;
- ``marker``: surgical-marker arrows, circles and dots on skin, or coloured sticker dots;
- ``text_like``: printed patterns and line textures that read as text at a distance (greeked
  lines, pinstripes, dashes, graph paper) but hold no glyphs;
- ``poster_faces``: drawn faces (a pain-scale chart, a smiley sticker) on paper;
- ``mannequin``: a headless torso (a mannequin, or a gowned patient with the head out of frame);
- ``head_back``: a person seen from behind, hair and nape towards the camera
  (:mod:`back_of_head`);
- ``jewellery``: bracelets, bead strings and watches on a wrist; ``sleeve``: a sleeve over it.

Gloves, rulers, skin texture and findings (wounds, lesions) are painted elsewhere and recorded
under the same names by the scene.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from figure_ml.data.render.back_of_head import head_from_behind
from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.face import GOWN_RGB, gowned_body
from figure_ml.data.render.negatives_print import poster_faces, scale_bar, text_like
from figure_ml.data.render.primitives import Layout, rotate_patch
from figure_ml.data.render.skin import SkinRegion
from figure_ml.data.render.wrist import sleeve_over, wrap_ring

#: what a hard negative may be; the scene records the names it painted
KINDS = (
    "scale_bar",
    "marker",
    "text_like",
    "poster_faces",
    "mannequin",
    "head_back",
    "jewellery",
    "sleeve",
)

METAL_RGB = ((0.85, 0.7, 0.35), (0.78, 0.78, 0.8), (0.7, 0.5, 0.4))


def jewellery(canvas: Canvas, region: SkinRegion) -> bool:
    """A bracelet (metal chain, bead string) or a watch around ``region``'s wrist."""
    rng = canvas.rng
    if region.wrist is None:
        return False
    r = region.wrist[4]
    kind = str(rng.choice(["metal", "beads", "watch"]))
    rb = r * rng.uniform(1.02, 1.15)
    band_h = max(2, int(r * (rng.uniform(0.1, 0.25) if kind != "watch" else rng.uniform(0.4, 0.6))))
    flat_w = max(12, int(np.pi * rb))
    tex = np.empty((band_h, flat_w, 3), np.float32)
    if kind == "metal":
        tex[:] = METAL_RGB[rng.integers(len(METAL_RGB))]
        links = (np.arange(flat_w) % max(2, band_h)) < max(1, band_h // 2)
        tex *= (0.8 + 0.2 * links)[None, :, None]
    elif kind == "beads":
        tex[:] = [(0.6, 0.1, 0.1), (0.1, 0.1, 0.12), (0.85, 0.8, 0.7), (0.2, 0.4, 0.7)][
            rng.integers(4)
        ]
        xs = np.arange(flat_w) % max(3, band_h)
        bead = np.sqrt(np.clip(1 - ((xs - band_h / 2) / max(band_h / 2, 1)) ** 2, 0, 1))
        tex *= (0.5 + 0.5 * bead)[None, :, None]
    else:  # leather or rubber strap with a round dial on top
        tex[:] = [(0.12, 0.1, 0.09), (0.35, 0.2, 0.1), (0.5, 0.5, 0.52)][rng.integers(3)]
        cx, rad = flat_w // 2, band_h * 0.85
        dial = np.zeros((band_h, flat_w), np.float32)
        cv2.circle(dial, (cx, band_h // 2), int(rad), 1.0, -1, cv2.LINE_AA)
        face = np.array([(0.95, 0.95, 0.93), (0.1, 0.1, 0.12)][rng.integers(2)], np.float32)
        tex = tex * (1 - dial[..., None]) + face * dial[..., None]
        hands = np.zeros_like(dial)
        for ang in rng.uniform(0, 2 * np.pi, 2):
            end = (int(cx + 0.7 * rad * np.cos(ang)), int(band_h // 2 + 0.7 * rad * np.sin(ang)))
            cv2.line(hands, (cx, band_h // 2), end, 1.0, 1, cv2.LINE_AA)
        tex = tex * (1 - 0.8 * hands[..., None]) + (1 - face) * 0.8 * hands[..., None]
        band_h = tex.shape[0]
    along = r * rng.uniform(-0.3, 1.4)  # beside a band, or further up the forearm
    ring = wrap_ring(region, rb, band_h, r * rng.uniform(-0.3, 0.3), tex, along)
    if ring is None:
        return False
    light = rng.uniform(-0.6, 0.6)
    shine = np.exp(-(((ring.t - np.sin(light) * 0.5) / 0.15) ** 2))
    shade = 0.35 + 0.65 * np.clip(ring.ct * np.cos(light) + ring.t * np.sin(light), 0, 1)
    col = np.clip(ring.col * shade[..., None] + 0.4 * shine[..., None], 0, 1)
    canvas.paint(ring.x0, ring.y0, ring.alpha, col, None)
    return True


def marker(canvas: Canvas, region: SkinRegion, layout: Layout) -> bool:
    """Marker arrows, circles and dots drawn on skin (site marking), or coloured sticker dots."""
    rng = canvas.rng
    unit = min(canvas.width, canvas.height)
    size = int(max(12, rng.uniform(0.05, 0.2) * unit))
    p = region.sample_point(rng, 0.0)
    if p is None:
        return False
    m = np.zeros((2 * size, 2 * size), np.uint8)
    th = max(1, int(size * rng.uniform(0.03, 0.07)))
    c = size
    what = str(rng.choice(["arrow", "circle", "dots", "stickers"]))
    if what == "arrow":
        tail = (int(c - 0.8 * size), int(c + rng.uniform(-0.3, 0.3) * size))
        cv2.arrowedLine(m, tail, (int(c + 0.6 * size), c), 255, th, cv2.LINE_AA, tipLength=0.3)
    elif what == "circle":
        cv2.ellipse(m, (c, c), (int(0.8 * size), int(0.6 * size)), 0, 0, 360, 255, th, cv2.LINE_AA)
    else:
        for _ in range(int(rng.integers(1, 6))):
            x, y = rng.uniform(0.2, 1.8, 2) * size
            rad = max(1, int(size * (rng.uniform(0.04, 0.1) if what == "dots" else 0.15)))
            cv2.circle(m, (int(x), int(y)), rad, 255, -1, cv2.LINE_AA)
    a = rotate_patch(m.astype(np.float32) / 255.0, float(rng.uniform(0, 360)))
    x0, y0 = int(p[0] - a.shape[1] / 2), int(p[1] - a.shape[0] / 2)
    if layout.overlap((x0, y0, x0 + a.shape[1], y0 + a.shape[0])) > 0.3:
        return False
    if what == "stickers":  # opaque adhesive dots (ECG reference, site stickers)
        col = [(0.9, 0.15, 0.15), (0.15, 0.7, 0.3), (0.98, 0.85, 0.1), (0.2, 0.45, 0.9)]
        canvas.paint(x0, y0, a, col[rng.integers(len(col))], None)
    else:  # marker ink soaks into the skin: it darkens it and hides nothing
        a *= region.alpha_at(x0, y0, *a.shape) * rng.uniform(0.6, 0.9)
        ink = [(0.35, 0.15, 0.55), (0.1, 0.15, 0.45), (0.08, 0.08, 0.08)][rng.integers(3)]
        canvas.paint(x0, y0, a, ink, None, mode="multiply", occlude=False)
    return True


def mannequin(canvas: Canvas, regions: Sequence[SkinRegion]) -> bool:
    """A headless torso: a plastic mannequin with a neck stump, or a gowned patient whose head
    is out of the frame."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    hh = min(w, h) * rng.uniform(0.12, 0.3)
    cx = w * rng.uniform(0.25, 0.75)
    roll = float(rng.normal(0, 10))
    if rng.random() < 0.5:  # patient with the head above the frame edge
        cy = -hh * rng.uniform(0.6, 1.0)
        gown = np.array(GOWN_RGB[rng.integers(4)], np.float32)
        gowned_body(canvas, cx, cy, hh, roll, gown, _skin(rng), regions)
        return True
    cy = h * rng.uniform(0.1, 0.45)
    plastic = np.array([(0.93, 0.92, 0.9), (0.85, 0.75, 0.62), (0.3, 0.3, 0.32)][rng.integers(3)])
    plastic = plastic.astype(np.float32) * rng.uniform(0.9, 1.0)
    dressed = rng.random() < 0.5
    gown = np.array(GOWN_RGB[rng.integers(4)], np.float32) if dressed else plastic
    gowned_body(canvas, cx, cy, hh, roll, gown, plastic, regions, arms=rng.random() < 0.5)
    # the neck stump: a short cylinder with a flat, lighter cut face on top
    rot = cv2.getRotationMatrix2D((0, 0), roll, 1.0)[:, :2]
    top = np.array([0.0, 0.45]) * hh @ rot.T + [cx, cy]
    s = int(hh * 0.7)
    patch = np.zeros((2 * s, 2 * s), np.float32)
    cv2.rectangle(patch, (int(s - 0.26 * hh), s), (int(s + 0.26 * hh), int(s + 0.4 * hh)), 1.0, -1)
    neck = rotate_patch(cv2.GaussianBlur(patch, (0, 0), 1.0), roll)
    cut = np.zeros_like(patch)
    cv2.ellipse(cut, (s, s), (int(0.26 * hh), max(1, int(0.07 * hh))), 0, 0, 360, 1.0, -1)
    cut = rotate_patch(cv2.GaussianBlur(cut, (0, 0), 1.0), roll)
    x0, y0 = int(top[0] - neck.shape[1] / 2), int(top[1] - neck.shape[0] / 2)
    canvas.paint(x0, y0, neck, plastic * 0.9, None)
    canvas.paint(x0, y0, cut, np.minimum(plastic * 1.1, 1.0), None)
    return True


def _skin(rng: np.random.Generator) -> np.ndarray:
    from figure_ml.data.render.skin import skin_color

    return skin_color(rng, int(rng.integers(1, 7)))


def add_hard_negatives(
    canvas: Canvas,
    regions: list[SkinRegion],
    layout: Layout,
    count: int,
    face_like: bool,
    free_wrists: list[SkinRegion],
) -> list[str]:
    """Paint about ``count`` hard negatives chosen by what the scene offers; names painted.

    ``face_like`` asks for a face-like arrangement first (a shot framed for a face that holds
    none); ``free_wrists`` are wrists without a wristband, for jewellery and sleeves.
    """
    rng = canvas.rng
    names: list[str] = []
    if face_like and count > 0:
        kind = str(rng.choice(["poster_faces", "mannequin", "head_back"], p=[0.4, 0.3, 0.3]))
        if kind == "poster_faces":
            ok = poster_faces(canvas, layout)
        elif kind == "mannequin":
            ok = mannequin(canvas, regions)
        else:
            ok = head_from_behind(canvas, layout, regions)
        names += [kind] if ok else []
        count -= 1
    skin = [r for r in regions if r.area > 0]
    for _ in range(count):
        # a sleeve painted earlier may have hidden a wrist
        free = [r for r in free_wrists if r.wrist is not None]
        weights = {
            "scale_bar": 1.0,
            "text_like": 1.2,
            "poster_faces": 0.5,
            "mannequin": 0.3,
            "head_back": 0.4,
            "marker": 1.2 if skin else 0.0,
            "jewellery": 1.5 if free else 0.0,
            "sleeve": 0.6 if free else 0.0,
        }
        p = np.array([weights[k] for k in KINDS])
        kind = KINDS[int(rng.choice(len(KINDS), p=p / p.sum()))]
        if kind == "scale_bar":
            ok = scale_bar(canvas, layout)
        elif kind == "text_like":
            ok = text_like(canvas, layout)
        elif kind == "poster_faces":
            ok = poster_faces(canvas, layout)
        elif kind == "mannequin":
            ok = mannequin(canvas, regions)
        elif kind == "head_back":
            ok = head_from_behind(canvas, layout, regions)
        elif kind == "marker":
            ok = marker(canvas, skin[int(rng.integers(len(skin)))], layout)
        elif kind == "jewellery":
            ok = jewellery(canvas, free[int(rng.integers(len(free)))])
        else:
            reg = free[int(rng.integers(len(free)))]
            cut = reg.wrist[4] * rng.uniform(-1.5, 0.3)  # type: ignore[index]
            ok = sleeve_over(canvas, reg, cut, regions)
        if ok:
            names.append(kind)
    return names
