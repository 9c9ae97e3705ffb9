"""Hard negative ``head_back``: a person seen from behind, hair and nape towards the camera.

DESIGN §4: hair and the back of the head are not face. Without heads seen from behind, every
hair-topped head-sized blob the student ever saw was a face, so it takes any head for one;
real photos hold relatives, staff and bystanders turned away. The head is composed like a face
(:func:`head.compose_head`, so skull, ears, neck and skin match a face exactly) and its face is
then covered by the hair of the back of the head; the gowned body follows, all ``owner=None``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.face import GOWN_RGB, gowned_body, head_on_canvas, working_size
from figure_ml.data.render.hair import hair_look
from figure_ml.data.render.head import FACE_Y, compose_head
from figure_ml.data.render.head_patch import HeadLayers, ellipse
from figure_ml.data.render.primitives import Layout
from figure_ml.data.render.scene_plan import face_box
from figure_ml.data.render.skin import SkinRegion

#: styles whose back differs visibly (bald and buzz backs are skin: left to other negatives)
BACK_STYLES = ("short", "long", "curly", "bun")
#: nothing worn on the (hidden) face
_BARE = {"mask": False, "cap": False, "glasses": False, "beard": False, "eyes_closed": False}


def _hair_over_face(
    rng: np.random.Generator, hd: HeadLayers, fitz: int, style: str, hh: int
) -> None:
    """Cover the face and cranium with the hair of the back of the head; the nape shows below
    short hair, long hair falls over it."""
    size = hd.size
    cx, cy = size / 2, FACE_Y * hh
    yy = np.arange(size, dtype=np.float32)[:, None]
    _, tex, _ = hair_look(rng, fitz, size, yy, cx, cy, hh, style)
    grow = 0.06 if style == "curly" else 0.02
    half_w = (0.43 + grow) * hh
    hd.lay(ellipse(size, (cx, cy - 0.22 * hh), (half_w, (0.53 + grow) * hh), 1.2), tex, False)
    if style == "long":  # over the nape and onto the shoulders
        hd.lay(ellipse(size, (cx, cy + 0.3 * hh), (0.5 * hh, 0.75 * hh), 2.0), tex * 0.9, False)
    elif style == "bun":
        hd.lay(ellipse(size, (cx, cy - 0.3 * hh), (0.17 * hh, 0.14 * hh), 1.0), tex * 0.8, False)


def head_from_behind(canvas: Canvas, layout: Layout, regions: Sequence[SkinRegion]) -> bool:
    """Paint a head seen from behind (face 8-35% of the short side tall) with its gowned body at
    a spot no PHI or finding holds; reserve it. False when no spot was free."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    hh = float(min(w, h) * rng.uniform(0.08, 0.35))
    roll = float(rng.normal(0, 12))
    for _ in range(12):
        cx, cy = w * rng.uniform(0.1, 0.9), h * rng.uniform(0.1, 0.8)
        if layout.overlap(face_box(cx, cy, hh, roll)) < 0.05:
            break
    else:
        return False
    fitz = int(rng.integers(1, 7))
    style = str(rng.choice(BACK_STYLES))
    work = working_size(hh)
    hd = compose_head(rng, fitz, work, 0.0, style, dict(_BARE))
    _hair_over_face(rng, hd, fitz, style, work)
    rgb, alpha, _, x0, y0 = head_on_canvas(hd, work, hh, roll, cx, cy)
    canvas.paint(x0, y0, alpha, rgb, None)
    for reg in regions:
        reg.cover(x0, y0, alpha)
    gown = np.array(GOWN_RGB[rng.integers(len(GOWN_RGB))], np.float32)
    gowned_body(canvas, cx, cy, hh, roll, gown, hd.skin, regions)
    layout.reserve(face_box(cx, cy, hh, roll))
    return True
