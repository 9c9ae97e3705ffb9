"""Ink patches: text in TrueType or Hershey fonts, Code 128 barcodes and QR codes.

Each function returns a float alpha in [0, 1]; placing, colouring and ownership are the caller's.
"""

from __future__ import annotations

import cv2
import numpy as np
import qrcode
from barcode import Code128
from PIL import Image, ImageDraw, ImageFont

from figure_ml.data.fonts import load_font, resolve_font

#: Used when the caller gives no fonts: all ship with matplotlib.
DEFAULT_FONTS = (
    "DejaVuSans",
    "DejaVuSans-Bold",
    "DejaVuSansMono",
    "DejaVuSerif",
    "DejaVuSans-Oblique",
    "STIXGeneral",
    "cmtt10",
    "DejaVuSansMono-Bold",
)
HERSHEY = (
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)


def font_list(paths: tuple[str, ...]) -> tuple[str, ...]:
    """The caller's fonts, else matplotlib's bundled defaults."""
    return paths or tuple(str(resolve_font(n)) for n in DEFAULT_FONTS)


def font_for_cap(font_path: str, cap_px: float) -> ImageFont.FreeTypeFont:
    """The font at the em size whose capital letters are about ``cap_px`` tall."""
    return load_font(font_path, max(4, round(cap_px / 0.72)))


#: glyphs that reach the cap height and the descender line of a font (DESIGN §4 line band)
_CAP_REF, _DESC_REF = "H", "gjpqy"


def _band(ink: np.ndarray, top: int, bottom: int) -> np.ndarray:
    """1 on rows ``top..bottom-1`` (widened to any ink above or below) across the ink's
    columns (not the font's advance: no side bearings or trailing spaces), else 0."""
    band = np.zeros_like(ink)
    ys, xs = np.nonzero(ink > 0.05)
    if len(xs):
        top, bottom = min(top, int(ys.min())), max(bottom, int(ys.max()) + 1)
        band[max(0, top) : bottom, xs.min() : xs.max() + 1] = 1.0
    return band


def text_line(text: str, font_path: str, cap_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Anti-aliased ink of ``text`` whose capital letters are about ``cap_px`` tall, and its
    *line band*: 1 on the rectangle from the top of the capitals (or of any taller ink) down
    to the font's descender line (or any lower ink), across the ink; 0 elsewhere.

    The band is what a ``text`` box spans (DESIGN §4: one box per line). A line is as tall as
    its type, whatever letters it holds: "DOE, JANE" has no descenders, yet its line is as tall
    as "Jagger". Real-photo labels and real-photo text detectors draw lines so: PP-OCR's boxes
    were 1.34 times the height of ink-tight synthetic boxes (median over 463 lines it found,
    ``benchmarks/synth_realism.py``, 600 images of seed 205), and this band is 1.3 times the
    capital height in DejaVu Sans.
    """
    font = font_for_cap(font_path, cap_px)
    left, top, right, bottom = font.getbbox(text)
    cap_top = font.getbbox(_CAP_REF)[1]
    desc = font.getbbox(_DESC_REF)[3]
    y0, y1 = min(top, cap_top), max(bottom, desc)  # the patch holds the whole band
    pad = 2
    img = Image.new("L", (max(1, right - left) + 2 * pad, max(1, y1 - y0) + 2 * pad), 0)
    ImageDraw.Draw(img).text((pad - left, pad - y0), text, font=font, fill=255)
    ink = np.asarray(img, np.float32) / 255.0
    return ink, _band(ink, pad + cap_top - y0, pad + desc - y0)


def text_alpha(text: str, font_path: str, cap_px: float) -> np.ndarray:
    """Anti-aliased ink of ``text`` whose capital letters are about ``cap_px`` tall."""
    font = font_for_cap(font_path, cap_px)
    left, top, right, bottom = font.getbbox(text)
    pad = 2
    img = Image.new("L", (max(1, right - left) + 2 * pad, max(1, bottom - top) + 2 * pad), 0)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=font, fill=255)
    return np.asarray(img, np.float32) / 255.0


def hershey_line(
    text: str, font: int, cap_px: float, thick: float
) -> tuple[np.ndarray, np.ndarray]:
    """Ink of ``text`` in a cv2 Hershey font (the script faces look like marker handwriting)
    and its line band (:func:`text_line`). The band's rows come from the font's own "H" and
    "gjpqy" drawn at the same baseline, not from ``cv2.getTextSize``, whose height and
    baseline mean different things across OpenCV versions (in 5.x the baseline is the
    string's own descent, so the band would follow the letters)."""
    scale = cap_px / 22.0
    t = max(1, round(thick))
    sizes = [cv2.getTextSize(s, font, scale, t) for s in (text, _CAP_REF + _DESC_REF)]
    asc = max(th for (_, th), _ in sizes)
    desc = max(base for _, base in sizes)
    h, y_base = asc + desc + 2 * t + 4, asc + t + 2

    def draw(s: str) -> np.ndarray:
        (w, _), _ = cv2.getTextSize(s, font, scale, t)
        img = np.zeros((h, w + 2 * t + 4), np.uint8)
        cv2.putText(img, s, (t + 2, y_base), font, scale, 255, t, cv2.LINE_AA)
        return img.astype(np.float32) / 255.0

    ink = draw(text)
    cap_rows = np.flatnonzero(draw(_CAP_REF).max(axis=1) > 0.05)
    desc_rows = np.flatnonzero(draw(_DESC_REF).max(axis=1) > 0.05)
    top = int(cap_rows.min()) if len(cap_rows) else 0
    bottom = int(desc_rows.max()) + 1 if len(desc_rows) else h
    return ink, _band(ink, top, bottom)


def hershey_alpha(text: str, font: int, cap_px: float, thick: float) -> np.ndarray:
    """Ink of ``text`` in a cv2 Hershey font (the script faces look like marker handwriting)."""
    scale = cap_px / 22.0
    t = max(1, round(thick))
    (tw, th), base = cv2.getTextSize(text, font, scale, t)
    img = np.zeros((th + base + 2 * t + 4, tw + 2 * t + 4), np.uint8)
    cv2.putText(img, text, (t + 2, th + t + 2), font, scale, 255, t, cv2.LINE_AA)
    return img.astype(np.float32) / 255.0


def barcode_alpha(data: str, module_px: float, height: float) -> np.ndarray:
    """Code 128 bars for ``data`` (python-barcode encodes; we rasterise the modules ourselves)."""
    modules = np.frombuffer(Code128(data).build()[0].encode(), np.uint8) == ord("1")
    m = max(1.0, module_px)
    row = cv2.resize(
        modules.astype(np.float32)[None, :],
        (max(1, int(len(modules) * m)), 1),
        interpolation=cv2.INTER_AREA if m < 1.5 else cv2.INTER_NEAREST,
    )
    return np.repeat(row, max(3, int(height)), axis=0)


def qr_alpha(data: str, module_px: float) -> np.ndarray:
    """A QR code for ``data`` with ``module_px`` px per module."""
    q = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_L)
    q.add_data(data)
    q.make(fit=True)
    mat = np.asarray(q.get_matrix(), np.float32)
    size = max(mat.shape[0], int(mat.shape[0] * module_px))
    return cv2.resize(mat, (size, size), interpolation=cv2.INTER_NEAREST)


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
