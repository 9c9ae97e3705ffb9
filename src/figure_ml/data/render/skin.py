"""Skin: Fitzpatrick palettes, skin colour and texture, body hair, and shaded skin regions.

A :class:`SkinRegion` is a painted patch of skin that findings, tattoos, bands and marker
writing are later placed on; occluders painted over it are recorded with :meth:`SkinRegion.cover`.
Everything is drawn on local patches and composited with :meth:`Canvas.paint`; randomness comes
only from ``canvas.rng`` so scenes are bit-reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.primitives import paint_sparse, smooth_noise, soft_blur

#: Mean sRGB colour per Fitzpatrick type (1 = very fair ... 6 = deeply pigmented).
FITZPATRICK_RGB: dict[int, tuple[float, float, float]] = {
    1: (0.95, 0.80, 0.72),
    2: (0.89, 0.71, 0.59),
    3: (0.80, 0.60, 0.46),
    4: (0.66, 0.46, 0.32),
    5: (0.48, 0.32, 0.22),
    6: (0.31, 0.20, 0.14),
}


# ---------------------------------------------------------------------------- colour and texture
def skin_color(rng: np.random.Generator, fitz: int) -> np.ndarray:
    """A skin colour of Fitzpatrick type ``fitz`` with natural variation (red/yellow undertone)."""
    base = np.array(FITZPATRICK_RGB[fitz], np.float32)
    base *= rng.uniform(0.93, 1.06)
    # + redder / - more olive, relative to the colour: an absolute shift of the same size
    # turned deeply pigmented skin grey-green (red 0.31 -> 0.23 at 3 sigma)
    under = float(np.clip(rng.normal(0.0, 0.03), -0.06, 0.06))
    base *= 1.0 + np.array([under, -0.3 * under, -0.6 * under], np.float32)
    return np.clip(base, 0.05, 1.0)


def skin_texture(
    rng: np.random.Generator, h: int, w: int, color: np.ndarray, scale: float, px: float = 1.0
) -> np.ndarray:
    """``(h, w, 3)`` skin colour patch: blotchy redness, mottling and pores at ``scale`` px/mm.

    ``px`` is how many output pixels one patch pixel will cover (2: a half-size patch that the
    caller upsamples); feature sizes are kept in output pixels.
    """
    mott = smooth_noise(rng, h, w, max(8.0, 18 * scale) / px)
    blotch = smooth_noise(rng, h, w, max(20.0, 60 * scale) / px)
    # pores and fine grain: half-resolution noise upsampled reads as skin, not sensor noise
    # (uniform noise with the spread of N(0, 1): as fine a grain, several times cheaper to draw)
    if px >= 2:
        fine = rng.random((h, w), dtype=np.float32)
    else:
        ph, pw = max(2, h // 2), max(2, w // 2)
        fine = cv2.resize(rng.random((ph, pw), dtype=np.float32), (w, h))
    fine -= 0.5
    fine *= 3.46
    lum = 1.0 + 0.035 * mott + 0.025 * fine
    red = 0.035 * np.clip(blotch, 0, None)
    tex = np.empty((h, w, 3), np.float32)
    # channel by channel: contiguous 2-D passes are several times faster than broadcasting
    for k, redden in enumerate((1.0, -0.5, -0.4)):
        ch = tex[..., k]
        np.multiply(lum, np.float32(color[k]), out=ch)
        ch += np.float32(redden) * red
    return tex


def add_hair(
    rng: np.random.Generator,
    color: np.ndarray,
    alpha: np.ndarray,
    direction: float,
    density: float,
    hair_rgb: np.ndarray,
) -> None:
    """Draw short fine hairs into ``color`` (in place) where ``alpha`` is skin."""
    h, w = alpha.shape
    n = int(density * h * w / 1200.0)
    if n <= 0:
        return
    lines = np.zeros((h, w), np.uint8)
    # hair grows in patches: keep the candidates where a smooth density field is high
    xs, ys = rng.uniform(0, w, 3 * n), rng.uniform(0, h, 3 * n)
    field = smooth_noise(rng, 16, 16, 4)
    keep = field[(ys / h * 15.99).astype(int), (xs / w * 15.99).astype(int)] > 0.1
    xs, ys = xs[keep][:n], ys[keep][:n]
    n = len(xs)
    ang = direction + rng.normal(0, 0.3, n)
    ln = rng.uniform(3, 8, n)
    pts = np.stack([xs, ys, xs + ln * np.cos(ang), ys + ln * np.sin(ang)], 1).astype(np.int32)
    cv2.polylines(lines, list(pts.reshape(-1, 2, 2)), False, 80, 1, cv2.LINE_AA)
    # hairs cover a few percent of the patch: darken only those pixels
    ys, xs = np.nonzero(lines)
    a = (lines[ys, xs].astype(np.float32) / 255.0 * alpha[ys, xs])[:, None]
    color[ys, xs] *= 1.0 - a * (1.0 - hair_rgb)


# ---------------------------------------------------------------------------- regions
@dataclass
class SkinRegion:
    """A painted skin area: its alpha at ``(x0, y0)``, tone, and the geometry renderers need."""

    kind: str
    x0: int
    y0: int
    alpha: np.ndarray
    fitz: int
    color: np.ndarray
    scale: float  # rough pixels per millimetre of this body part (sizes of findings, tattoos)
    #: (x, y, ux, uy, radius): a wrist's centre, unit vector along the forearm, half width
    wrist: tuple[float, float, float, float, float] | None = None

    @property
    def area(self) -> float:
        return float(self.alpha.sum())

    def sample_point(
        self, rng: np.random.Generator, margin: float = 0.0
    ) -> tuple[float, float] | None:
        """A random canvas point well inside the region (``margin`` px from its edge), or None."""
        h, w = self.alpha.shape
        for _ in range(60):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            ok = True
            for dx, dy in ((0, 0), (margin, 0), (-margin, 0), (0, margin), (0, -margin)):
                xi, yi = int(x + dx), int(y + dy)
                if not (0 <= xi < w and 0 <= yi < h) or self.alpha[yi, xi] < 0.95:
                    ok = False
                    break
            if ok:
                return x + self.x0, y + self.y0
        return None

    def cover(self, x0: int, y0: int, a: np.ndarray) -> None:
        """Record that an opaque patch ``a`` at canvas ``(x0, y0)`` now hides part of this skin."""
        h, w = a.shape
        ax0, ay0 = max(x0, self.x0), max(y0, self.y0)
        ax1 = min(x0 + w, self.x0 + self.alpha.shape[1])
        ay1 = min(y0 + h, self.y0 + self.alpha.shape[0])
        if ax1 > ax0 and ay1 > ay0:
            self.alpha[ay0 - self.y0 : ay1 - self.y0, ax0 - self.x0 : ax1 - self.x0] *= (
                1.0 - a[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0]
            )
        if self.wrist is not None:
            wx, wy = int(self.wrist[0]) - self.x0, int(self.wrist[1]) - self.y0
            inside = 0 <= wy < self.alpha.shape[0] and 0 <= wx < self.alpha.shape[1]
            if not inside or self.alpha[wy, wx] < 0.5:
                self.wrist = None  # a band there would float on whatever now covers the wrist

    def alpha_at(self, x0: int, y0: int, h: int, w: int) -> np.ndarray:
        """This region's alpha under a ``h x w`` patch at canvas ``(x0, y0)`` (0 outside)."""
        out = np.zeros((h, w), np.float32)
        ax0, ay0 = max(x0, self.x0), max(y0, self.y0)
        ax1 = min(x0 + w, self.x0 + self.alpha.shape[1])
        ay1 = min(y0 + h, self.y0 + self.alpha.shape[0])
        if ax1 > ax0 and ay1 > ay0:
            out[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] = self.alpha[
                ay0 - self.y0 : ay1 - self.y0, ax0 - self.x0 : ax1 - self.x0
            ]
        return out


