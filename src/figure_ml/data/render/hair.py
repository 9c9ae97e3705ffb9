"""Head hair: colour, strand texture and the styles (short, long, curly, bald, bun, buzz).

Scalp hair lies over the cranium and is not face (DESIGN §4: a face box runs hairline to chin):
scalp hair takes the pixels it covers away from the face, so the box starts at the hairline.
"""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.head_patch import HeadLayers, ellipse
from figure_ml.data.render.primitives import smooth_noise

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


def _strands(
    rng: np.random.Generator, size: int, cx: float, cy: float, hh: float, style: str
) -> tuple[np.ndarray, np.ndarray]:
    """Light and dark strand alphas ``(size, size)``: locks from the crown over the skull.

    Each lock is a quadratic curve from near the crown to the hair outline, bulging outward like
    hair lying on a round skull; curly hair gets short spiral arcs instead.
    """
    n = int(np.clip(hh * 4, 150, 640))
    if style == "curly":
        rr = np.sqrt(rng.uniform(0, 1, n))
        th = rng.uniform(0, 2 * np.pi, n)
        c = np.stack(
            [cx + 0.5 * hh * rr * np.cos(th), cy - 0.17 * hh + 0.72 * hh * rr * np.sin(th)], 1
        )
        r = rng.uniform(0.015, 0.04, n) * hh
        arc = rng.uniform(0, 2 * np.pi, n)[:, None] + np.linspace(0, 4.0, 7)[None, :]
        pts = c[:, None] + r[:, None, None] * np.stack([np.cos(arc), np.sin(arc)], 2)
    else:
        centre = np.array([cx, cy - 0.17 * hh])
        crown = centre + np.array([rng.normal(0, 0.06 * hh), -0.58 * hh])
        span = 0.9 if style == "long" else 0.3
        th = rng.uniform(-np.pi - span, span, n)
        below = np.clip(np.sin(th), 0, None)  # long hair falls past the ears
        grow = rng.uniform(0.95, 1.1, n) * (1.0 + (0.9 if style == "long" else 0.0) * below)
        end = centre + np.stack([0.45 * hh * np.cos(th), 0.66 * hh * np.sin(th) * grow], 1)
        ctrl = centre + ((crown + end) / 2 - centre) * 1.3
        t = rng.uniform(0.0, 0.45, n)[:, None] + np.linspace(0, 1, 8)[None, :]
        t = np.clip(t, 0, 1)[..., None]
        pts = (1 - t) ** 2 * crown + 2 * (1 - t) * t * ctrl[:, None] + t**2 * end[:, None]
        if style == "long":  # the hair behind the head hangs straight down to the shoulders
            m = n // 2
            x = cx + rng.uniform(-0.6, 0.6, m) * hh
            y0 = cy - rng.uniform(0.0, 0.4, m) * hh
            t = np.linspace(0, 1, 8)[None, :]
            hang = np.stack(
                [x[:, None] + 0.08 * hh * np.sign(x - cx)[:, None] * t, y0[:, None] + 1.2 * hh * t],
                2,
            )
            pts = np.concatenate([pts, hang])
            n += m
    lines = list(np.round(pts * 4).astype(np.int32))
    light = np.zeros((size, size), np.uint8)
    dark = np.zeros((size, size), np.uint8)
    half = n // 2
    cv2.polylines(light, lines[:half], False, 255, 1, cv2.LINE_AA, shift=2)
    cv2.polylines(dark, lines[half:], False, 255, 1, cv2.LINE_AA, shift=2)
    return light.astype(np.float32) / 255.0, dark.astype(np.float32) / 255.0


