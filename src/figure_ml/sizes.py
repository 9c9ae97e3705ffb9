"""Object size buckets at the model's input scale (DESIGN §4 slices).

A box's *size* is ``sqrt(w * h)`` in pixels after the whole image is resized so that its long
side equals the model input size (what a letterboxed detector sees). Buckets: ``tiny`` < 16,
``small`` < 32, ``medium`` < 96, else ``large``.
"""

from __future__ import annotations

import numpy as np

SIZE_BUCKETS: tuple[str, ...] = ("tiny", "small", "medium", "large")
_EDGES = np.array([16.0, 32.0, 96.0])

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
