"""Class ``face``: procedural heads at any scale, pose, skin tone, hairstyle and with PPE.

A head is composed on a local patch at a working resolution (small faces are drawn larger and
shrunk with area interpolation, so a 12 px face is a believable blur of a real one), then scaled,
rolled and painted. Yaw is modelled on an ellipsoid: a feature at angle ``phi`` around the vertical
axis lands at ``sin(phi + yaw)`` and is foreshortened by ``cos(phi + yaw)``.

Ownership: the face object owns the face oval (hairline to chin, ear to ear) and whatever the
patient wears on it (surgical mask, cap, glasses); cranium, hair, neck and gown are not face.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.clutter import fabric
from figure_ml.data.render.skin import (
    Layout,
    SkinRegion,
    paint_sparse,
    poly_alpha,
    skin_color,
    skin_texture,
    smooth_noise,
)

HAIR_RGB = (
    (0.05, 0.04, 0.04),
    (0.16, 0.1, 0.07),
    (0.33, 0.21, 0.12),
    (0.66, 0.52, 0.3),
    (0.48, 0.2, 0.08),
    (0.55, 0.55, 0.55),
    (0.84, 0.83, 0.8),
)
HAIRSTYLES = ("short", "long", "curly", "bald", "bun", "buzz")
IRIS_RGB = ((0.25, 0.15, 0.08), (0.12, 0.08, 0.05), (0.3, 0.45, 0.6), (0.35, 0.45, 0.3))
#: head patch side and face-centre height, in face heights (room for big hair when rolled)
PATCH, FACE_Y = 2.4, 1.05
GOWN_RGB = ((0.55, 0.68, 0.8), (0.85, 0.86, 0.88), (0.45, 0.6, 0.55), (0.3, 0.35, 0.5))


class _Patch:
    """A small alpha patch at ``(x0, y0)`` of the head: elements are drawn locally for speed."""

    def __init__(self, a: np.ndarray, x0: int, y0: int) -> None:
        self.a, self.x0, self.y0 = a, x0, y0

    def __mul__(self, other: float | _Patch) -> _Patch:
        if isinstance(other, _Patch):  # clip to another element (an iris to its eye)
            return _Patch(self.a * other.full_like(self), self.x0, self.y0)
        return _Patch(self.a * other, self.x0, self.y0)

    def full_like(self, ref: _Patch) -> np.ndarray:
        """This patch's values on ``ref``'s window (0 outside this patch)."""
        h, w = ref.a.shape
        out = np.zeros((h, w), np.float32)
        xs, ys = max(self.x0, ref.x0), max(self.y0, ref.y0)
        xe = min(self.x0 + self.a.shape[1], ref.x0 + w)
        ye = min(self.y0 + self.a.shape[0], ref.y0 + h)
        if xe > xs and ye > ys:
            out[ys - ref.y0 : ye - ref.y0, xs - ref.x0 : xe - ref.x0] = self.a[
                ys - self.y0 : ye - self.y0, xs - self.x0 : xe - self.x0
            ]
        return out

    def full(self, size: int) -> np.ndarray:
        return self.full_like(_Patch(np.zeros((size, size), np.float32), 0, 0))


class _Head:
    """Layers of one head patch: colour, coverage alpha and the face-ownership mask."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.rgb = np.zeros((size, size, 3), np.float32)
        self.alpha = np.zeros((size, size), np.float32)
        self.face = np.zeros((size, size), np.float32)

    def lay(
        self,
        a: np.ndarray | _Patch,
        col: np.ndarray | tuple,
        face: bool | None,
        multiply: bool = False,
    ) -> None:
        """Composite ``a``/``col``; ``face`` True claims, False un-claims, None leaves ownership."""
        if isinstance(a, _Patch):  # work on the element's window only
            x0, y0 = max(a.x0, 0), max(a.y0, 0)
            x1 = min(a.x0 + a.a.shape[1], self.size)
            y1 = min(a.y0 + a.a.shape[0], self.size)
            if x1 <= x0 or y1 <= y0:
                return
            al = a.a[y0 - a.y0 : y1 - a.y0, x0 - a.x0 : x1 - a.x0]
        else:
            x0, y0, x1, y1, al = 0, 0, self.size, self.size, a
        c = np.asarray(col, np.float32)
        if c.ndim == 3:
            c = c[y0:y1, x0:x1]
        rgb = self.rgb[y0:y1, x0:x1]
        a3 = al[..., None]
        if multiply:
            rgb *= 1.0 - a3 * (1.0 - c)
            return
        rgb *= 1.0 - a3
        rgb += a3 * c
        alpha = self.alpha[y0:y1, x0:x1]
        alpha *= 1.0 - al
        alpha += al
        fm = self.face[y0:y1, x0:x1]
        if face is True:
            fm *= 1.0 - al
            fm += al
        elif face is False:
            fm *= 1.0 - al


