"""Eyes, brows, nose, mouth and beard of a head, placed on the yawed head ellipsoid."""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.head_geom import HeadGeom
from figure_ml.data.render.head_patch import HeadLayers, ellipse, polygon, stroke

IRIS_RGB = ((0.25, 0.15, 0.08), (0.12, 0.08, 0.05), (0.3, 0.45, 0.6), (0.35, 0.45, 0.3))


def eyes(
    rng: np.random.Generator,
    hd: HeadLayers,
    g: HeadGeom,
    fitz: int,
    hair: np.ndarray,
    closed: bool,
    skin: np.ndarray,
) -> None:
    """Sockets, lids, lashes, iris, pupil and glint of both eyes and the brows above them (the
    far eye hides as the head turns).

    In a photo the eye region is the darkest part of a face on every skin tone (orbit shadow,
    lash line, brows), and real-photo face detectors key on it: the brows are at least as dark
    as half the skin's brightness even under fair or grey hair, so dark-skinned faces keep that
    contrast too.
    """
    size, hh, yaw = g.size, g.hh, g.yaw
    ey = g.cy - 0.08 * hh
    iris = IRIS_RGB[rng.integers(len(IRIS_RGB))] if fitz <= 3 else IRIS_RGB[rng.integers(2)]
    # the white of an eye sits in the shadow of lids and lashes: in a photo it is a dull grey
    # only a little brighter than fair skin, never a white disc on dark skin
    sclera = 0.5 * np.array((0.84, 0.8, 0.76), np.float32) + 0.5 * np.asarray(skin, np.float32)
    brow_rgb = np.minimum(np.asarray(hair, np.float32) * 0.7, np.asarray(skin, np.float32) * 0.45)
    for phi in (-0.5, 0.5):
        ex, k = g.px(phi)
        if k < 0.2:
            continue
        ew, eh = 0.075 * hh * k, 0.03 * hh
        hd.lay(
            ellipse(size, (ex, ey - 0.3 * eh), (ew * 1.6, eh * 2.6), 0.05 * hh) * 0.75,
            (0.4, 0.3, 0.3),
            None,
            multiply=True,
        )  # eye socket shadow, deepest under the brow ridge
        lid = np.stack(
            [
                np.linspace(ex - ew, ex + ew, 9),
                ey - eh * np.sin(np.linspace(0, np.pi, 9)) * (0.2 if closed else 1),
            ],
            1,
        )
        if not closed:
            hd.lay(ellipse(size, (ex, ey), (ew, eh), 0.5), sclera, None)
            ix = ex + 0.3 * ew * np.sin(yaw)
            hd.lay(
                ellipse(size, (ix, ey), (0.031 * hh * k, 0.031 * hh), 0.4)
                * ellipse(size, (ex, ey), (ew, eh), 0.3),
                iris,
                None,
            )
            hd.lay(
                ellipse(size, (ix, ey), (0.012 * hh, 0.012 * hh), 0.3)
                * ellipse(size, (ex, ey), (ew, eh), 0.3),
                (0.02, 0.02, 0.02),
                None,
            )
            glint = ellipse(size, (ix + 0.01 * hh, ey - 0.01 * hh), (0.005 * hh, 0.005 * hh), 0.3)
            hd.lay(glint * 0.8, (1, 1, 1), None)
        # the upper lid's lash line, thick and dark; a fainter lower lid
        hd.lay(stroke(size, lid, 0.016 * hh + 0.7, 0.5), (0.06, 0.04, 0.04), None)
        if not closed:
            low = np.stack([lid[:, 0], 2 * ey - lid[:, 1] * 0.6 - ey * 0.4], 1)
            hd.lay(stroke(size, low, 0.006 * hh + 0.4, 0.5) * 0.5, (0.3, 0.2, 0.18), None)
        inner = -np.sign(np.sin(phi + yaw)) if abs(np.sin(phi + yaw)) > 1e-6 else 0.0
        u = np.linspace(-1.0, 1.0, 9)
        brow = np.stack(
            [ex + 1.35 * ew * u, ey - 0.095 * hh - 0.022 * hh * np.sin((u + 1) * np.pi / 2.2)], 1
        )
        # a brow is thicker at its inner head than at its tail: two strokes
        hd.lay(stroke(size, brow, 0.024 * hh + 0.8, 0.3 + 0.01 * hh) * 0.85, brow_rgb, None)
        head_half = brow[(u * inner) >= 0] if inner else brow
        hd.lay(stroke(size, head_half, 0.036 * hh + 0.8, 0.4 + 0.01 * hh) * 0.6, brow_rgb, None)


