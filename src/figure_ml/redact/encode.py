"""Encoding redacted pixels with **no metadata at all**.

A phone photo carries EXIF (GPS position, device serial, timestamps), XMP, IPTC, comments, an
ICC profile and an EXIF thumbnail — a small copy of the *unredacted* photo. None of it may reach
a published image, so nothing is copied: the output is encoded from a fresh
:class:`PIL.Image.Image` built from the pixel array (it has no ``info``), with every metadata
argument of the encoders left empty. The ICC profile is dropped too: it is not PHI, but
dropping everything is simpler to prove; the pixels are sRGB-ish 8-bit RGB as decoded. EXIF
orientation was applied to the pixels by the decoder, so the output needs no orientation tag.

:func:`check_clean` re-reads the encoded bytes and refuses any metadata that slipped through
(defence in depth against a future Pillow default).

Output format: the input's, for JPEG, PNG and WebP. HEIC/HEIF (and AVIF) become JPEG: every
viewer and server reads JPEG, and its encoder is Pillow's own, whose output :func:`check_clean`
can inspect. Other formats Pillow can read (TIFF, BMP, GIF, …) become lossless PNG.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from figure_ml.errors import BadInputError

#: input suffixes kept as they are (case included), with their Pillow format
_SAME_FORMAT = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".png": "PNG",
    ".webp": "WEBP",
}  # fmt: skip
#: HEIC and friends are re-encoded as JPEG; anything else as lossless PNG
_TO_JPEG = {".heic", ".heif", ".hif", ".avif"}
#: high enough that redaction does not visibly degrade the clinical content
JPEG_QUALITY = 95
WEBP_QUALITY = 95
#: above this many pixels JPEG Huffman tables are not optimised: libjpeg then keeps every DCT
#: coefficient of the image (6 bytes a pixel at 4:4:4, +250 MB at 50 MP) to save about 5%
OPTIMIZE_MAX_PIXELS = 16_000_000
#: ``info`` keys Pillow derives from the container itself, not from metadata
_HARMLESS_INFO = {
    "jfif",
    "jfif_version",
    "jfif_unit",
    "jfif_density",
    "dpi",
    "progressive",
    "progression",
    "adobe",
    "adobe_transform",
    "loop",
    "background",
    "duration",
    "lossless",
}


def output_format(name: str | Path) -> tuple[str, str]:
    """``(Pillow format, output suffix)`` for an input file name."""
    suffix = Path(name).suffix
    if suffix.lower() in _SAME_FORMAT:
        return _SAME_FORMAT[suffix.lower()], suffix
    return ("JPEG", ".jpg") if suffix.lower() in _TO_JPEG else ("PNG", ".png")


def encode(image: np.ndarray, fmt: str) -> bytes:
    """Encode an RGB uint8 array as ``fmt`` (JPEG, PNG or WEBP) with no metadata."""
    arr = np.ascontiguousarray(image, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB array, got shape {arr.shape}")
    img = Image.fromarray(arr, "RGB")  # fresh image: empty info, no exif, no icc
    buf = io.BytesIO()
    if fmt == "JPEG":
        # subsampling 4:4:4 keeps the fill's hard edges from bleeding colour into the photo
        optimize = arr.shape[0] * arr.shape[1] <= OPTIMIZE_MAX_PIXELS
        img.save(buf, "JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=optimize)
    elif fmt == "PNG":
        img.save(buf, "PNG", optimize=False, compress_level=6)
    elif fmt == "WEBP":
        img.save(buf, "WEBP", quality=WEBP_QUALITY, method=4)
    else:
        raise ValueError(f"cannot write format {fmt!r}; expected JPEG, PNG or WEBP")
    data = buf.getvalue()
    check_clean(data)
    return data


def check_clean(data: bytes) -> None:
    """Raise :class:`BadInputError` when encoded bytes carry any metadata."""
    with Image.open(io.BytesIO(data)) as img:
        leaked = sorted(set(img.info) - _HARMLESS_INFO)
        # APP0 is the JFIF header; APP1 holds EXIF/XMP, APP2 ICC, APP13 IPTC
        leaked += [m for m, _ in getattr(img, "applist", []) if m != "APP0"]
        if len(img.getexif()) or leaked:
            raise BadInputError(f"encoded image still carries metadata: {leaked or 'EXIF'}")
