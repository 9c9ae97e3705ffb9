"""Things PHI is printed on: labels, stickers, paper and monitor screens.

A carrier is composed flat on a :class:`Sheet`, then every layer is warped with the same
homography (rotation, scale, perspective) by :func:`place_sheet`, so the ink and its paper stay
registered. Each printed line is one ``text`` object whose pixels are its line band
(:func:`~figure_ml.data.render.glyphs.text_line`: the box DESIGN §4 draws around a line), each
code one whose pixels are its bars; the carrier itself is painted with ``owner=None`` because a
blank label is not PHI.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import faker as faker_mod
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.glyphs import barcode_alpha, qr_alpha, text_line
from figure_ml.data.render.phi_content import label_lines
from figure_ml.data.render.primitives import smooth_noise


class Sheet:
    """A flat carrier being composed: backing, ink alpha and which item owns each pixel (a
    line's band, a code's bars)."""

    def __init__(self, h: int, w: int, color: tuple[float, float, float], radius: int) -> None:
        self.h, self.w = h, w
        self.back = np.zeros((h, w), np.float32)
        cv2.rectangle(self.back, (0, 0), (w - 1, h - 1), 1.0, -1)
        if radius > 1:  # rounded corners of stickers
            for cx, cy in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
                self.back[
                    max(cy - radius, 0) : cy + radius + 1, max(cx - radius, 0) : cx + radius + 1
                ] = 0
                cv2.circle(
                    self.back,
                    (min(max(cx, radius), w - 1 - radius), min(max(cy, radius), h - 1 - radius)),
                    radius,
                    1.0,
                    -1,
                )
        self.color = np.array(color, np.float32)
        #: optional per-pixel backing colour (screens: bezel, header bar, waveforms)
        self.rgb: np.ndarray | None = None
        self.ink = np.zeros((h, w), np.float32)
        self.idx = np.zeros((h, w), np.uint8)
        self.items: list[dict] = []

    def put(
        self, alpha: np.ndarray, x: int, y: int, attrs: dict, band: np.ndarray | None = None
    ) -> bool:
        """Place an ink patch at ``(x, y)``; False (nothing placed) when it does not fit. The
        item owns ``band`` (a text line's band, the patch's shape) or else its ink."""
        ph, pw = alpha.shape
        if x < 0 or y < 0 or x + pw > self.w or y + ph > self.h or len(self.items) >= 250:
            return False
        self.items.append(attrs)
        region = self.ink[y : y + ph, x : x + pw]
        np.maximum(region, alpha, out=region)
        owned = band > 0.5 if band is not None else alpha > 0.05
        self.idx[y : y + ph, x : x + pw][owned] = len(self.items)
        return True


def place_sheet(
    canvas: Canvas,
    sheet: Sheet,
    cx: float,
    cy: float,
    scale: float,
    rot: float,
    persp: float,
    ink_rgb: tuple[float, float, float],
    glow: bool = False,
) -> list:
    """Warp ``sheet`` onto the canvas centred at ``(cx, cy)`` and register one object per item.

    Returns the registered objects (items fully outside the frame are not registered).
    """
    rng = canvas.rng
    src = np.float32([[0, 0], [sheet.w, 0], [sheet.w, sheet.h], [0, sheet.h]])
    c, s = np.cos(np.radians(rot)), np.sin(np.radians(rot))
    ctr = src - [sheet.w / 2, sheet.h / 2]
    dst = (ctr @ np.float32([[c, s], [-s, c]])) * scale
    dst += rng.uniform(-persp, persp, (4, 2)).astype(np.float32) * max(sheet.w, sheet.h) * scale
    dst += [cx, cy]
    x0 = max(int(dst[:, 0].min()) - 1, 0)
    y0 = max(int(dst[:, 1].min()) - 1, 0)
    x1 = min(int(dst[:, 0].max()) + 2, canvas.width)
    y1 = min(int(dst[:, 1].max()) + 2, canvas.height)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return []
    m = cv2.getPerspectiveTransform(src, (dst - [x0, y0]).astype(np.float32))
    size = (x1 - x0, y1 - y0)
    back = cv2.warpPerspective(sheet.back, m, size, flags=cv2.INTER_LINEAR)
    ink = cv2.warpPerspective(
        sheet.ink, m, size, flags=cv2.INTER_AREA if scale < 0.8 else cv2.INTER_LINEAR
    )
    idx = cv2.warpPerspective(sheet.idx, m, size, flags=cv2.INTER_NEAREST)
    shade = 1.0 + 0.06 * smooth_noise(rng, size[1], size[0], max(size) / 2)
    canvas.paint(
        x0 + 3,
        y0 + 4,
        cv2.GaussianBlur(back, (0, 0), 3) * 0.35,
        (0.25, 0.25, 0.28),
        mode="multiply",
        occlude=False,
    )
    if sheet.rgb is not None:
        col = cv2.warpPerspective(sheet.rgb, m, size, flags=cv2.INTER_LINEAR)
    else:
        col = sheet.color * shade[..., None]
    canvas.paint(x0, y0, back, col, None)
    if glow:  # screens bleed light around bright glyphs
        canvas.paint(x0, y0, cv2.GaussianBlur(ink, (0, 0), 1.5) * 0.4, ink_rgb, occlude=False)
    objs = []
    # all ink at once: per item, the nearest-neighbour warp of its band would clip a glyph's
    # anti-aliased edge; ownership comes from the bands below
    canvas.paint(x0, y0, ink, np.array(ink_rgb, np.float32), None, occlude=False)
    for i, attrs in enumerate(sheet.items, start=1):
        sel = (idx == i).astype(np.uint8)
        bx, by, bw, bh = cv2.boundingRect(sel)
        if bw == 0 or bh == 0:
            continue
        win = sel[by : by + bh, bx : bx + bw] > 0
        if (ink[by : by + bh, bx : bx + bw][win] >= 0.3).sum() < 4:
            continue  # a speck of ink in the frame (the rest is cut off): not legible
        obj = canvas.new_object("phi", "text", rotation_deg=round(float(rot), 1), **attrs)
        obj.attrs["char_px"] = round(float(attrs.get("char_px", 0)) * scale, 1)
        canvas.claim(x0 + bx, y0 + by, win, obj)
        objs.append(obj)
    return objs


def screen_rgb(
    rng: np.random.Generator, h: int, w: int, bezel: int, header: int, text_right: int
) -> np.ndarray:
    """A monitor: dark plastic bezel, dark panel, a coloured title bar and ECG-like traces.

    The traces are drawn into the backing (owner None): bright lines on a screen are not PHI.
    """
    rgb = np.empty((h, w, 3), np.float32)
    rgb[:] = np.array((0.13, 0.13, 0.14), np.float32) * rng.uniform(0.6, 1.4)
    panel = np.array([(0.02, 0.03, 0.05), (0.04, 0.05, 0.1), (0.06, 0.06, 0.06)][rng.integers(3)])
    grad = np.linspace(1.3, 0.8, max(h - 2 * bezel, 1), dtype=np.float32)[:, None, None]
    rgb[bezel : h - bezel, bezel : w - bezel] = panel * grad
    if header:
        bar = np.array([(0.1, 0.25, 0.5), (0.2, 0.2, 0.25), (0.05, 0.35, 0.3)][rng.integers(3)])
        rgb[bezel : bezel + header, bezel : w - bezel] = bar
    x0, x1 = text_right + 4, w - bezel - 4
    if x1 - x0 > 20:
        trace = np.zeros((h, w), np.uint8)
        for k in range(int(rng.integers(1, 4))):
            yc = bezel + header + (k + 0.5) * (h - 2 * bezel - header) / 3
            xs = np.arange(x0, x1, dtype=np.float32)
            period = rng.uniform(25, 60)
            beat = np.exp(-(((xs % period) - period * 0.3) ** 2) / 4.0) * 0.25 * (h / 4)
            ys = yc - beat + np.sin(xs / rng.uniform(5, 15)) * 2
            pts = np.stack([xs, ys], 1).astype(np.int32)
            cv2.polylines(trace, [pts], False, 255, 1, cv2.LINE_AA)
        col = np.array([(0.3, 1.0, 0.4), (1.0, 0.9, 0.3), (0.4, 0.9, 1.0)][rng.integers(3)])
        t = trace.astype(np.float32)[..., None] / 255.0
        rgb = rgb * (1 - t) + col.astype(np.float32) * t
    return rgb


def sheet_with_lines(
    fk: faker_mod.Faker,
    rng: np.random.Generator,
    fonts: tuple[str, ...],
    carrier: str,
    n_lines: int,
    cap: float,
    color,
    extra_code: str | None,
) -> Sheet:
    """Compose a carrier holding ``n_lines`` PHI lines (and optionally a barcode or QR code)."""
    font = fonts[rng.integers(len(fonts))]
    lines = label_lines(fk, rng, n_lines)
    patches = [
        (k, t, *text_line(t, font, cap * (1.25 if j == 0 and rng.random() < 0.5 else 1.0)))
        for j, (k, t) in enumerate(lines)
    ]
    gap = int(cap * rng.uniform(0.5, 1.0))
    margin = int(cap * rng.uniform(0.6, 1.5)) + 2
    bezel = int(max(3, cap * rng.uniform(0.6, 1.5))) if carrier == "screen" else 0
    header = int(cap * 1.6) if carrier == "screen" and rng.random() < 0.6 else 0
    margin += bezel
    code = None
    if extra_code == "barcode":
        code = barcode_alpha(
            fk.numerify("#" * int(rng.integers(6, 12))), max(1.0, cap / 7), cap * 2.2
        )
    elif extra_code == "qr":
        code = qr_alpha(f"{lines[0][1]}|{fk.numerify('########')}", max(1.0, cap / 5))
    width = max(p.shape[1] for _, _, p, _ in patches) + 2 * margin
    height = sum(p.shape[0] for _, _, p, _ in patches) + gap * (len(patches) - 1) + 2 * margin
    height += header
    if carrier == "screen":  # monitors are wide and carry a waveform area beside the text
        width = int(width * rng.uniform(1.3, 1.9))
    if code is not None:
        width = max(width, code.shape[1] + 2 * margin)
        height += code.shape[0] + gap
    if carrier == "paper":  # documents are wider than their PHI block and hold it off-centre
        width, height = int(width * rng.uniform(1.2, 2.0)), int(height * rng.uniform(1.1, 1.8))
    sheet = Sheet(height, width, color, int(cap * 0.6) if carrier == "sticker" else 0)
    if carrier == "screen":
        sheet.rgb = screen_rgb(
            rng, height, width, bezel, header, margin + max(p.shape[1] for _, _, p, _ in patches)
        )
    y = margin + header
    x = margin
    for kind, text, p, band in patches:
        sheet.put(
            p,
            x,
            y,
            {
                "carrier": carrier,
                "content": kind,
                "font": Path(font).stem,
                "char_px": round(cap, 1),
                "chars": len(text),
            },
            band,
        )
        y += p.shape[0] + gap
    if code is not None:
        sheet.put(
            code,
            x,
            y,
            {
                "carrier": carrier,
                "content": extra_code,
                "font": "",
                "char_px": round(cap, 1),
                "chars": 0,
            },
        )
    return sheet
