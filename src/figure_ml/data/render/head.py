"""A whole head on its own patch: skull, ears, face oval, neck and their shading.

The head is composed at a working resolution and then painted by :func:`face.add_face`.
Features (eyes, nose, mouth), hair and headwear are drawn by their own modules, in that order.
"""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.face_features import beard, eyes, mouth, nose
from figure_ml.data.render.hair import back_hair, hair_look, scalp_hair
from figure_ml.data.render.head_geom import HeadGeom
from figure_ml.data.render.head_patch import HeadLayers, Patch, ellipse
from figure_ml.data.render.headwear import headwear
from figure_ml.data.render.skin import skin_color, skin_texture

#: head patch side and face-centre height, in face heights (room for big hair when rolled)
PATCH, FACE_Y = 2.4, 1.05
#: where an ear stops being face, in ear half widths outward of its centre (negative: inward;
#: DESIGN §4, see compose_head)
EAR_CLAIM = -0.5


def compose_head(
    rng: np.random.Generator, fitz: int, hh: int, yaw: float, style: str, extras: dict
) -> HeadLayers:
    """Draw a head whose face (hairline to chin) is ``hh`` px tall on a square patch."""
    size = int(PATCH * hh)
    hd = HeadLayers(size)
    cx, cy = size / 2, FACE_Y * hh
    a, b = 0.37 * hh, 0.5 * hh
    skin = skin_color(rng, fitz)
    hd.skin = skin
    # skin colour varies slowly: built at half size (pores at full-patch scale) and upsampled
    half = max(2, size // 2)
    tex = skin_texture(rng, half, half, skin, hh / 120.0, px=2.0)
    tex = cv2.resize(tex, (size, size), interpolation=cv2.INTER_LINEAR)
    # a row and a column grid: every use broadcasts them, which skips two full-patch arrays
    # and makes the separable parts of the shading one row or column of work
    xx = np.arange(size, dtype=np.float32)[None, :]
    yy = np.arange(size, dtype=np.float32)[:, None]
    light = rng.uniform(-0.8, 0.8)
    hair, hair_tex, strands = hair_look(rng, fitz, size, yy, cx, cy, hh, style)
    g = HeadGeom(size, hh, cx, cy, a, b, yaw, light, xx, yy)
    px = g.px
    back_hair(hd, style, hair_tex, cx, cy, hh)
    # the neck fades into the gown collar; shoulders are painted on the canvas (see face.py)
    nx0 = cx + a * 0.3 * np.sin(yaw)
    neck = (np.abs(xx - nx0) < 0.3 * hh) & (yy > cy)
    neck_a = cv2.GaussianBlur(neck.astype(np.float32), (0, 0), 1.0)
    hd.lay(neck_a, tex * 0.8, False)
    # cranium (not face), ears, then the face oval with a tapering jaw. WIDER FACE boxes
    # (CenterFace's training data) run to the tragus, not the ear's outer rim: with whole ears
    # as face, CenterFace's box was 0.91 of the synthetic box wide; with faces to the tragus,
    # 1.01 (median over 111 faces, benchmarks/synth_realism.py). So an ear is face only inward
    # of EAR_CLAIM of its half width from its centre.
    hd.lay(ellipse(size, (cx, cy - 0.17 * hh), (0.41 * hh, 0.62 * hh), 0.8), tex, False)
    for phi in (-np.pi / 2, np.pi / 2):  # the far ear disappears behind the head as it turns
        ex, k = px(phi, 1.1)
        if k > -0.2:
            ew = 0.065 * hh * (0.5 + 0.5 * min(1.0, 1.0 - abs(k) + 0.3))
            ear = ellipse(size, (ex, cy - 0.03 * hh), (ew, 0.12 * hh), 0.8)
            hd.lay(ear, tex * 0.9, None)
            cols = ear.x0 + np.arange(ear.a.shape[1]) + 0.5
            inner = np.sign(phi) * (cols - ex) <= EAR_CLAIM * ew  # outward is sign(phi)
            hd.claim(Patch(ear.a * inner[None, :], ear.x0, ear.y0))
            hd.lay(
                ellipse(size, (ex, cy - 0.02 * hh), (ew * 0.5, 0.07 * hh), 0.04 * hh) * 0.4,
                (0.55, 0.4, 0.38),
                None,
                multiply=True,
            )
    ang = np.linspace(0, 2 * np.pi, 72)
    jaw = 1 - 0.18 * np.clip(np.sin(ang), 0, 1) ** 2
    # turning the head narrows the far cheek and widens the near one
    squash = 1.0 - 0.22 * np.sin(yaw) * np.sign(np.cos(ang))
    oval = np.stack([cx + a * np.cos(ang) * jaw * squash, cy + b * np.sin(ang)], 1)
    m = np.zeros((size, size), np.uint8)
    cv2.fillPoly(m, [np.round(oval * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
    face_a = cv2.GaussianBlur(m.astype(np.float32) / 255, (0, 0), 0.8)
    hd.lay(face_a, tex, True)
    hd.extent = hd.face.copy()  # face oval and ears: the most the face box may span
    # Lambert shading of an ellipsoid head and a cylindrical neck under one key light
    lx, ly, lz = np.sin(light) * 0.7, -0.3, 0.72
    dx = (xx - cx - 0.08 * hh * np.sin(yaw)) / (0.46 * hh)
    dy = (yy - cy + 0.1 * hh) / (0.75 * hh)
    nz = np.sqrt(np.clip(1.0 - dx * dx - dy * dy, 0.0, 1.0))
    head_l = np.clip(dx * lx + dy * ly + nz * lz, 0.0, 1.0)
    t = np.clip((xx - nx0) / (0.3 * hh), -1.0, 1.0)
    neck_l = np.clip(t * lx + np.sqrt(1.0 - t * t) * lz, 0.0, 1.0) * 0.8
    w_head = np.clip((1.0 - (dx * dx + dy * dy)) * 6.0, 0.0, 1.0)
    shade = 0.55 + 0.55 * (w_head * head_l + (1.0 - w_head) * neck_l)
    # skin is not matte: a soft Blinn-Phong sheen (forehead, nose bridge, cheekbones) whose
    # strength varies from dry to oily skin; the key light's colour, added on top
    hx, hy, hz = lx, ly, lz + 1.0
    norm = np.sqrt(hx * hx + hy * hy + hz * hz)
    sheen = np.clip((dx * hx + dy * hy + nz * hz) / norm, 0.0, 1.0) ** 16
    sheen *= w_head * rng.uniform(0.04, 0.16)
    for k in range(3):  # channel by channel (see Canvas.paint)
        hd.rgb[..., k] *= shade
        hd.rgb[..., k] += sheen
    for s_ in (-1, 1):  # hollows under the cheekbones; a little colour on fair cheeks
        chx, _ = px(s_ * 0.75, 0.95)
        hd.lay(
            ellipse(size, (chx, cy + 0.15 * hh), (0.07 * hh, 0.12 * hh), 0.06 * hh, s_ * 20) * 0.18,
            (0.6, 0.5, 0.48),
            None,
            multiply=True,
        )
        if fitz <= 3:
            chx, _ = px(s_ * 0.55, 0.98)
            hd.lay(
                ellipse(size, (chx, cy + 0.06 * hh), (0.08 * hh, 0.06 * hh), 0.05 * hh) * 0.25,
                (1.0, 0.85, 0.85),
                None,
                multiply=True,
            )
    # chin shadow on the neck
    hd.lay(
        ellipse(
            size, (cx + a * 0.3 * np.sin(yaw), cy + 0.55 * hh), (0.3 * hh, 0.12 * hh), 0.06 * hh
        )
        * 0.5,
        (0.45, 0.4, 0.4),
        None,
        multiply=True,
    )

    eyes(rng, hd, g, fitz, hair, extras.get("eyes_closed", False), skin)
    nose(hd, g)
    mouth(hd, g, skin)
    if extras.get("beard"):
        beard(rng, hd, g, face_a, hair_tex)
    scalp_hair(rng, hd, style, hair_tex, strands, size, cx, cy, a, hh, xx, yy)
    headwear(rng, hd, extras, size, cx, cy, a, b, hh, xx, yy, yaw, px, light)
    hd.finish_face()
    return hd
