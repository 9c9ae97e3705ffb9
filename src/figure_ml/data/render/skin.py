"""Skin: Fitzpatrick palettes, textured and shaded skin regions (limbs, hands, torso, close-ups).

Also holds the small drawing primitives every renderer shares (smooth noise, Bezier curves, blob
polygons, the placement :class:`Layout`), so that no renderer imports another one's internals.
Everything is drawn on local patches and composited with :meth:`Canvas.paint`; randomness comes
only from ``canvas.rng`` so scenes are bit-reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas

#: Mean sRGB colour per Fitzpatrick type (1 = very fair ... 6 = deeply pigmented).
FITZPATRICK_RGB: dict[int, tuple[float, float, float]] = {
    1: (0.95, 0.80, 0.72),
    2: (0.89, 0.71, 0.59),
    3: (0.80, 0.60, 0.46),
    4: (0.66, 0.46, 0.32),
    5: (0.48, 0.32, 0.22),
    6: (0.31, 0.20, 0.14),
}


# ---------------------------------------------------------------------------- shared primitives
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

    def reserve(self, box: tuple[float, float, float, float]) -> None:
        self.boxes.append(tuple(float(v) for v in box))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- colour and texture
def skin_color(rng: np.random.Generator, fitz: int) -> np.ndarray:
    """A skin colour of Fitzpatrick type ``fitz`` with natural variation (red/yellow undertone)."""
    base = np.array(FITZPATRICK_RGB[fitz], np.float32)
    base *= rng.uniform(0.93, 1.06)
    under = rng.normal(0.0, 0.025)  # + redder / - more olive
    base += np.array([under, -0.3 * under, -0.6 * under], np.float32)
    return np.clip(base, 0.05, 1.0)


def skin_texture(
    rng: np.random.Generator, h: int, w: int, color: np.ndarray, scale: float
) -> np.ndarray:
    """``(h, w, 3)`` skin colour patch: blotchy redness, mottling and pores at ``scale`` px/mm."""
    mott = smooth_noise(rng, h, w, max(8.0, 18 * scale))
    blotch = smooth_noise(rng, h, w, max(20.0, 60 * scale))
    # pores and fine grain: half-resolution noise upsampled reads as skin, not sensor noise
    ph, pw = max(2, h // 2), max(2, w // 2)
    fine = cv2.resize(rng.standard_normal((ph, pw), dtype=np.float32), (w, h))
    tex = np.empty((h, w, 3), np.float32)
    tex[:] = color
    lum = 1.0 + 0.035 * mott + 0.025 * fine
    tex *= lum[..., None]
    red = 0.035 * np.clip(blotch, 0, None)
    tex[..., 0] += red
    tex[..., 1] -= 0.5 * red
    tex[..., 2] -= 0.4 * red
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
    a = (lines.astype(np.float32) / 255.0 * alpha)[..., None]
    color *= 1.0 - a * (1.0 - hair_rgb)


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
    dist = cv2.distanceTransform((mask > 127).astype(np.uint8), cv2.DIST_L2, 3)
    rnd = np.sqrt(np.clip(dist / max(radius * 0.75, 1.0), 0.0, 1.0))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grad = (xx / max(w, 1) - 0.5) * np.cos(light) + (yy / max(h, 1) - 0.5) * np.sin(light)
    shade = (0.58 + 0.42 * rnd) * (1.0 + 0.16 * grad)
    tex = skin_texture(rng, h, w, color, scale)
    if hairy > 0:
        add_hair(rng, tex, alpha, hair_dir, hairy, color * 0.35)
    tex *= shade[..., None]
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


def limb_outline(
    rng: np.random.Generator, p0: np.ndarray, p1: np.ndarray, r0: float, r1: float, bend: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tapered, slightly bent limb from ``p0`` to ``p1``: (polygon, centreline, radii)."""
    d = p1 - p0
    n = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-6)
    mid = (p0 + p1) / 2 + n * bend * np.linalg.norm(d)
    c = bezier(np.stack([p0, mid, p1]), 24)
    t = np.linspace(0, 1, 24)
    # muscle bulge near the proximal third, then taper
    r = r0 + (r1 - r0) * t + 0.12 * r0 * np.sin(np.pi * np.clip(t * 1.4, 0, 1)) * rng.uniform(0, 1)
    tang = np.gradient(c, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True) + 1e-9
    nrm = np.stack([-tang[:, 1], tang[:, 0]], 1)
    poly = np.concatenate([c + nrm * r[:, None], (c - nrm * r[:, None])[::-1]])
    return poly, c, r


