"""Class ``face``: procedural heads at any scale, pose, skin tone, hairstyle and with PPE.

A head is composed on a local patch (:mod:`head`) at a working resolution (small faces are drawn
larger and shrunk with area interpolation, so a 12 px face is a believable blur of a real one),
then scaled, rolled and painted here, with the gown-covered body, a pillow and bed sheet.

Ownership (DESIGN §4, as WIDER FACE draws faces): the face object owns the visible face oval
(hairline or forehead to chin, ear to ear at the tragus: the outer ear is not face, see
:data:`head.EAR_CLAIM`), and the part of a surgical mask or glasses lying on
them; cranium, scalp hair, a cap, neck and gown are not face. The head's face mask goes through
the same scaling and roll as its colour, and the generator takes the box from the instance map
after augmentation, so rotated and lying heads keep hairline-to-chin boxes.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.cloth import fabric
from figure_ml.data.render.hair import HAIRSTYLES
from figure_ml.data.render.head import FACE_Y, PATCH, compose_head
from figure_ml.data.render.head_patch import HeadLayers
from figure_ml.data.render.primitives import Layout, paint_sparse, soft_blur
from figure_ml.data.render.skin import SkinRegion

GOWN_RGB = ((0.55, 0.68, 0.8), (0.85, 0.86, 0.88), (0.45, 0.6, 0.55), (0.3, 0.35, 0.5))


def _local_poly(pts: list, cx: float, cy: float, hh: float, roll: float) -> np.ndarray:
    """Head-local points (units of face height, y down) -> canvas points, rolled like the head."""
    rot = cv2.getRotationMatrix2D((0, 0), roll, 1.0)[:, :2]
    return np.asarray(pts, np.float64) * hh @ rot.T + [cx, cy]


def _fill_local(
    canvas: Canvas,
    poly: np.ndarray | list[np.ndarray],
    base: np.ndarray,
    folds: float,
    blur: float,
    regions: Sequence[SkinRegion],
    flat: bool = False,
) -> tuple[int, int, np.ndarray] | None:
    """Paint fabric polygons given in canvas coordinates (clipped to the frame), as occluder.

    ``flat`` paints ``base`` with a soft rounded shading instead of cloth (bare forearms, hands).
    Returns the painted ``(x0, y0, alpha)``.
    """
    polys = poly if isinstance(poly, list) else [poly]
    pts = np.concatenate(polys)
    x0, y0 = max(int(pts[:, 0].min()) - 2, 0), max(int(pts[:, 1].min()) - 2, 0)
    x1 = min(int(pts[:, 0].max()) + 3, canvas.width)
    y1 = min(int(pts[:, 1].max()) + 3, canvas.height)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None
    a = _union_alpha(y1 - y0, x1 - x0, [p - [x0, y0] for p in polys], blur)
    if flat:  # darker towards the outline, like a cylinder
        rnd = soft_blur(a, max(1.0, 0.02 * max(x1 - x0, y1 - y0)))
        col = np.asarray(base, np.float32) * (0.6 + 0.4 * rnd)[..., None]
    else:
        col = fabric(canvas.rng, y1 - y0, x1 - x0, base, folds)
    paint_sparse(canvas, x0, y0, a, col, None)
    for reg in regions:
        reg.cover(x0, y0, a)
    return x0, y0, a


def _union_alpha(h: int, w: int, polys: list[np.ndarray], blur: float) -> np.ndarray:
    """Alpha of the union of ``polys`` (one ``fillPoly`` call would cut their overlaps out)."""
    m = np.zeros((h, w), np.uint8)
    for p in polys:
        cv2.fillPoly(m, [np.round(p * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
    a = m.astype(np.float32) / 255.0
    return soft_blur(a, blur) if blur > 0 else a


def _capsule(p0: tuple[float, float], p1: tuple[float, float], r0: float, r1: float) -> list:
    """Head-local outline of a tapered capsule from ``p0`` (radius ``r0``) to ``p1``."""
    d = np.subtract(p1, p0)
    ang = np.arctan2(d[1], d[0])
    t0 = np.linspace(ang + np.pi / 2, ang + 3 * np.pi / 2, 7)
    t1 = np.linspace(ang - np.pi / 2, ang + np.pi / 2, 7)
    cap0 = np.stack([p0[0] + r0 * np.cos(t0), p0[1] + r0 * np.sin(t0)], 1)
    cap1 = np.stack([p1[0] + r1 * np.cos(t1), p1[1] + r1 * np.sin(t1)], 1)
    return [*cap0, *cap1]


def gowned_body(
    canvas: Canvas,
    cx: float,
    cy: float,
    hh: float,
    roll: float,
    gown: np.ndarray,
    skin: np.ndarray,
    regions: Sequence[SkinRegion],
    arms: bool = True,
) -> None:
    """A gowned torso with a curved neckline, shoulders, and arms hanging at its sides.

    Head-local units (face heights) around a head at ``(cx, cy)``: a real shoulder span is about
    two face heights, and short sleeves end above the elbow, so a distant figure reads as a
    person, not a column of cloth. ``arms=False`` leaves the bare arms off (a mannequin torso).
    """
    rng = canvas.rng
    w = rng.uniform(0.95, 1.15)
    neck = [[0.28 * np.cos(t), 0.75 + 0.12 * np.sin(t)] for t in np.linspace(np.pi, 0, 9)]
    half = [[0.75 * w, 0.93], [1.05 * w, 1.05], [1.2 * w, 1.25], [0.86 * w, 1.65]]
    half += [[0.8 * w, 3.0], [0.92 * w, 4.2], [0.95 * w, 9]]
    torso = [*neck, *half, *[[-x, y] for x, y in half[::-1]]]
    gown_polys = [torso]
    skin_polys, creases = [], []
    sway = rng.normal(0, 0.05, 2)
    for k, sx in enumerate((-1, 1)):
        shoulder = (sx * 1.05 * w, 1.22)
        elbow = (sx * (1.1 * w + sway[k]), 2.55)
        wrist = (sx * (1.1 * w + 2 * sway[k]), 3.65)
        hem = (shoulder[0] * 0.4 + elbow[0] * 0.6, 1.22 * 0.4 + 2.55 * 0.6)
        gown_polys.append(_capsule(shoulder, hem, 0.26, 0.22))
        skin_polys.append(_capsule(hem, elbow, 0.18, 0.16))
        skin_polys.append(_capsule(elbow, wrist, 0.16, 0.12))
        hand = ((wrist[0], wrist[1] + 0.08), (wrist[0], wrist[1] + 0.33))
        skin_polys.append(_capsule(*hand, 0.12, 0.1))
        # the sleeve's inner edge against the torso, from the armpit down
        creases.append(_capsule((sx * 0.86 * w, 1.6), (hem[0] - sx * 0.2, hem[1]), 0.02, 0.01))
    if arms:
        loc = [_local_poly(p, cx, cy, hh, roll) for p in skin_polys]
        _fill_local(canvas, loc, skin, 0, 0.8, regions, flat=True)
    loc = [_local_poly(p, cx, cy, hh, roll) for p in gown_polys]
    _fill_local(canvas, loc, gown, 0.1, 1.0, regions)
    loc = [_local_poly(p, cx, cy, hh, roll) for p in creases]
    pts = np.concatenate(loc)
    x0, y0 = int(pts[:, 0].min()) - 3, int(pts[:, 1].min()) - 3
    x1, y1 = int(pts[:, 0].max()) + 4, int(pts[:, 1].max()) + 4
    a = _union_alpha(y1 - y0, x1 - x0, [p - [x0, y0] for p in loc], max(0.8, 0.02 * hh))
    canvas.paint(x0, y0, a * 0.5, (0.45, 0.45, 0.5), mode="multiply", occlude=False)


def working_size(height_px: float) -> int:
    """The face height a head is composed at: larger faces are upscaled (cost, not detail)."""
    return int(np.clip(height_px, 48, 160))


def head_on_canvas(
    hd: HeadLayers, work: int, height_px: float, roll: float, cx: float, cy: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Scale a head composed at face height ``work`` to ``height_px``, roll it and place its
    face centre at ``(cx, cy)``: returns colour, alpha, face mask and the patch's top-left
    canvas corner."""
    rgba = np.dstack([hd.rgb, hd.alpha])
    fmask = hd.face
    scale = height_px / work
    if abs(scale - 1) > 0.02:
        n = max(8, int(rgba.shape[0] * scale))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        rgba = cv2.resize(rgba, (n, n), interpolation=interp)
        fmask = cv2.resize(fmask, (n, n), interpolation=interp)
    mrot = cv2.getRotationMatrix2D((rgba.shape[1] / 2, rgba.shape[0] / 2), roll, 1.0)
    rgba = cv2.warpAffine(rgba, mrot, rgba.shape[1::-1], flags=cv2.INTER_LINEAR)
    fmask = cv2.warpAffine(fmask, mrot, rgba.shape[1::-1], flags=cv2.INTER_LINEAR)
    rgb, alpha = np.clip(rgba[..., :3], 0, 1), np.clip(rgba[..., 3], 0, 1)
    n = rgba.shape[0]
    # the patch centre is not the face centre: the face sits FACE_Y hh below the patch top
    off = mrot[:, :2] @ np.array([0.0, (FACE_Y - PATCH / 2) * n / PATCH])
    return rgb, alpha, fmask, int(cx - off[0] - n / 2), int(cy - off[1] - n / 2)


