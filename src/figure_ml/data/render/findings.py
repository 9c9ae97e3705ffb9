"""Clinical findings (``kind="finding"``): lesion, rash, wound, sutures, bruise.

Findings are what the photo is *for*: they are never PHI and never detection targets, but the
evaluator measures how much of them a redactor hides, so their pixels are owned by finding
objects. They are painted in multiply mode (pigment and blood darken skin) except the moist wound
bed and the suture thread, which cover it.
"""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.primitives import (
    Layout,
    blob_polygon,
    poly_alpha,
    smooth_noise,
    soft_blur,
)
from figure_ml.data.render.skin import SkinRegion

FINDINGS = ("lesion", "rash", "wound", "sutures", "bruise")


def _lesion(rng: np.random.Generator, s: int) -> tuple[np.ndarray, np.ndarray, str]:
    """A pigmented lesion (naevus / melanoma-like): irregular border, uneven brown-black colour."""
    a = poly_alpha(
        s,
        s,
        [
            blob_polygon(
                rng, s / 2, s / 2, s * 0.35, s * rng.uniform(0.25, 0.38), rng.uniform(0.05, 0.3)
            )
        ],
        max(0.8, s * 0.03),
    )
    tone = rng.uniform(0, 1)
    base = np.array([0.45, 0.3, 0.22]) * (1 - tone) + np.array([0.18, 0.12, 0.12]) * tone
    var = smooth_noise(rng, s, s, max(3.0, s / 5))
    col = np.clip(base[None, None, :] * (1 + 0.45 * var[..., None]), 0, 1).astype(np.float32)
    return a * rng.uniform(0.75, 0.95), col, "multiply"


