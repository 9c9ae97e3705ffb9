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


def text_alpha(text: str, font_path: str, cap_px: float) -> np.ndarray:
    """Anti-aliased ink of ``text`` whose capital letters are about ``cap_px`` tall."""
    font = font_for_cap(font_path, cap_px)
    left, top, right, bottom = font.getbbox(text)
    pad = 2
    img = Image.new("L", (max(1, right - left) + 2 * pad, max(1, bottom - top) + 2 * pad), 0)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=font, fill=255)
    return np.asarray(img, np.float32) / 255.0


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