def nose(hd: HeadLayers, g: HeadGeom) -> None:
    """Nose: shadow on the side away from the light, nostrils, tip highlight."""
    size, hh, yaw, cx, cy, a = g.size, g.hh, g.yaw, g.cx, g.cy, g.a
    ey = cy - 0.08 * hh
    nx, _ = g.px(0.0, 1.25)
    ny = cy + 0.16 * hh
    side = -1 if np.sin(g.light) > 0 else 1
    ridge = np.stack(
        [
            np.linspace(cx + a * np.sin(yaw) * 1.0, nx, 6) + side * 0.03 * hh,
            np.linspace(ey, ny - 0.02 * hh, 6),
        ],
        1,
    )
    hd.lay(stroke(size, ridge, 0.035 * hh + 1, 0.025 * hh) * 0.6, (0.5, 0.4, 0.38), None, True)
    # the nose casts a soft shadow below its tip and its wings shade the cheek next to them
    hd.lay(
        ellipse(size, (nx, ny + 0.035 * hh), (0.06 * hh, 0.018 * hh), 0.02 * hh) * 0.35,
        (0.5, 0.4, 0.38),
        None,
        multiply=True,
    )
    hd.lay(
        ellipse(size, (nx + side * 0.06 * hh, ny - 0.01 * hh), (0.02 * hh, 0.035 * hh), 0.015 * hh)
        * 0.3,
        (0.55, 0.45, 0.42),
        None,
        multiply=True,
    )
    for s_ in (-1, 1):
        k = np.cos(yaw + s_ * 0.3)
        hd.lay(
            ellipse(size, (nx + s_ * 0.04 * hh * k, ny), (0.018 * hh * k + 0.3, 0.011 * hh), 0.5)
            * 0.9,
            (0.15, 0.1, 0.1),
            None,
            multiply=True,
        )
    hd.lay(
        ellipse(size, (nx, ny - 0.04 * hh), (0.03 * hh, 0.025 * hh), 0.02 * hh) * 0.18,
        (1, 1, 1),
        None,
    )


def mouth(hd: HeadLayers, g: HeadGeom, skin: np.ndarray) -> None:
    """Full lips: an upper lip with a Cupid's bow, a rounder lower lip with a highlight and the
    shadow it casts on the chin, and the dark line between them."""
    size, hh, yaw = g.size, g.hh, g.yaw
    mx, _ = g.px(0.0, 1.08)
    my = g.cy + 0.28 * hh
    mw = 0.13 * hh * (0.6 + 0.4 * np.cos(yaw))
    lip = skin * np.array([0.86, 0.56, 0.58], np.float32)
    u = np.linspace(-1.0, 1.0, 17)
    x = mx + u * mw
    bow = (1 - u**2) ** 0.7 * (1 - 0.35 * np.exp(-((u / 0.18) ** 2)))
    upper = np.stack([x, my - 0.045 * hh * bow], 1)
    upper = np.concatenate([upper, [[mx + mw, my], [mx - mw, my]]])
    lower_edge = my + 0.062 * hh * (1 - u**2) ** 0.55
    lower = np.concatenate([np.stack([x * 0.92 + mx * 0.08, lower_edge], 1)[::-1], [[mx - mw, my]]])
    hd.lay(
        ellipse(size, (mx, my + 0.085 * hh), (mw * 0.6, 0.02 * hh), 0.015 * hh) * 0.3,
        (0.55, 0.45, 0.42),
        None,
        multiply=True,
    )  # the lower lip's shadow on the chin
    hd.lay(polygon(lower, 0.7) * 0.85, lip, None)
    hd.lay(polygon(upper, 0.6) * 0.85, lip * 0.82, None)
    hd.lay(
        ellipse(size, (mx, my + 0.028 * hh), (mw * 0.35, 0.011 * hh), 0.012 * hh) * 0.3,
        (1, 1, 1),
        None,
    )  # moist highlight on the lower lip
    hd.lay(
        stroke(
            size,
            np.array([[mx - mw, my], [mx, my + 0.004 * hh], [mx + mw, my]]),
            0.008 * hh + 1,
            0.5,
        ),
        (0.2, 0.1, 0.1),
        None,
    )


def beard(
    rng: np.random.Generator, hd: HeadLayers, g: HeadGeom, face_a: np.ndarray, hair_tex: np.ndarray
) -> None:
    """Stubble or a short beard over the lower face."""
    size, hh, cy = g.size, g.hh, g.cy
    bd = face_a * np.clip((g.yy - (cy + 0.1 * hh)) / (0.1 * hh), 0, 1)
    stubble = cv2.GaussianBlur(rng.random((size, size), dtype=np.float32), (0, 0), 0.8)
    bd *= np.clip((stubble - 0.3) * 3.0, 0.4, 1.0)
    hd.lay(bd * rng.uniform(0.25, 0.5), hair_tex, None, multiply=True)
