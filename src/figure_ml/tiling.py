"""Tiled detection for large photos (numpy only; shared by the evaluator and the redactor).

A 4032x3024 photo letterboxed to 640 shrinks 6.3x: a 6 px wristband character becomes 1 px.
Besides the whole-image pass, the photo is cut into overlapping square tiles of ``tile`` pixels
(the model's input size, so tiles run at native resolution), each tile is detected on its own,
and all detections are merged with class-aware NMS. Objects cut by a tile border are seen whole
by the neighbouring tile (the overlap) or by the whole-image pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from figure_ml.onnx_detect import nms

Detect = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class TilingPolicy:
    """When and how to tile. ``mode``: ``auto`` tiles when the long side exceeds
    ``min_long_side``; ``on`` always; ``off`` never."""

    mode: str = "auto"
    tile: int = 640
    overlap: float = 0.2
    min_long_side: int = 1600
    merge_iou: float = 0.5

    def applies(self, width: int, height: int) -> bool:
        if self.mode == "on":
            return True
        if self.mode == "off":
            return False
        return max(width, height) > self.min_long_side


def tile_windows(
    width: int, height: int, tile: int, overlap: float
) -> list[tuple[int, int, int, int]]:
    """Windows ``(x0, y0, x1, y1)`` of at most ``tile`` pixels covering the image, neighbours
    overlapping by at least ``overlap`` of a tile."""

    def starts(length: int) -> list[int]:
        if length <= tile:
            return [0]
        step = max(1, int(tile * (1 - overlap)))
        n = int(np.ceil((length - tile) / step)) + 1
        return [round(i * (length - tile) / (n - 1)) for i in range(n)]

    return [
        (x, y, min(x + tile, width), min(y + tile, height))
        for y in starts(height)
        for x in starts(width)
    ]


def detect_tiled(
    image: np.ndarray, detect: Detect, policy: TilingPolicy
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole-image pass plus, when the policy applies, tiled passes merged by class-aware NMS."""
    h, w = image.shape[:2]
    boxes, scores, classes = detect(image)
    if not policy.applies(w, h):
        return boxes, scores, classes
    all_b, all_s, all_c = [boxes], [scores], [classes]
    for x0, y0, x1, y1 in tile_windows(w, h, policy.tile, policy.overlap):
        b, s, c = detect(np.ascontiguousarray(image[y0:y1, x0:x1]))
        all_b.append(b + np.array([x0, y0, x0, y0], np.float64))
        all_s.append(s)
        all_c.append(c)
    b, s, c = np.concatenate(all_b), np.concatenate(all_s), np.concatenate(all_c)
    if not len(s):
        return b, s, c
    keep = nms(b + c[:, None] * 1e5, s, policy.merge_iou)
    return b[keep], s[keep], c[keep]