def hair_look(
    rng: np.random.Generator,
    fitz: int,
    size: int,
    yy: np.ndarray,
    cx: float,
    cy: float,
    hh: float,
    style: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hair colour (darker on darker skin, mostly), its ``(size, size, 3)`` texture of strands
    and the strands' alpha (for a hair outline made of hairs, not a cut edge)."""
    hair = np.array(HAIR_RGB[rng.integers(len(HAIR_RGB))], np.float32)
    if fitz >= 4 and rng.random() < 0.7:
        hair = np.array(HAIR_RGB[rng.integers(2)], np.float32)
    # broad streaks (noise stretched vertically), single strands and a soft sheen band
    streak = cv2.resize(
        rng.random((max(2, size // 12), max(2, size // 2)), dtype=np.float32),
        (size, size),
        interpolation=cv2.INTER_LINEAR,
    )
    light, dark = _strands(rng, size, cx, cy, hh, style)
    sheen = np.exp(-(((yy - cy + 0.55 * hh) / (0.12 * hh)) ** 2))
    # dark hair shows strands by their sheen, fair hair by the shadows between them
    lift = 0.25 + 0.5 * float(hair.mean() < 0.3)
    tone = 0.8 + 0.2 * streak + 0.35 * sheen + lift * light - 0.35 * dark
    hair_tex = hair * tone[..., None]
    if hair.mean() < 0.3:  # a little grey-blue specular on black hair, or it reads as a hole
        hair_tex += (0.05 * light + 0.06 * sheen)[..., None]
    return hair, hair_tex, np.maximum(light, dark)


def back_hair(
    hd: HeadLayers, style: str, hair_tex: np.ndarray, cx: float, cy: float, hh: float
) -> None:
    """Long hair behind the head, falling to the shoulders (drawn before the head itself)."""
    if style == "long":
        hd.lay(
            ellipse(hd.size, (cx, cy + 0.25 * hh), (0.6 * hh, 0.95 * hh), 2.0),
            hair_tex * 0.8,
            False,
        )


def scalp_hair(
    rng: np.random.Generator,
    hd: HeadLayers,
    style: str,
    hair_tex: np.ndarray,
    strands: np.ndarray,
    size: int,
    cx: float,
    cy: float,
    a: float,
    hh: float,
    xx: np.ndarray,
    yy: np.ndarray,
) -> None:
    """Scalp hair over the cranium; it un-claims the face where it covers it (hair is not face)."""
    if style == "bald":
        hd.lay(
            ellipse(size, (cx - 0.1 * hh, cy - 0.6 * hh), (0.12 * hh, 0.08 * hh), 0.05 * hh) * 0.25,
            (1, 1, 1),
            None,
        )
        return
    grow = {"short": 0.04, "long": 0.06, "curly": 0.12, "bun": 0.04, "buzz": 0.0}[style] * hh
    cap = ellipse(
        size,
        (cx, cy - 0.17 * hh),
        (0.41 * hh + grow, 0.62 * hh + grow),
        2.0 if style == "curly" else 1.0,
    ).full(size)
    line = cy - 0.47 * hh + 0.16 * hh * ((xx - cx) / a) ** 2 + rng.uniform(-0.05, 0.12) * hh
    line = line + 0.02 * hh * smooth_noise(rng, size, size, max(2.0, hh / 12))
    m = np.clip((line - yy) / max(1.0, 0.02 * hh) + 0.5, 0, 1) * cap
    for sx in (-1, 1):  # sideburns in front of the ears
        m = np.maximum(
            m,
            ellipse(
                size, (cx + sx * 0.95 * a, cy - 0.22 * hh), (0.045 * hh, 0.15 * hh), 0.03 * hh
            ).full(size)
            * cap,
        )
    if style == "curly":
        m *= 0.9 + 0.1 * smooth_noise(rng, size, size, max(2.0, hh / 40))
    if style == "buzz":
        hd.lay(m * 0.55, hair_tex, None, multiply=True)
        hd.hair = m
        hd.unclaim(m)
        return
    # a hairline and outline of many fine hairs, not a cut edge: strands that stray past it
    m = cv2.GaussianBlur(m, (0, 0), max(0.6, 0.012 * hh))
    halo = ellipse(size, (cx, cy - 0.17 * hh), (0.44 * hh + grow, 0.66 * hh + grow), 1.0).full(size)
    m = np.maximum(m, strands * halo * np.clip((cy - 0.35 * hh - yy) / (0.05 * hh), 0, 1) * 0.8)
    hd.lay(m, hair_tex, False)
    hd.hair = m
    if style == "bun":
        hd.lay(ellipse(size, (cx, cy - 0.82 * hh), (0.17 * hh, 0.14 * hh), 1.0), hair_tex, False)
