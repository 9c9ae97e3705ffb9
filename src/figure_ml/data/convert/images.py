"""Reading a source image into canonical bytes, and moving its boxes with it.

Canonical images carry no EXIF rotation (DESIGN §3): a source image with an orientation tag
other than 1 is re-encoded with the orientation applied (PNG for lossless sources, JPEG
quality 95 for JPEG ones), and so is any image that is not plain 8-bit RGB / grayscale JPEG or
PNG. Everything else keeps its original bytes: re-encoding a JPEG would only lose quality.

Which pixel grid do the annotations use? WIDER FACE, COCO and most tools annotate the
**stored** grid and ignore EXIF, so boxes are transformed with the orientation. When the
annotation states a size that matches the *oriented* image but not the stored one (a tool that
applied EXIF before labelling), the boxes are taken as already oriented.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from figure_ml.errors import BadInputError
from figure_ml.imageio import decode_image

EXIF_ORIENTATION = 0x0112
_KEEP_FORMATS = {"JPEG", "PNG"}
_KEEP_MODES = {"RGB", "L"}


@dataclass
class SourceImage:
    """Canonical bytes of one image, its oriented size and how the boxes must move."""

    data: bytes
    width: int
    height: int
    #: EXIF orientation applied to the stored pixels (1: none)
    orientation: int
    stored_size: tuple[int, int]


def read_image(path: Path, where: str) -> SourceImage:
    """Read ``path``; :class:`BadInputError` naming ``where`` (not the file) when unusable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInputError(f"{where}: image file missing") from None
    except OSError as exc:
        raise BadInputError(f"{where}: cannot read image ({exc.strerror})") from exc
    try:
        with Image.open(io.BytesIO(raw)) as img:
            fmt, mode, stored = img.format, img.mode, img.size
            orientation = int(img.getexif().get(EXIF_ORIENTATION, 1) or 1)
            img.load()  # truncated data only shows when decoding
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInputError(f"{where}: corrupt or unreadable image ({exc})") from exc
    if orientation not in range(1, 9):
        orientation = 1  # a nonsense tag: viewers ignore it, so do we
    if stored[0] < 1 or stored[1] < 1:
        raise BadInputError(f"{where}: image has size {stored[0]}x{stored[1]}")
    if orientation == 1 and fmt in _KEEP_FORMATS and mode in _KEEP_MODES:
        return SourceImage(raw, stored[0], stored[1], 1, stored)
    pixels = decode_image(raw, name=where)  # applies the orientation, converts the mode
    buf = io.BytesIO()
    if fmt == "JPEG":
        Image.fromarray(pixels).save(buf, format="JPEG", quality=95)
    else:
        Image.fromarray(pixels).save(buf, format="PNG")
    h, w = pixels.shape[:2]
    return SourceImage(buf.getvalue(), w, h, orientation, stored)


def orient_box(
    box: tuple[float, float, float, float], orientation: int, stored: tuple[int, int]
) -> tuple[float, float, float, float]:
    """``box`` in the stored grid (``stored`` = (W, H)) -> the same region after the EXIF
    ``orientation`` is applied (the transposes ``PIL.ImageOps.exif_transpose`` performs)."""
    x0, y0, x1, y1 = box
    w, h = stored
    if orientation == 2:  # mirror left-right
        return (w - x1, y0, w - x0, y1)
    if orientation == 3:  # rotate 180
        return (w - x1, h - y1, w - x0, h - y0)
    if orientation == 4:  # mirror top-bottom
        return (x0, h - y1, x1, h - y0)
    if orientation == 5:  # transpose: x' = y, y' = x
        return (y0, x0, y1, x1)
    if orientation == 6:  # rotate 90 clockwise: x' = H - y, y' = x
        return (h - y1, x0, h - y0, x1)
    if orientation == 7:  # transverse: x' = H - y, y' = W - x
        return (h - y1, w - x1, h - y0, w - x0)
    if orientation == 8:  # rotate 90 counter-clockwise: x' = y, y' = W - x
        return (y0, w - x1, y1, w - x0)
    return box


def boxes_need_orienting(img: SourceImage, declared: tuple[int, int] | None, where: str) -> bool:
    """Whether annotation boxes are in the stored grid (True) or already oriented (False);
    :class:`BadInputError` when the declared size matches neither grid."""
    oriented = (img.width, img.height)
    if declared is None or tuple(declared) == img.stored_size:
        return img.orientation != 1
    if tuple(declared) == oriented:
        return False
    raise BadInputError(
        f"{where}: annotation says {declared[0]}x{declared[1]} but the image is "
        f"{img.stored_size[0]}x{img.stored_size[1]}"
    )