def _pillow(
    canvas: Canvas, cx: float, cy: float, hh: float, roll: float, regions: Sequence[SkinRegion]
) -> None:
    """The pillow under a lying patient's head."""
    rng = canvas.rng
    ring = [[np.cos(t) * 1.6, -0.1 + np.sin(t) * 0.9] for t in np.linspace(0, 2 * np.pi, 40)]
    white = np.array((0.95, 0.95, 0.94), np.float32) * rng.uniform(0.9, 1)
    _fill_local(canvas, _local_poly(ring, cx, cy, hh, roll), white, 0.15, 3.0, regions)


def add_face(
    canvas: Canvas,
    fitz: int,
    height_px: float,
    cx: float,
    cy: float,
    layout: Layout,
    roll: float | None = None,
    lying: bool = False,
    regions: Sequence[SkinRegion] = (),
) -> list:
    """Paint one face whose face region is ``height_px`` tall, centred at ``(cx, cy)``."""
    rng = canvas.rng
    yaw = float(rng.normal(0, 0.45))
    yaw = float(np.clip(yaw, -0.8, 0.8))  # beyond this a frontal oval with one eye looks wrong
    roll = float(rng.normal(0, 12)) if roll is None else roll
    style = str(rng.choice(HAIRSTYLES))
    extras = {
        "mask": rng.random() < 0.2,
        "cap": rng.random() < 0.12,
        "glasses": rng.random() < 0.2,
        "beard": rng.random() < 0.15,
        "eyes_closed": rng.random() < 0.2,
        "blanket": float(rng.uniform(0.25, 0.7)) if rng.random() < 0.15 else 0.0,
        "gown": np.array(GOWN_RGB[rng.integers(len(GOWN_RGB))], np.float32),
    }
    work = working_size(height_px)
    hd = compose_head(rng, fitz, work, yaw, style, extras)
    rgb, alpha, fmask, x0, y0 = head_on_canvas(hd, work, height_px, roll, cx, cy)
    if (fmask >= 0.5).sum() < 12:
        return []
    worn = [k for k in ("mask", "cap", "glasses") if extras[k]]
    obj = canvas.new_object(
        "phi",
        "face",
        face_px=round(float(height_px), 1),
        yaw_deg=round(float(np.degrees(yaw)), 1),
        roll_deg=round(roll, 1),
        hair=style,
        wearing=worn,
        skin_tone=int(fitz),
        occluded="blanket" if extras["blanket"] else "none",
    )
    if lying:
        _pillow(canvas, cx, cy, height_px, roll, regions)
    canvas.paint(x0, y0, alpha, rgb, None)
    canvas.paint(x0, y0, fmask, rgb, obj)
    for reg in regions:
        reg.cover(x0, y0, alpha)
    # the gown goes on after the head: its neckline hides the bottom of the neck
    gowned_body(canvas, cx, cy, height_px, roll, extras["gown"], hd.skin, regions)
    if lying:  # the bed sheet pulled up to the chest
        top = rng.uniform(0.85, 1.5)
        # a blanket over the body: a rounded top edge and sides a little wider than the shoulders
        bw = rng.uniform(1.9, 2.6)
        sheet = [[bw * np.sin(t), top + 0.35 * (1 - np.cos(t))] for t in np.linspace(-1.5, 1.5, 11)]
        sheet += [[bw, 12], [-bw, 12]]
        _fill_local(
            canvas,
            _local_poly(sheet, cx, cy, height_px, roll),
            np.array((0.93, 0.94, 0.95), np.float32) * rng.uniform(0.85, 1.0),
            0.15,
            1.5,
            regions,
        )
    hw = height_px * 0.5
    layout.reserve((cx - hw, cy - hw, cx + hw, cy + hw))
    return [obj]
