"""Reading photos the way phones make them, for the evaluator and the redactor alike.

EXIF orientation is applied to the pixels (a phone stores portrait photos as landscape pixels
plus an orientation tag), and every mode becomes 8-bit RGB: palette, grayscale, RGBA/LA
(composited on white, so transparent areas look as viewers show them), 16-bit and 32-bit
integer and float grayscale (scaled by their true range), and CMYK. Any decoding problem is a
:class:`BadInputError` naming the file.
"""

from __future__ import annotations

import io
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
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def decode_image(data: bytes | Path | str, *, name: str | None = None) -> np.ndarray:
    """Decode an image (bytes or a path) to an oriented ``(H, W, 3)`` uint8 RGB array."""
    label = name or (str(data) if not isinstance(data, bytes) else "<bytes>")
    try:
        img = Image.open(io.BytesIO(data) if isinstance(data, bytes) else Path(data))
        img.load()  # decode now: truncated files fail here, not later
        img = ImageOps.exif_transpose(img)
        return np.asarray(_to_rgb(img))
    except FileNotFoundError as exc:
        raise BadInputError(f"{label}: no such file") from exc
    except Image.DecompressionBombError as exc:  # not an OSError: name it like the others
        raise BadInputError(f"{label}: image too large to decode safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise BadInputError(f"{label}: not an image (unknown format)") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadInputError(f"{label}: cannot decode image ({exc})") from exc