def paint_skin_mask(
    canvas: Canvas,
    kind: str,
    x0: int,
    y0: int,
    mask: np.ndarray,
    fitz: int,
    scale: float,
    light: float,
    radius: float,
    hairy: float = 0.0,
    hair_dir: float = 0.0,
) -> SkinRegion:
    """Texture, shade and paint a skin shape given as a uint8 ``mask`` patch; return its region.

    Shading uses the distance to the outline, so every limb reads as a rounded cylinder with darker
    edges; ``light`` (radians) tilts a soft key light across the patch.
    """
    rng = canvas.rng
    h, w = mask.shape
    color = skin_color(rng, fitz)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 0.9)
    # colour and shading vary slowly (mottling, blotches, the rounded falloff; the pore grain
    # was always half-resolution noise), so they are built at half size and upsampled once:
    # a quarter of the work, the same look. Edges stay sharp: alpha is full resolution.
    hh, hw = max(2, h // 2), max(2, w // 2)
    half = cv2.resize(mask, (hw, hh), interpolation=cv2.INTER_AREA)
    dist = cv2.distanceTransform((half > 127).astype(np.uint8), cv2.DIST_L2, 3)
    rnd = np.sqrt(np.clip(dist * (2.0 / max(radius * 0.75, 1.0)), 0.0, 1.0))
    gx = (np.arange(hw, dtype=np.float32) / hw - 0.5) * np.float32(np.cos(light))
    gy = (np.arange(hh, dtype=np.float32) / hh - 0.5) * np.float32(np.sin(light))
    shade = (0.58 + 0.42 * rnd) * (1.0 + 0.16 * (gy[:, None] + gx[None, :]))
    tex_half = skin_texture(rng, hh, hw, color, scale, px=2.0)
    tex_half *= shade[..., None]
    tex = cv2.resize(tex_half, (w, h), interpolation=cv2.INTER_LINEAR)
    if hairy > 0:  # hairs are fine lines: drawn at full resolution on the shaded skin
        add_hair(rng, tex, alpha, hair_dir, hairy, color * 0.35)
    # a faint contact shadow on what lies beneath makes the part sit on the surface
    if kind != "closeup":
        sigma = max(2.0, radius * 0.25)
        pad = int(2 * sigma) + 1  # room for the penumbra, or the patch edge shows as a line
        sh = soft_blur(cv2.copyMakeBorder(alpha, pad, pad, pad, pad, cv2.BORDER_CONSTANT), sigma)
        off = int(max(2, radius * 0.12))
        paint_sparse(
            canvas,
            x0 + off - pad,
            y0 + off - pad,
            sh * 0.35,
            (0.2, 0.2, 0.24),
            mode="multiply",
            occlude=False,
        )
    paint_sparse(canvas, x0, y0, alpha, tex, None)
    return SkinRegion(kind, x0, y0, alpha, fitz, color, scale)