def _ell(
    size: int,
    c: tuple[float, float],
    axes: tuple[float, float],
    blur: float = 0.8,
    ang: float = 0.0,
    start: int = 0,
    end: int = 360,
) -> _Patch:
    r = max(axes) + 3 * blur + 3
    x0, y0 = int(c[0] - r), int(c[1] - r)
    n = int(2 * r) + 2
    m = np.zeros((n, n), np.uint8)
    cv2.ellipse(
        m,
        (round((c[0] - x0) * 4), round((c[1] - y0) * 4)),
        (max(1, round(axes[0] * 4)), max(1, round(axes[1] * 4))),
        ang,
        start,
        end,
        255,
        -1,
        cv2.LINE_AA,
        shift=2,
    )
    a = m.astype(np.float32) / 255.0
    return _Patch(cv2.GaussianBlur(a, (0, 0), blur) if blur > 0 else a, x0, y0)


def _stroke(size: int, pts: np.ndarray, th: float, blur: float = 0.6) -> _Patch:
    pad = th + 3 * blur + 3
    x0, y0 = int(pts[:, 0].min() - pad), int(pts[:, 1].min() - pad)
    w = int(pts[:, 0].max() - x0 + pad) + 2
    h = int(pts[:, 1].max() - y0 + pad) + 2
    m = np.zeros((h, w), np.uint8)
    p = np.round((pts - [x0, y0]) * 4).astype(np.int32)
    cv2.polylines(m, [p], False, 255, max(1, round(th)), cv2.LINE_AA, shift=2)
    return _Patch(cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), blur), x0, y0)


