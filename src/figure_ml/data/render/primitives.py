"""Drawing primitives every renderer shares: smooth noise, Bezier curves, blob outlines,
anti-aliased polygon alphas, sparse compositing, rotation and the placement :class:`Layout`.

They live apart from any one renderer so that no renderer imports another one's internals.
Randomness comes only from the ``rng`` passed in, so scenes stay bit-reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Low-frequency noise in about [-1, 1] with features ``cell`` px wide (cheap: upsampled)."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    small = rng.random((gh, gw), dtype=np.float32) * 2.0 - 1.0
    return cv2.resize(small, (max(w, 1), max(h, 1)), interpolation=cv2.INTER_CUBIC)


def bezier(points: np.ndarray, n: int = 32) -> np.ndarray:
    """Points of the Bezier curve with control ``points`` (k, 2), sampled ``n`` times."""
    t = np.linspace(0.0, 1.0, n)[:, None, None]
    cur = np.broadcast_to(np.asarray(points, np.float64), (n, *np.shape(points))).copy()
    while cur.shape[1] > 1:  # de Casteljau, vectorised over the samples
        cur = cur[:, :-1] * (1 - t) + cur[:, 1:] * t
    return cur[:, 0]


def blob_polygon(
    rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float, rough: float, n: int = 40
) -> np.ndarray:
    """An irregular closed outline (n, 2) around ``(cx, cy)``: an ellipse with radial noise."""
    ang = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    k = np.arange(1, 6)
    amp = rng.normal(0.0, rough, 5) / k
    ph = rng.uniform(0, 2 * np.pi, 5)
    rad = 1.0 + (amp[None, :] * np.sin(k[None, :] * ang[:, None] + ph[None, :])).sum(1)
    rad = np.clip(rad, 0.35, 1.8)
    return np.stack([cx + rx * rad * np.cos(ang), cy + ry * rad * np.sin(ang)], 1)


def paint_sparse(
    canvas: Canvas,
    x0: int,
    y0: int,
    alpha: np.ndarray,
    color: np.ndarray | tuple[float, float, float],
    owner=None,
    tile: int = 96,
    **kw,
) -> None:
    """:meth:`Canvas.paint` restricted to the tiles where ``alpha`` is non-zero.

    A diagonal limb or a sleeve fills a third of its bounding box; compositing only the tiles it
    touches gives the same pixels (paint is per-pixel) at a fraction of the cost.
    """
    h, w = alpha.shape
    if h * w < 4 * tile * tile:
        canvas.paint(x0, y0, alpha, color, owner, **kw)
        return
    col = np.asarray(color, np.float32)
    gh, gw = -(-h // tile), -(-w // tile)
    pad = np.zeros((gh * tile, gw * tile), np.float32)
    pad[:h, :w] = alpha
    # below 1/512 a tile cannot change an 8-bit pixel: soft shadows fade out to that
    used = pad.reshape(gh, tile, gw, tile).max(axis=(1, 3)) > 1.0 / 512.0
    for ty, tx in zip(*np.nonzero(used), strict=True):
        ys = slice(ty * tile, min((ty + 1) * tile, h))
        xs = slice(tx * tile, min((tx + 1) * tile, w))
        c = col[ys, xs] if col.ndim == 3 else col
        canvas.paint(x0 + xs.start, y0 + ys.start, alpha[ys, xs], c, owner, **kw)


def soft_blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur that stays cheap for large ``sigma`` (blur at a reduced size, upsample)."""
    if sigma <= 3.0:
        return cv2.GaussianBlur(a, (0, 0), max(sigma, 0.1))
    f = sigma / 2.0
    h, w = a.shape[:2]
    small = cv2.resize(a, (max(1, int(w / f)), max(1, int(h / f))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 2.0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def poly_alpha(h: int, w: int, polys: list[np.ndarray], blur: float = 0.8) -> np.ndarray:
    """Anti-aliased float alpha of filled polygons on an ``h x w`` patch."""
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.round(p * 4).astype(np.int32) for p in polys], 255, cv2.LINE_AA, shift=2)
    a = m.astype(np.float32) / 255.0
    return soft_blur(a, blur) if blur > 0 else a


def rotate_patch(img: np.ndarray, deg: float, border: int = cv2.BORDER_CONSTANT) -> np.ndarray:
    """``img`` rotated by ``deg`` about its centre on a canvas large enough to hold it."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * s + w * c) + 2, int(h * c + w * s) + 2
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=border)


@dataclass
class Layout:
    """Rectangles already used by PHI and findings, so new ones rarely pile on top of them."""

    width: int
    height: int
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)

    def overlap(self, box: tuple[float, float, float, float]) -> float:
        """Largest share of ``box`` covered by one reserved box."""
        x0, y0, x1, y1 = box
        area = max((x1 - x0) * (y1 - y0), 1e-6)
        best = 0.0
        for a0, b0, a1, b1 in self.boxes:
            iw, ih = min(x1, a1) - max(x0, a0), min(y1, b1) - max(y0, b0)
            if iw > 0 and ih > 0:
                best = max(best, iw * ih / area, iw * ih / max((a1 - a0) * (b1 - b0), 1e-6))
        return best

    def place(
        self, region, rng: np.random.Generator, w: int, h: int, spread: float, tries: int
    ) -> tuple[tuple[float, float, float, float] | None, float]:
        """A ``w x h`` box centred on a point of ``region`` (``region.sample_point(rng, spread)``)
        that overlaps reserved boxes least, over up to ``tries`` draws (stops early below 5%).
        Returns the box (None when the region gave no point) and its overlap."""
        box, best = None, 1.0
        for _ in range(tries):
            p = region.sample_point(rng, spread)
            if p is None:
                break
            cand = (p[0] - w / 2, p[1] - h / 2, p[0] + w / 2, p[1] + h / 2)
            ov = self.overlap(cand)
            if ov < best:
                box, best = cand, ov
            if ov < 0.05:
                break
        return box, best

    def reserve(self, box: tuple[float, float, float, float]) -> None:
        self.boxes.append(tuple(float(v) for v in box))  # type: ignore[arg-type]
