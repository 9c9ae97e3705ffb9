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


#: blank pixels around a rendered line, so that anti-aliased edges are never cut
_PAD = 2


def _pil_ink(font: ImageFont.FreeTypeFont, text: str, box: tuple[int, int, int, int]) -> np.ndarray:
    """Anti-aliased ink of ``text`` on a patch spanning ``box`` = (left, top, right, bottom) of
    its layout, :data:`_PAD` pixels wider on every side."""
    left, top, right, bottom = box
    img = Image.new("L", (max(1, right - left) + 2 * _PAD, max(1, bottom - top) + 2 * _PAD), 0)
    ImageDraw.Draw(img).text((_PAD - left, _PAD - top), text, font=font, fill=255)
    return np.asarray(img, np.float32) / 255.0


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
    y0 = min(top, cap_top)  # the patch holds the whole band
    ink = _pil_ink(font, text, (left, y0, right, max(bottom, desc)))
    return ink, _band(ink, _PAD + cap_top - y0, _PAD + desc - y0)


def text_alpha(text: str, font_path: str, cap_px: float) -> np.ndarray:
    """Anti-aliased ink of ``text`` whose capital letters are about ``cap_px`` tall."""
    font = font_for_cap(font_path, cap_px)
    return _pil_ink(font, text, font.getbbox(text))


def _hershey_params(cap_px: float, thick: float) -> tuple[float, int]:
    """cv2's font scale for capitals about ``cap_px`` tall, and the stroke width in pixels."""
    return cap_px / 22.0, max(1, round(thick))


def _hershey_ink(s: str, font: int, scale: float, t: int, h: int, y_base: int) -> np.ndarray:
    """Anti-aliased ink of ``s`` in a cv2 Hershey font on an ``h``-row patch, its baseline at
    row ``y_base``, with ``t + 2`` blank columns on either side."""
    (w, _), _ = cv2.getTextSize(s, font, scale, t)
    img = np.zeros((h, w + 2 * t + 4), np.uint8)
    cv2.putText(img, s, (t + 2, y_base), font, scale, 255, t, cv2.LINE_AA)
    return img.astype(np.float32) / 255.0


def hershey_line(
    text: str, font: int, cap_px: float, thick: float
) -> tuple[np.ndarray, np.ndarray]:
    """Ink of ``text`` in a cv2 Hershey font (the script faces look like marker handwriting)
    and its line band (:func:`text_line`). The band's rows come from the font's own "H" and
    "gjpqy" drawn at the same baseline, not from ``cv2.getTextSize``, whose height and
    baseline mean different things across OpenCV versions (in 5.x the baseline is the
    string's own descent, so the band would follow the letters)."""
    scale, t = _hershey_params(cap_px, thick)
    sizes = [cv2.getTextSize(s, font, scale, t) for s in (text, _CAP_REF + _DESC_REF)]
    asc = max(th for (_, th), _ in sizes)
    desc = max(base for _, base in sizes)
    h, y_base = asc + desc + 2 * t + 4, asc + t + 2
    ink = _hershey_ink(text, font, scale, t, h, y_base)
    cap_rows = np.flatnonzero(_hershey_ink(_CAP_REF, font, scale, t, h, y_base).max(axis=1) > 0.05)
    desc_rows = np.flatnonzero(
        _hershey_ink(_DESC_REF, font, scale, t, h, y_base).max(axis=1) > 0.05
    )
    top = int(cap_rows.min()) if len(cap_rows) else 0
    bottom = int(desc_rows.max()) + 1 if len(desc_rows) else h
    return ink, _band(ink, top, bottom)


def hershey_alpha(text: str, font: int, cap_px: float, thick: float) -> np.ndarray:
    """Ink of ``text`` in a cv2 Hershey font (the script faces look like marker handwriting)."""
    scale, t = _hershey_params(cap_px, thick)
    (_, th), base = cv2.getTextSize(text, font, scale, t)
    return _hershey_ink(text, font, scale, t, th + base + 2 * t + 4, th + t + 2)


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