def _compose(
    rng: np.random.Generator, fitz: int, hh: int, yaw: float, style: str, extras: dict
) -> _Head:
    """Draw a head whose face (hairline to chin) is ``hh`` px tall on a square patch."""
    size = int(PATCH * hh)
    hd = _Head(size)
    cx, cy = size / 2, FACE_Y * hh
    a, b = 0.37 * hh, 0.5 * hh
    skin = skin_color(rng, fitz)
    tex = skin_texture(rng, size, size, skin, hh / 120.0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    light = rng.uniform(-0.8, 0.8)
    hair = np.array(HAIR_RGB[rng.integers(len(HAIR_RGB))], np.float32)
    if fitz >= 4 and rng.random() < 0.7:
        hair = np.array(HAIR_RGB[rng.integers(2)], np.float32)
    # strands: noise stretched vertically, fine and low-contrast, plus a soft sheen band
    streak = cv2.resize(
        rng.random((max(2, size // 12), max(2, size // 2)), dtype=np.float32),
        (size, size),
        interpolation=cv2.INTER_LINEAR,
    )
    sheen = np.exp(-(((yy - cy + 0.55 * hh) / (0.12 * hh)) ** 2))
    hair_tex = hair * (0.82 + 0.3 * streak + 0.35 * sheen)[..., None]

    def px(phi: float, depth: float = 1.0) -> tuple[float, float]:
        return cx + a * depth * np.sin(phi + yaw), float(np.cos(phi + yaw))

    if style == "long":  # hair behind the head falls to the shoulders
        hd.lay(_ell(size, (cx, cy + 0.25 * hh), (0.6 * hh, 0.95 * hh), 2.0), hair_tex * 0.8, False)
    # the neck fades into the gown collar; shoulders are painted on the canvas (see _body)
    nx0 = cx + a * 0.3 * np.sin(yaw)
    neck = (np.abs(xx - nx0) < 0.3 * hh) & (yy > cy)
    neck_a = cv2.GaussianBlur(neck.astype(np.float32), (0, 0), 1.0)
    hd.lay(neck_a, tex * 0.8, False)
    # cranium (not face), ears (face: ear to ear), then the face oval with a tapering jaw
    hd.lay(_ell(size, (cx, cy - 0.17 * hh), (0.41 * hh, 0.62 * hh), 0.8), tex, False)
    for phi in (-np.pi / 2, np.pi / 2):  # the far ear disappears behind the head as it turns
        ex, k = px(phi, 1.1)
        if k > -0.2:
            ew = 0.065 * hh * (0.5 + 0.5 * min(1.0, 1.0 - abs(k) + 0.3))
            hd.lay(_ell(size, (ex, cy - 0.03 * hh), (ew, 0.12 * hh), 0.8), tex * 0.9, True)
            hd.lay(
                _ell(size, (ex, cy - 0.02 * hh), (ew * 0.5, 0.07 * hh), 0.04 * hh) * 0.4,
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
    # Lambert shading of an ellipsoid head and a cylindrical neck under one key light
    lx, ly, lz = np.sin(light) * 0.7, -0.3, 0.72
    dx = (xx - cx - 0.08 * hh * np.sin(yaw)) / (0.46 * hh)
    dy = (yy - cy + 0.1 * hh) / (0.75 * hh)
    nz = np.sqrt(np.clip(1.0 - dx * dx - dy * dy, 0.0, 1.0))
    head_l = np.clip(dx * lx + dy * ly + nz * lz, 0.0, 1.0)
    t = np.clip((xx - nx0) / (0.3 * hh), -1.0, 1.0)
    neck_l = np.clip(t * lx + np.sqrt(1.0 - t * t) * lz, 0.0, 1.0) * 0.8
    w_head = np.clip((1.0 - (dx * dx + dy * dy)) * 6.0, 0.0, 1.0)
    shade = 0.4 + 0.75 * (w_head * head_l + (1.0 - w_head) * neck_l)
    hd.rgb *= shade[..., None]
    for s_ in (-1, 1):  # hollows under the cheekbones; a little colour on fair cheeks
        chx, _ = px(s_ * 0.75, 0.95)
        hd.lay(
            _ell(size, (chx, cy + 0.15 * hh), (0.07 * hh, 0.12 * hh), 0.06 * hh, s_ * 20) * 0.18,
            (0.6, 0.5, 0.48),
            None,
            multiply=True,
        )
        if fitz <= 3:
            chx, _ = px(s_ * 0.55, 0.98)
            hd.lay(
                _ell(size, (chx, cy + 0.06 * hh), (0.08 * hh, 0.06 * hh), 0.05 * hh) * 0.25,
                (1.0, 0.85, 0.85),
                None,
                multiply=True,
            )
    # chin shadow on the neck
    hd.lay(
        _ell(size, (cx + a * 0.3 * np.sin(yaw), cy + 0.55 * hh), (0.3 * hh, 0.12 * hh), 0.06 * hh)
        * 0.5,
        (0.45, 0.4, 0.4),
        None,
        multiply=True,
    )

    ey = cy - 0.08 * hh
    closed = extras.get("eyes_closed", False)
    iris = IRIS_RGB[rng.integers(len(IRIS_RGB))] if fitz <= 3 else IRIS_RGB[rng.integers(2)]
    for phi in (-0.5, 0.5):
        ex, k = px(phi)
        if k < 0.2:
            continue
        ew, eh = 0.075 * hh * k, 0.03 * hh
        hd.lay(
            _ell(size, (ex, ey), (ew * 1.5, eh * 2.4), 0.05 * hh) * 0.35,
            (0.55, 0.45, 0.45),
            None,
            multiply=True,
        )  # eye socket shadow
        lid = np.stack(
            [
                np.linspace(ex - ew, ex + ew, 9),
                ey - eh * np.sin(np.linspace(0, np.pi, 9)) * (0.2 if closed else 1),
            ],
            1,
        )
        if not closed:
            hd.lay(_ell(size, (ex, ey), (ew, eh), 0.5), (0.84, 0.8, 0.76), None)
            ix = ex + 0.3 * ew * np.sin(yaw)
            hd.lay(
                _ell(size, (ix, ey), (0.031 * hh * k, 0.031 * hh), 0.4)
                * _ell(size, (ex, ey), (ew, eh), 0.3),
                iris,
                None,
            )
            hd.lay(
                _ell(size, (ix, ey), (0.012 * hh, 0.012 * hh), 0.3)
                * _ell(size, (ex, ey), (ew, eh), 0.3),
                (0.02, 0.02, 0.02),
                None,
            )
            glint = _ell(size, (ix + 0.01 * hh, ey - 0.01 * hh), (0.005 * hh, 0.005 * hh), 0.3)
            hd.lay(glint * 0.8, (1, 1, 1), None)
        hd.lay(_stroke(size, lid, 0.009 * hh + 0.6, 0.5) * 0.9, (0.12, 0.08, 0.07), None)
        brow = np.stack(
            [
                np.linspace(ex - 1.3 * ew, ex + 1.3 * ew, 9),
                ey - 0.085 * hh - 0.02 * hh * np.sin(np.linspace(0.2, np.pi, 9)),
            ],
            1,
        )
        hd.lay(_stroke(size, brow, 0.02 * hh + 0.8, 0.3 + 0.01 * hh) * 0.7, hair * 0.8, None)
    # nose: shadow on the side away from the light, nostrils, tip highlight
    nx, _ = px(0.0, 1.25)
    ny = cy + 0.19 * hh
    side = -1 if np.sin(light) > 0 else 1
    ridge = np.stack(
        [
            np.linspace(cx + a * np.sin(yaw) * 1.0, nx, 6) + side * 0.03 * hh,
            np.linspace(ey, ny - 0.02 * hh, 6),
        ],
        1,
    )
    hd.lay(_stroke(size, ridge, 0.03 * hh + 1, 0.025 * hh) * 0.4, (0.55, 0.45, 0.42), None, True)
    # the nose casts a soft shadow below its tip and its wings shade the cheek next to them
    hd.lay(
        _ell(size, (nx, ny + 0.035 * hh), (0.06 * hh, 0.018 * hh), 0.02 * hh) * 0.35,
        (0.5, 0.4, 0.38),
        None,
        multiply=True,
    )
    hd.lay(
        _ell(size, (nx + side * 0.06 * hh, ny - 0.01 * hh), (0.02 * hh, 0.035 * hh), 0.015 * hh)
        * 0.3,
        (0.55, 0.45, 0.42),
        None,
        multiply=True,
    )
    for s_ in (-1, 1):
        k = np.cos(yaw + s_ * 0.3)
        hd.lay(
            _ell(size, (nx + s_ * 0.04 * hh * k, ny), (0.018 * hh * k + 0.3, 0.011 * hh), 0.5)
            * 0.7,
            (0.25, 0.18, 0.16),
            None,
            multiply=True,
        )
    hd.lay(
        _ell(size, (nx, ny - 0.04 * hh), (0.03 * hh, 0.025 * hh), 0.02 * hh) * 0.18, (1, 1, 1), None
    )
    # mouth
    mx, _ = px(0.0, 1.08)
    my = cy + 0.32 * hh
    mw = 0.1 * hh * (0.6 + 0.4 * np.cos(yaw))
    lip = skin * np.array([0.86, 0.62, 0.62], np.float32)
    hd.lay(_ell(size, (mx, my + 0.016 * hh), (mw * 0.85, 0.03 * hh), 0.6) * 0.8, lip, None)
    hd.lay(_ell(size, (mx, my - 0.012 * hh), (mw, 0.02 * hh), 0.6) * 0.8, lip * 0.85, None)
    hd.lay(
        _stroke(
            size,
            np.array([[mx - mw, my], [mx, my + 0.004 * hh], [mx + mw, my]]),
            0.008 * hh + 1,
            0.5,
        ),
        (0.2, 0.1, 0.1),
        None,
    )
    if extras.get("beard"):
        beard = face_a * np.clip((yy - (cy + 0.1 * hh)) / (0.1 * hh), 0, 1)
        stubble = cv2.GaussianBlur(rng.random((size, size), dtype=np.float32), (0, 0), 0.8)
        beard *= np.clip((stubble - 0.3) * 3.0, 0.4, 1.0)
        hd.lay(beard * rng.uniform(0.25, 0.5), hair_tex, None, multiply=True)
    _hair(rng, hd, style, hair_tex, size, cx, cy, a, hh, xx, yy)
    _wear(rng, hd, extras, size, cx, cy, a, b, hh, xx, yy, yaw, px)
    return hd


def _hair(
    rng: np.random.Generator,
    hd: _Head,
    style: str,
    hair_tex: np.ndarray,
    size: int,
    cx: float,
    cy: float,
    a: float,
    hh: float,
    xx: np.ndarray,
    yy: np.ndarray,
) -> None:
    """Scalp hair over the cranium; fringe over the forehead does not un-claim the face."""
    if style == "bald":
        hd.lay(
            _ell(size, (cx - 0.1 * hh, cy - 0.6 * hh), (0.12 * hh, 0.08 * hh), 0.05 * hh) * 0.25,
            (1, 1, 1),
            None,
        )
        return
    grow = {"short": 0.04, "long": 0.06, "curly": 0.12, "bun": 0.04, "buzz": 0.0}[style] * hh
    cap = _ell(
        size,
        (cx, cy - 0.17 * hh),
        (0.41 * hh + grow, 0.62 * hh + grow),
        2.0 if style == "curly" else 1.0,
    ).full(size)
    line = cy - 0.47 * hh + 0.16 * hh * ((xx - cx) / a) ** 2 + rng.uniform(-0.05, 0.12) * hh
    line += 0.02 * hh * smooth_noise(rng, size, size, max(2.0, hh / 12))
    m = np.clip((line - yy) / max(1.0, 0.02 * hh) + 0.5, 0, 1) * cap
    for sx in (-1, 1):  # sideburns in front of the ears
        m = np.maximum(
            m,
            _ell(
                size, (cx + sx * 0.95 * a, cy - 0.22 * hh), (0.045 * hh, 0.15 * hh), 0.03 * hh
            ).full(size)
            * cap,
        )
    if style == "curly":
        m *= 0.9 + 0.1 * smooth_noise(rng, size, size, max(2.0, hh / 40))
    if style == "buzz":
        hd.lay(m * 0.55, hair_tex, None, multiply=True)
        return
    # a hairline and outline of many fine hairs, not a cut edge
    m = cv2.GaussianBlur(m, (0, 0), max(0.6, 0.012 * hh))
    hd.lay(m, hair_tex, None)
    if style == "bun":
        hd.lay(_ell(size, (cx, cy - 0.82 * hh), (0.17 * hh, 0.14 * hh), 1.0), hair_tex, None)


def _wear(
    rng: np.random.Generator,
    hd: _Head,
    extras: dict,
    size: int,
    cx: float,
    cy: float,
    a: float,
    b: float,
    hh: float,
    xx: np.ndarray,
    yy: np.ndarray,
    yaw: float,
    px,
) -> None:
    """PPE and glasses, owned by the face; a blanket pulled up is not."""
    if extras.get("cap"):
        col = np.array(
            [(0.35, 0.55, 0.8), (0.3, 0.6, 0.5), (0.9, 0.9, 0.92)][rng.integers(3)], np.float32
        )
        capm = _ell(size, (cx, cy - 0.22 * hh), (0.47 * hh, 0.62 * hh), 1.0).full(size)
        capm *= np.clip((cy - 0.32 * hh - yy) / 2 + 0.5, 0, 1)
        crinkle = 0.92 + 0.08 * smooth_noise(rng, size, size, max(2.0, hh / 30))
        hd.lay(capm, col * crinkle[..., None], True)
    if extras.get("mask"):
        col = np.array(
            [(0.55, 0.75, 0.9), (0.92, 0.93, 0.95), (0.45, 0.7, 0.55), (0.1, 0.1, 0.12)][
                rng.integers(4)
            ],
            np.float32,
        )
        top = cy + 0.06 * hh - 0.04 * hh * np.cos((xx - cx) / a * 1.2)
        mm = _ell(
            size, (cx + a * 0.15 * np.sin(yaw), cy + 0.12 * hh), (a * 1.05, b * 0.98), 1.0
        ).full(size)
        mm *= np.clip((yy - top) / 2 + 0.5, 0, 1)
        pleat = 1 - 0.12 * (np.sin((yy - cy) / (0.045 * hh) * np.pi) > 0.85)
        hd.lay(mm, col * pleat[..., None] * (0.85 + 0.15 * np.cos((xx - cx) / a))[..., None], True)
        for phi in (-np.pi / 2, np.pi / 2):
            ex, k = px(phi, 1.02)
            if k > 0:
                hd.lay(
                    _stroke(
                        size,
                        np.array(
                            [
                                [ex, cy - 0.02 * hh],
                                [ex - np.sign(ex - cx) * 0.05 * hh, cy + 0.2 * hh],
                            ]
                        ),
                        0.008 * hh + 1,
                    ),
                    (0.92, 0.92, 0.92),
                    True,
                )
    if extras.get("glasses"):
        col = (0.08, 0.08, 0.1) if rng.random() < 0.7 else (0.55, 0.45, 0.3)
        ey = cy - 0.08 * hh
        centres = []
        for phi in (-0.5, 0.5):
            ex, k = px(phi)
            if k > 0.2:
                rim = np.zeros((size, size), np.uint8)
                cv2.ellipse(
                    rim,
                    (int(ex), int(ey)),
                    (int(0.1 * hh * k) + 1, int(0.065 * hh) + 1),
                    0,
                    0,
                    360,
                    255,
                    max(1, int(0.012 * hh)),
                    cv2.LINE_AA,
                )
                hd.lay(rim.astype(np.float32) / 255, col, True)
                centres.append((ex, 0.1 * hh * k))
        if len(centres) == 2:
            (x1, r1), (x2, r2) = centres
            hd.lay(
                _stroke(size, np.array([[x1 + r1, ey], [x2 - r2, ey]]), 0.01 * hh + 1), col, True
            )
    if extras.get("blanket"):  # a sheet pulled up to the chin or over the mouth (not face)
        top = cy + extras["blanket"] * hh
        bl = np.clip((yy - top - 0.03 * hh * np.sin(xx / (0.2 * hh))) / 2 + 0.5, 0, 1)
        hd.lay(bl, fabric(rng, size, size, np.array((0.93, 0.93, 0.92), np.float32), 0.12), False)


def _local_poly(pts: list, cx: float, cy: float, hh: float, roll: float) -> np.ndarray:
    """Head-local points (units of face height, y down) -> canvas points, rolled like the head."""
    rot = cv2.getRotationMatrix2D((0, 0), roll, 1.0)[:, :2]
    return np.asarray(pts, np.float64) * hh @ rot.T + [cx, cy]


def _fill_local(
    canvas: Canvas,
    poly: np.ndarray,
    base: np.ndarray,
    folds: float,
    blur: float,
    regions: Sequence[SkinRegion],
) -> None:
    """Paint a fabric polygon given in canvas coordinates (clipped to the frame), as occluder."""
    x0, y0 = max(int(poly[:, 0].min()) - 2, 0), max(int(poly[:, 1].min()) - 2, 0)
    x1 = min(int(poly[:, 0].max()) + 3, canvas.width)
    y1 = min(int(poly[:, 1].max()) + 3, canvas.height)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return
    a = poly_alpha(y1 - y0, x1 - x0, [poly - [x0, y0]], blur)
    paint_sparse(canvas, x0, y0, a, fabric(canvas.rng, y1 - y0, x1 - x0, base, folds), None)
    for reg in regions:
        reg.cover(x0, y0, a)


def _body(
    canvas: Canvas,
    cx: float,
    cy: float,
    hh: float,
    roll: float,
    gown: np.ndarray,
    regions: Sequence[SkinRegion],
) -> None:
    """Gown-covered shoulders running out of the frame, with a curved neckline."""
    rng = canvas.rng
    w = rng.uniform(0.95, 1.2)
    neck = [[0.28 * np.cos(t), 0.75 + 0.12 * np.sin(t)] for t in np.linspace(np.pi, 0, 9)]
    body = [
        *neck,
        [0.8 * w, 0.95],
        [1.15 * w, 1.2],
        [1.3 * w, 1.8],
        [1.4 * w, 9],
        [-1.4 * w, 9],
        [-1.3 * w, 1.8],
        [-1.15 * w, 1.2],
        [-0.8 * w, 0.95],
    ]
    _fill_local(canvas, _local_poly(body, cx, cy, hh, roll), gown, 0.1, 1.0, regions)


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
    work = int(np.clip(height_px, 48, 160))  # larger faces are upscaled: cost, not detail
    hd = _compose(rng, fitz, work, yaw, style, extras)
    scale = height_px / work
    rgba = np.dstack([hd.rgb, hd.alpha])
    fmask = hd.face
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
    x0, y0 = int(cx - off[0] - n / 2), int(cy - off[1] - n / 2)
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
    _body(canvas, cx, cy, height_px, roll, extras["gown"], regions)
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
