"""Object size buckets at the model's input scale (DESIGN §4 slices), and photo size bands.

A box's *size* is ``sqrt(w * h)`` in pixels after the whole image is resized so that its long
side equals the model input size (what a letterboxed detector sees). Buckets: ``tiny`` < 16,
``small`` < 32, ``medium`` < 96, else ``large``.

A photo's *size band* is set by its long side in pixels: ``<=1024px`` (screenshots, messaging
copies, the default synthetic frames), ``1025-1600px`` (downscaled shares), ``>1600px`` (camera
originals: a 12 MP phone photo is 4,032 px). The upper edge is the redactor's default
``tiling.min_long_side``: with the default tiling, photos of the top band run through tiles as
well and the others in one pass, so the bands part one-pass photos from tiled ones, and an
operating point calibrated on one band need not hold on another (measured: docs/design.md
"Tiling"). A team that moves ``min_long_side`` moves that split, not the bands: they stay
fixed so that figures of different runs compare.
"""

from __future__ import annotations

import numpy as np

SIZE_BUCKETS: tuple[str, ...] = ("tiny", "small", "medium", "large")
_EDGES = np.array([16.0, 32.0, 96.0])

PHOTO_BANDS: tuple[str, ...] = ("<=1024px", "1025-1600px", ">1600px")
#: long side (px) above which the redactor tiles by default: TilingPolicy.min_long_side's
#: default (tiling.py; a test keeps them equal), and the top band's lower edge
TILED_ABOVE = 1600
_PHOTO_EDGES = np.array([1024, TILED_ABOVE])

#: the input size buckets refer to when none is given (ultralytics' default imgsz)
DEFAULT_INPUT_SIZE = 640


def box_size_at_input(
    boxes_xyxy: np.ndarray, image_w: int, image_h: int, input_size: int = DEFAULT_INPUT_SIZE
) -> np.ndarray:
    """``sqrt(w*h)`` of each ``(N, 4)`` box once the image long side is scaled to ``input_size``."""
    b = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    scale = input_size / max(image_w, image_h)
    wh = np.clip(b[:, 2:] - b[:, :2], 0, None) * scale
    return np.sqrt(wh[:, 0] * wh[:, 1])


def size_bucket_ids(sizes: np.ndarray) -> np.ndarray:
    """Index into :data:`SIZE_BUCKETS` of each size."""
    return np.searchsorted(_EDGES, np.asarray(sizes, np.float64), side="right")


def size_buckets(
    boxes_xyxy: np.ndarray, image_w: int, image_h: int, input_size: int = DEFAULT_INPUT_SIZE
) -> list[str]:
    """Bucket name of each box."""
    ids = size_bucket_ids(box_size_at_input(boxes_xyxy, image_w, image_h, input_size))
    return [SIZE_BUCKETS[i] for i in ids]


def photo_band_ids(long_sides: np.ndarray) -> np.ndarray:
    """Index into :data:`PHOTO_BANDS` of each photo's long side (pixels); an edge belongs to
    the band below it (1,024 px is ``<=1024px``)."""
    return np.searchsorted(_PHOTO_EDGES, np.asarray(long_sides, np.int64), side="left")
