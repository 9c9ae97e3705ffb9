"""Reading photos the way phones make them, for the evaluator and the redactor alike.

EXIF orientation is applied to the pixels (a phone stores portrait photos as landscape pixels
plus an orientation tag), and every mode becomes 8-bit RGB: palette, grayscale, RGBA/LA
(composited on white, so transparent areas look as viewers show them), 16-bit and 32-bit
integer and float grayscale (scaled by their true range), and CMYK. Any decoding problem is a
:class:`BadInputError` naming the file.

``max_pixels`` refuses an image from its header, before any pixel is decoded (Pillow reads
the size lazily in ``Image.open``): a 12000x12000 PNG once took 102 s and 2.1 GB. Pillow's own
global guard (``Image.MAX_IMAGE_PIXELS``: a warning above about 89 MP, an error above twice
that) still applies; ours is the limit the caller chose, with the size in the message. An RGB
photo is decoded with one copy of its pixels besides the (writable) array returned: Pillow's,
freed on return (no extra copy for an image without an orientation tag or already in RGB).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from figure_ml.errors import BadInputError

try:  # HEIC (the iPhone default) when pillow-heif is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - optional
    pass


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") else max(float(arr.max()), 1.0)
        arr = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode == "RGB":
        return img  # convert("RGB") would copy every pixel for nothing
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def _to_array(img: Image.Image) -> np.ndarray:
    """A writable ``(H, W, 3)`` copy of an RGB image, made in bands of rows: ``np.asarray``
    would hold a second full copy (``tobytes``) and give a read-only array."""
    w, h = img.size
    out = np.empty((h, w, 3), np.uint8)
    rows = max(1, (16 << 20) // (4 * w))  # about 16 MB of Pillow's 4-byte pixels per band
    for y in range(0, h, rows):
        with img.crop((0, y, w, min(h, y + rows))) as band:
            out[y : y + rows] = np.asarray(band)
    return out


def check_size(width: int, height: int, max_pixels: int | None, label: str) -> None:
    """Raise :class:`BadInputError` when ``width x height`` exceeds ``max_pixels``."""
    if width <= 0 or height <= 0:
        raise BadInputError(f"{label}: image has no pixels ({width}x{height})")
    if max_pixels is not None and width * height > max_pixels:
        raise BadInputError(
            f"{label}: {width}x{height} = {width * height / 1e6:.1f} MP exceeds the limit of"
            f" {max_pixels / 1e6:g} MP (--max-megapixels {max_pixels / 1e6:g}); refused before"
            " decoding"
        )


def decode_image(
    data: bytes | Path | str, *, name: str | None = None, max_pixels: int | None = None
) -> np.ndarray:
    """Decode an image (bytes or a path) to an oriented ``(H, W, 3)`` uint8 RGB array.

    ``max_pixels``: refuse, from the header and before decoding, an image with more pixels.
    """
    label = name or (str(data) if not isinstance(data, bytes) else "<bytes>")
    try:
        with warnings.catch_warnings():
            if max_pixels is not None:  # our limit decides; Pillow's warning would be noise
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data) if isinstance(data, bytes) else Path(data))
        with img:
            check_size(*img.size, max_pixels, label)
            img.load()  # decode now: truncated files fail here, not later
            ImageOps.exif_transpose(img, in_place=True)  # no copy when there is no tag
            rgb = _to_rgb(img)
            out = _to_array(rgb)
            rgb.close()
        return out
    except FileNotFoundError as exc:
        raise BadInputError(f"{label}: no such file") from exc
    except Image.DecompressionBombError as exc:  # not an OSError: name it like the others
        raise BadInputError(f"{label}: image too large to decode safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise BadInputError(f"{label}: not an image (unknown format)") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadInputError(f"{label}: cannot decode image ({exc})") from exc