def _rash(rng: np.random.Generator, s: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Erythema with papules: diffuse redness plus many small raised red dots."""
    base = poly_alpha(s, s, [blob_polygon(rng, s / 2, s / 2, s * 0.32, s * 0.28, 0.25)], s * 0.06)
    dots = np.zeros((s, s), np.uint8)
    n = int(rng.integers(20, 120))
    pts = rng.uniform(0.2, 0.8, (n, 2)) * s
    for x, y in pts:
        cv2.circle(
            dots, (int(x), int(y)), int(max(1, rng.uniform(0.008, 0.03) * s)), 255, -1, cv2.LINE_AA
        )
    d = cv2.GaussianBlur(dots.astype(np.float32) / 255.0, (0, 0), max(0.6, s * 0.004))
    a = np.clip(0.45 * base + 0.6 * d * base, 0, 1)
    col = np.empty((s, s, 3), np.float32)
    col[:] = (0.85, 0.35, 0.35)
    return a, col, "multiply"


def _wound(rng: np.random.Generator, s: int) -> tuple[np.ndarray, np.ndarray, str]:
    """An open wound or ulcer: red granulation, yellow slough, dark rim, wet highlights."""
    poly = blob_polygon(rng, s / 2, s / 2, s * 0.42, s * rng.uniform(0.15, 0.35), 0.25)
    a = poly_alpha(s, s, [poly], 1.0)
    col = np.empty((s, s, 3), np.float32)
    col[:] = (0.62, 0.12, 0.1)
    gran = smooth_noise(rng, s, s, max(2.0, s / 15))
    col *= (0.85 + 0.2 * gran)[..., None]
    slough = np.clip(smooth_noise(rng, s, s, max(4.0, s / 4)) - 0.3, 0, 1)[..., None] * 1.5
    col = col * (1 - slough) + np.array([0.85, 0.75, 0.4], np.float32) * slough
    rim = a - cv2.erode(a, np.ones((3, 3), np.uint8), iterations=max(1, s // 40))
    col *= (1 - 0.5 * np.clip(rim, 0, 1))[..., None]
    wet = np.clip(gran - 0.75, 0, 1) * 3
    col = np.clip(col + wet[..., None] * 0.6, 0, 1)
    return a, col, "normal"


def _sutures(rng: np.random.Generator, s: int) -> tuple[np.ndarray, np.ndarray, str]:
    """A closed incision line with cross stitches of dark thread (or staples)."""
    h = max(8, s // 3)
    a = np.zeros((h, s), np.float32)
    col = np.empty((h, s, 3), np.float32)
    col[:] = (0.55, 0.2, 0.2)
    cy = h // 2
    inc = np.zeros((h, s), np.uint8)
    cv2.line(inc, (int(s * 0.05), cy), (int(s * 0.95), cy), 255, max(1, h // 10), cv2.LINE_AA)
    a += cv2.GaussianBlur(inc.astype(np.float32) / 255, (0, 0), 1.0) * 0.8
    stitch = np.zeros((h, s), np.uint8)
    n = int(rng.integers(4, 14))
    thread = (0.08, 0.08, 0.15) if rng.random() < 0.7 else (0.55, 0.55, 0.6)
    for i in range(n):
        x = int(s * (0.1 + 0.8 * i / max(n - 1, 1)))
        dx = int(rng.normal(0, h * 0.05))
        cv2.line(
            stitch,
            (x - dx, int(h * 0.15)),
            (x + dx, int(h * 0.85)),
            255,
            max(1, h // 12),
            cv2.LINE_AA,
        )
    st = stitch.astype(np.float32) / 255
    col = col * (1 - st[..., None]) + np.array(thread, np.float32) * st[..., None]
    return np.maximum(a, st), col, "normal"


def _bruise(rng: np.random.Generator, s: int) -> tuple[np.ndarray, np.ndarray, str]:
    """A haematoma: purple core fading to green-yellow at the edges, very soft borders."""
    a = poly_alpha(s, s, [blob_polygon(rng, s / 2, s / 2, s * 0.28, s * 0.2, 0.2)], s * 0.07)
    core = soft_blur(a, s * 0.06) ** 2
    col = np.empty((s, s, 3), np.float32)
    col[:] = (0.75, 0.8, 0.45)  # older yellow-green rim
    purple = np.array([0.45, 0.3, 0.55], np.float32)
    col = col * (1 - core[..., None]) + purple * core[..., None]
    return a * rng.uniform(0.5, 0.8), col, "multiply"


_MAKERS = {
    "lesion": _lesion,
    "rash": _rash,
    "wound": _wound,
    "sutures": _sutures,
    "bruise": _bruise,
}


def add_finding(canvas: Canvas, region: SkinRegion, layout: Layout) -> list:
    """Paint one finding on ``region``; returns ``[obj]`` (empty if nothing visible fit)."""
    rng = canvas.rng
    label = str(rng.choice(FINDINGS))
    unit = min(canvas.width, canvas.height)
    lo, hi = {
        "lesion": (0.03, 0.25),
        "rash": (0.15, 0.5),
        "wound": (0.08, 0.4),
        "sutures": (0.15, 0.6),
        "bruise": (0.1, 0.4),
    }[label]
    s = int(max(10, rng.uniform(lo, hi) * unit * (1.5 if region.kind == "closeup" else 1.0)))
    a, col, mode = _MAKERS[label](rng, s)
    rot = float(rng.uniform(0, 360))
    if label in ("sutures", "wound"):
        m = cv2.getRotationMatrix2D((a.shape[1] / 2, a.shape[0] / 2), rot, 1.0)
        side = int(np.hypot(*a.shape)) + 2
        m[:, 2] += [(side - a.shape[1]) / 2, (side - a.shape[0]) / 2]
        a = cv2.warpAffine(a, m, (side, side))
        col = cv2.warpAffine(col, m, (side, side), borderMode=cv2.BORDER_REPLICATE)
    h, w = a.shape
    box, best = layout.place(region, rng, w, h, 0.2 * min(h, w), 15)
    if box is None or best > 0.25:  # a finding under a wristband or label is useless
        return []
    x0, y0 = int(box[0]), int(box[1])
    a = a * region.alpha_at(x0, y0, h, w)
    vis = float(a.max())
    if vis < 0.1 or (a > 0.4 * vis).sum() < 10:
        return []
    obj = canvas.new_object("finding", label, size_px=s)
    canvas.paint(x0, y0, a, col, obj, mode=mode, claim=0.4 * vis)  # type: ignore[arg-type]
    layout.reserve(box)
    return [obj]
