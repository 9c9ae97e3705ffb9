"""What a patient wears on the head: a surgical cap (not face: it hides the hairline like hair
does), a mask and glasses (face where they lie on the face oval; the mask's lower edge below the
chin is clipped off by :meth:`HeadLayers.finish_face`), a blanket (not face)."""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.cloth import fabric
from figure_ml.data.render.head_patch import HeadLayers, ellipse, stroke
from figure_ml.data.render.primitives import smooth_noise


def headwear(
    rng: np.random.Generator,
    hd: HeadLayers,
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
    light: float = 0.0,
) -> None:
    """PPE and glasses: mask and glasses are face (within the face oval), a cap or blanket not."""
    if extras.get("cap"):
        col = np.array(
            [(0.35, 0.55, 0.8), (0.3, 0.6, 0.5), (0.9, 0.9, 0.92)][rng.integers(3)], np.float32
        )
        capm = ellipse(size, (cx, cy - 0.22 * hh), (0.47 * hh, 0.62 * hh), 1.0).full(size)
        capm *= np.clip((cy - 0.32 * hh - yy) / 2 + 0.5, 0, 1)
        crinkle = 0.92 + 0.08 * smooth_noise(rng, size, size, max(2.0, hh / 30))
        hd.lay(capm, col * crinkle[..., None], False)
    if extras.get("mask"):
        col = np.array(
            [(0.55, 0.75, 0.9), (0.92, 0.93, 0.95), (0.45, 0.7, 0.55), (0.1, 0.1, 0.12)][
                rng.integers(4)
            ],
            np.float32,
        )
        # the top edge rides over the nose bridge and drops toward the cheeks
        u = (xx - cx - a * 0.15 * np.sin(yaw)) / a  # -1..1 across the mask
        top = cy + 0.03 * hh + 0.06 * hh * np.clip(u * u, 0, 1.5)
        mm = ellipse(
            size, (cx + a * 0.15 * np.sin(yaw), cy + 0.12 * hh), (a * 1.05, b * 0.98), 1.0
        ).full(size)
        mm *= np.clip((yy - top) / 2 + 0.5, 0, 1)
        hd.lay(mm, col * _mask_shading(u, yy - top, hh, light)[..., None], True)
        for phi in (-np.pi / 2, np.pi / 2):
            ex, k = px(phi, 1.02)
            if k > 0:
                hd.lay(
                    stroke(
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
            hd.lay(stroke(size, np.array([[x1 + r1, ey], [x2 - r2, ey]]), 0.01 * hh + 1), col, True)
    if extras.get("blanket"):  # a sheet pulled up to the chin or over the mouth (not face)
        top = cy + extras["blanket"] * hh
        bl = np.clip((yy - top - 0.03 * hh * np.sin(xx / (0.2 * hh))) / 2 + 0.5, 0, 1)
        hd.lay(bl, fabric(rng, size, size, np.array((0.93, 0.93, 0.92), np.float32), 0.12), False)


def _mask_shading(u: np.ndarray, depth: np.ndarray, hh: float, light: float) -> np.ndarray:
    """Brightness of a pleated surgical mask: ``u`` runs -1..1 across it, ``depth`` is px below
    its top edge. A flat tint with hairline pleats read as a sticker; a real mask is a cloth
    cylinder lit by the same key light as the face (``light``, as in :func:`head.compose_head`),
    folded into three pleats whose lower lip casts a thin shadow, with a stitched hem along its
    top and a soft shadow under the chin."""
    nx = np.clip(u, -0.98, 0.98)
    nz = np.sqrt(1.0 - nx * nx)
    lit = 0.62 + 0.45 * np.clip(nx * np.sin(light) * 0.7 + nz * 0.72, 0.0, 1.0)
    period = 0.085 * hh
    # pleats start below the nose wire's hem and bow down with the top edge (depth follows it)
    t = (depth - 0.07 * hh) / period
    phase = t - np.floor(t)
    pleat = np.where(
        (t > 0) & (t < 3), 0.93 + 0.12 * phase - 0.18 * np.exp(-(((1 - phase) / 0.08) ** 2)), 1.0
    )
    hem = 1.0 - 0.1 * np.exp(-(((depth - 0.035 * hh) / (0.012 * hh + 0.5)) ** 2))
    chin = 1.0 - 0.25 * np.clip((depth - 0.42 * hh) / (0.12 * hh), 0.0, 1.0)
    return (lit * pleat * hem * chin).astype(np.float32)