def hand_polys(
    rng: np.random.Generator, wrist: np.ndarray, u: np.ndarray, r: float, closed: bool
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Palm and finger capsules of a hand at ``wrist`` pointing along ``u`` (``r`` = wrist radius).

    Returns segments ``(a, b, radius)``: three fat capsules make the palm (about 1.4 wrist
    widths wide and 1.7 long, like a real hand), then four fingers and the thumb (last five).
    """
    v = np.array([-u[1], u[0]])
    side = 1.0 if rng.random() < 0.5 else -1.0
    segs = [
        (wrist + u * 0.5 * r + v * o * r, wrist + u * 2.3 * r + v * o * r, 1.0 * r)
        for o in (-0.35, 0.0, 0.35)
    ]
    spread = rng.uniform(0.0, 0.3)
    fingers = ((2.2, -0.98), (2.55, -0.33), (2.4, 0.32), (1.9, 0.95))
    for ln, off in fingers:
        base = wrist + u * (3.0 - 0.25 * abs(off)) * r + v * off * r * side
        ang = off * spread + rng.normal(0, 0.04)
        dirv = u * np.cos(ang) + v * np.sin(ang) * side
        ln = ln * r * (0.3 if closed else 1.0)
        segs.append((base, base + dirv * ln, 0.3 * r))
    tb = wrist + u * 0.9 * r - v * 0.9 * r * side
    ta = rng.uniform(0.5, 1.0)
    tdir = u * np.cos(ta) - v * np.sin(ta) * side
    segs.append((tb, tb + tdir * (1.0 if closed else 1.9) * r, 0.36 * r))
    return segs


def draw_segments(
    mask: np.ndarray, segs: list[tuple[np.ndarray, np.ndarray, float]], origin: np.ndarray
) -> None:
    """Rasterise capsules ``(a, b, radius)`` into ``mask`` (patch origin at canvas ``origin``)."""
    for a, b, rad in segs:
        pa = tuple(int(v) for v in np.round(a - origin))
        pb = tuple(int(v) for v in np.round(b - origin))
        cv2.line(mask, pa, pb, 255, max(1, int(2 * rad)), cv2.LINE_AA)
        cv2.circle(mask, pa, int(rad), 255, -1, cv2.LINE_AA)
        cv2.circle(mask, pb, int(rad), 255, -1, cv2.LINE_AA)


# ---------------------------------------------------------------------------- body parts
def _clipped_box(canvas: Canvas, pts: np.ndarray, pad: float) -> tuple[int, int, int, int] | None:
    """Canvas-clipped integer box around ``pts`` (+ ``pad``): only visible pixels get drawn."""
    x0 = max(int(pts[:, 0].min() - pad), 0)
    y0 = max(int(pts[:, 1].min() - pad), 0)
    x1 = min(int(pts[:, 0].max() + pad) + 1, canvas.width)
    y1 = min(int(pts[:, 1].max() + pad) + 1, canvas.height)
    return (x0, y0, x1, y1) if x1 - x0 > 4 and y1 - y0 > 4 else None


def add_limb(canvas: Canvas, fitz: int, kind: str, size: float) -> SkinRegion | None:
    """An arm (forearm, often with a hand) or a lower leg; ``size`` is the wrist radius."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    leg = kind == "leg"
    r = size * (1.7 if leg else 1.0)
    ang = rng.uniform(0, 2 * np.pi)
    u = np.array([np.cos(ang), np.sin(ang)])
    end = np.array([rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.75) * h])
    # the proximal end always leaves the frame: a limb never ends in mid-air
    start = end - u * max(r * (5.0 if leg else 9.0), 1.2 * np.hypot(w, h))
    if leg:
        end = end + u * r * 6.0  # a shin runs through the frame
    poly, centre, radii = limb_outline(
        rng, start, end, r * rng.uniform(1.3, 1.5), r, rng.normal(0, 0.05)
    )
    segs: list[tuple[np.ndarray, np.ndarray, float]] = []
    has_hand = kind == "arm"  # a forearm ending in mid-frame without a hand looks amputated
    tang = centre[-1] - centre[-3]
    u_end = tang / (np.linalg.norm(tang) + 1e-9)
    if has_hand:
        segs = hand_polys(rng, centre[-1] - u_end * 0.2 * r, u_end, r, rng.random() < 0.3)
    allpts = np.concatenate([poly] + [np.stack([a, b]) for a, b, _ in segs]) if segs else poly
    box = _clipped_box(canvas, allpts, r * 0.6)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    origin = np.array([x0, y0], np.float64)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round((poly - origin) * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
    cv2.circle(mask, tuple(int(v) for v in centre[-1] - origin), int(radii[-1]), 255, -1)
    draw_segments(mask, segs, origin)
    region = paint_skin_mask(
        canvas,
        kind,
        x0,
        y0,
        mask,
        fitz,
        r / 25.0,
        rng.uniform(0, 6.3),
        r,
        hairy=rng.uniform(0, 1.5 if leg else 0.8),
        hair_dir=ang,
    )
    if has_hand:
        _knuckle_creases(canvas, segs, region)
    if kind == "arm":
        wx, wy = centre[-1] - u_end * r * rng.uniform(0.5, 1.1)
        region.wrist = (float(wx), float(wy), float(u_end[0]), float(u_end[1]), float(radii[-1]))
    return region


def _knuckle_creases(
    canvas: Canvas, segs: list[tuple[np.ndarray, np.ndarray, float]], region: SkinRegion
) -> None:
    """Dark gaps between fingers and nail plates, which is what makes the blob read as a hand."""
    for a, b, rad in segs[-5:]:
        d = b - a
        ln = np.linalg.norm(d)
        if ln < 3 or rad < 1.5:
            continue
        u = d / ln
        nail = b - u * rad * 0.8
        pad = int(rad * 2) + 2
        px0, py0 = int(nail[0]) - pad, int(nail[1]) - pad
        patch = np.zeros((2 * pad, 2 * pad), np.uint8)
        ang = float(np.degrees(np.arctan2(u[1], u[0])))
        cv2.ellipse(
            patch,
            (pad, pad),
            (max(1, int(rad * 0.7)), max(1, int(rad * 0.55))),
            ang,
            0,
            360,
            255,
            -1,
            cv2.LINE_AA,
        )
        a_n = cv2.GaussianBlur(patch.astype(np.float32) / 255.0, (0, 0), 0.8) * 0.35
        canvas.paint(px0, py0, a_n, (1.0, 0.9, 0.9), occlude=False)
        # the crease along the finger's side separates it from its neighbour
        side = np.array([-u[1], u[0]]) * rad
        seg = np.stack([a + side, b + side - u * rad])
        bx0, by0 = int(seg[:, 0].min()) - 2, int(seg[:, 1].min()) - 2
        patch2 = np.zeros(
            (int(seg[:, 1].max()) - by0 + 3, int(seg[:, 0].max()) - bx0 + 3), np.uint8
        )
        p = np.round(seg - [bx0, by0]).astype(np.int32)
        cv2.line(patch2, tuple(p[0]), tuple(p[1]), 255, 1, cv2.LINE_AA)
        a_c = cv2.GaussianBlur(patch2.astype(np.float32) / 255.0, (0, 0), 0.7) * 0.5
        a_c *= region.alpha_at(bx0, by0, *a_c.shape)
        canvas.paint(bx0, by0, a_c, (0.55, 0.45, 0.42), mode="multiply", occlude=False)


def add_torso(canvas: Canvas, fitz: int) -> SkinRegion | None:
    """A large rounded trunk area (abdomen, back, chest) filling much of the frame."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
    rx, ry = rng.uniform(0.45, 0.8) * w, rng.uniform(0.55, 1.1) * h
    # a trunk seen from above is a rounded box (superellipse), not an ellipse
    t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    p = rng.uniform(2.5, 4.0)
    sx = np.sign(np.cos(t)) * np.abs(np.cos(t)) ** (2 / p)
    sy = np.sign(np.sin(t)) * np.abs(np.sin(t)) ** (2 / p)
    wob = 1 + 0.03 * smooth_noise(rng, 1, 72, 8)[0]
    ang = rng.normal(0, 0.15)
    px_, py_ = sx * rx * wob, sy * ry * wob
    poly = np.stack(
        [cx + px_ * np.cos(ang) - py_ * np.sin(ang), cy + px_ * np.sin(ang) + py_ * np.cos(ang)], 1
    )
    box = _clipped_box(canvas, poly, 4)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(
        mask, [np.round((poly - [x0, y0]) * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2
    )
    radius = min(rx, ry)
    region = paint_skin_mask(
        canvas,
        "torso",
        x0,
        y0,
        mask,
        fitz,
        radius / 180.0,
        rng.uniform(0, 6.3),
        radius,
        hairy=rng.uniform(0, 0.4),
        hair_dir=rng.uniform(0, 6.3),
    )
    if rng.random() < 0.4:  # a navel or a skin fold gives the trunk scale
        p = region.sample_point(rng, radius * 0.3)
        if p is not None:
            s = int(max(3, radius * 0.04))
            patch = np.zeros((4 * s, 4 * s), np.uint8)
            cv2.ellipse(patch, (2 * s, 2 * s), (s, int(s * 1.4)), 0, 0, 360, 255, -1, cv2.LINE_AA)
            a = cv2.GaussianBlur(patch.astype(np.float32) / 255, (0, 0), s * 0.4) * 0.6
            canvas.paint(
                int(p[0]) - 2 * s,
                int(p[1]) - 2 * s,
                a,
                (0.45, 0.35, 0.32),
                mode="multiply",
                occlude=False,
            )
    return region


def add_closeup(canvas: Canvas, fitz: int) -> SkinRegion:
    """Skin filling the frame (a dermatology close-up), maybe with a curved background edge."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    mask = np.full((h, w), 255, np.uint8)
    if rng.random() < 0.5:
        side = rng.integers(4)
        t = np.linspace(0, 1, 20)
        depth = rng.uniform(0.05, 0.3) * (w if side < 2 else h)
        bow = depth * (1 - 0.6 * (2 * t - 1) ** 2)
        if side == 0:
            pts = np.stack([bow, t * h], 1)
            poly = np.concatenate([pts, [[0, h], [0, 0]]])
        elif side == 1:
            pts = np.stack([w - bow, t * h], 1)
            poly = np.concatenate([pts, [[w, h], [w, 0]]])
        elif side == 2:
            pts = np.stack([t * w, bow], 1)
            poly = np.concatenate([pts, [[w, 0], [0, 0]]])
        else:
            pts = np.stack([t * w, h - bow], 1)
            poly = np.concatenate([pts, [[w, h], [0, h]]])
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 0, cv2.LINE_AA)
    radius = 0.35 * min(w, h)
    return paint_skin_mask(
        canvas,
        "closeup",
        0,
        0,
        mask,
        fitz,
        min(w, h) / 120.0,
        rng.uniform(0, 6.3),
        radius,
        hairy=rng.uniform(0, 0.6),
        hair_dir=rng.uniform(0, 6.3),
    )
