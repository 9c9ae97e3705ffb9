"""Tiled detection for large photos (numpy and OpenCV; shared by the evaluator and the redactor).

A 4032x3024 photo letterboxed to 640 shrinks 6.3x: a 6 px wristband character becomes 1 px.
Besides the whole-image pass, the photo is cut into overlapping square tiles of ``tile`` pixels
(the model's input size, so tiles run at native resolution), each tile is detected on its own,
and all detections are merged with class-aware NMS. Objects cut by a tile border are seen whole
by the neighbouring tile (the overlap) or by the whole-image pass.

``tile_long_side`` > 0 cuts the tiles from a copy of the photo shrunk so that its long side is
at most that many pixels (boxes are scaled back). Why: a model trained on 640-1024 px frames
sees, in a 512 px tile of a 4032 px photo, a face 4-8 times larger than any it learned, and
skin, cloth and wall texture at a magnification it never saw; 0 keeps full resolution.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from figure_ml.boxes import NMS_IOU
from figure_ml.errors import ConfigError
from figure_ml.onnx_detect import merge_passes

Detect = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]

TILE_MODES = ("auto", "on", "off")
#: allowed ranges, shared with the redactor's CLI and the manifest schema. An overlap above 0.5
#: makes the tile count grow without bound (overlap 1 meant a 1 px step: 43,000 tiles)
TILE_MIN, TILE_MAX = 32, 8192
OVERLAP_MAX = 0.5


#: the fields a manifest may omit (added after the first manifests); absent, each takes its
#: default, which keeps the behaviour those manifests were measured with
OPTIONAL_FIELDS: tuple[str, ...] = ("tile_long_side", "max_box_fraction", "drop_cut_boxes")


@dataclass(frozen=True)
class TilingPolicy:
    """When and how to tile. ``mode``: ``auto`` tiles when the long side exceeds
    ``min_long_side``; ``on`` always; ``off`` never."""

    mode: str = "auto"
    tile: int = 640
    overlap: float = 0.2
    min_long_side: int = 1600
    #: class-aware NMS over the whole-image and tile boxes: figure_ml.boxes.NMS_IOU, for the
    #: same reason (the redactor hides their union; docs/design.md, Tiling, has the frames)
    merge_iou: float = NMS_IOU
    #: tiles come from the photo shrunk to at most this long side; 0: full resolution
    tile_long_side: int = 0
    #: a tile's box whose longer side exceeds this share of the tile is dropped; 1.0 (and a
    #: manifest without the field) keeps every box. The idea: an object half a 512 px tile
    #: long in a 4,032 px photo reaches 32 px in the whole-image pass, while a tile magnifies
    #: skin, cloth and walls 4-8x into large false alarms. Off by default: on phone-size test
    #: frames it missed more long text lines, which the whole pass sees only a few px high
    #: (docs/design.md, Tiling)
    max_box_fraction: float = 1.0
    #: drop a tile's box that touches an inner tile border: the object is cut there, and the
    #: overlapping neighbour tile or the whole-image pass sees it whole. False (and a manifest
    #: without the field) keeps them; off by default for the same measurement
    drop_cut_boxes: bool = False

    def __post_init__(self) -> None:
        def bad(what: str, value, allowed: str) -> ConfigError:
            return ConfigError(f"tiling {what} must be {allowed}, got {value!r}")

        if self.mode not in TILE_MODES:
            raise bad("mode", self.mode, f"one of {TILE_MODES}")
        if not (_is_int(self.tile) and TILE_MIN <= self.tile <= TILE_MAX):
            raise bad("tile", self.tile, f"an integer in [{TILE_MIN}, {TILE_MAX}] px")
        if not (_is_num(self.overlap) and 0 <= self.overlap <= OVERLAP_MAX):
            raise bad("overlap", self.overlap, f"in [0, {OVERLAP_MAX}]")
        if not (_is_int(self.min_long_side) and self.min_long_side >= 0):
            raise bad("min_long_side", self.min_long_side, "an integer >= 0")
        if not (_is_num(self.merge_iou) and 0 <= self.merge_iou <= 1):
            raise bad("merge_iou", self.merge_iou, "in [0, 1]")
        if not (_is_int(self.tile_long_side) and self.tile_long_side >= 0):
            raise bad("tile_long_side", self.tile_long_side, "an integer >= 0 (0: full resolution)")
        if not (_is_num(self.max_box_fraction) and 0 < self.max_box_fraction <= 1):
            raise bad("max_box_fraction", self.max_box_fraction, "in (0, 1] (1: keep every box)")
        if not isinstance(self.drop_cut_boxes, bool | np.bool_):
            raise bad("drop_cut_boxes", self.drop_cut_boxes, "true or false")

    def source_size(self, width: int, height: int) -> tuple[int, int, float]:
        """``(width, height, scale)`` of the image the tiles are cut from: the photo itself
        (scale 1), or, with ``tile_long_side`` below its long side, the photo shrunk to it."""
        long = max(width, height)
        if not 0 < self.tile_long_side < long:
            return width, height, 1.0
        scale = self.tile_long_side / long
        return max(1, round(width * scale)), max(1, round(height * scale)), scale

    def windows(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """The tile windows of a ``width`` x ``height`` photo, in the coordinates of the image
        they are cut from (:meth:`source_size`)."""
        sw, sh, _ = self.source_size(width, height)
        return tile_windows(sw, sh, self.tile, self.overlap)

    def optional_settings(self) -> dict[str, object]:
        """The :data:`OPTIONAL_FIELDS` set away from their defaults (what a report names)."""
        return {k: getattr(self, k) for k in OPTIONAL_FIELDS if getattr(self, k) != _DEFAULTS[k]}

    def applies(self, width: int, height: int) -> bool:
        if self.mode == "on":
            return True
        if self.mode == "off":
            return False
        return max(width, height) > self.min_long_side


_DEFAULTS = {k: getattr(TilingPolicy, k) for k in OPTIONAL_FIELDS}


def manifest_block(fields: dict[str, object]) -> dict[str, object]:
    """The manifest's ``tiling`` block from every policy field: the :data:`OPTIONAL_FIELDS` at
    their defaults are left out. Why: a manifest at the defaults then reads exactly as the
    first manifests did, so an app written before a field existed runs it as measured; a field
    set away from its default is written, and the schema makes a reader that does not know it
    refuse the manifest instead of tiling differently from what was measured."""
    return {k: v for k, v in fields.items() if k not in _DEFAULTS or v != _DEFAULTS[k]}


def _is_int(v) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, int | float | np.number) and not isinstance(v, bool) and math.isfinite(v)


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


#: a box edge this close (px) to an inner tile border counts as touching it
CUT_MARGIN = 2.0


def tile_boxes_kept(
    boxes: np.ndarray,
    window: tuple[int, int, int, int],
    width: int,
    height: int,
    policy: TilingPolicy,
) -> np.ndarray:
    """Which of a tile's ``boxes`` (tile coordinates) the merge keeps under ``policy``: not
    longer than ``max_box_fraction`` of the tile's longer side, and, with ``drop_cut_boxes``,
    not touching a tile border that lies inside the ``width`` x ``height`` image (a border on
    the image's own edge cuts nothing)."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    if policy.max_box_fraction >= 1 and not policy.drop_cut_boxes:
        return np.ones(len(b), bool)  # the default: no box of a tile is longer than the tile
    x0, y0, x1, y1 = window
    tw, th = x1 - x0, y1 - y0
    side = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    keep = side <= policy.max_box_fraction * max(tw, th) + 1e-9
    if policy.drop_cut_boxes:
        m = CUT_MARGIN
        cut = (
            ((b[:, 0] <= m) & (x0 > 0))
            | ((b[:, 1] <= m) & (y0 > 0))
            | ((b[:, 2] >= tw - m) & (x1 < width))
            | ((b[:, 3] >= th - m) & (y1 < height))
        )
        keep &= ~cut
    return keep


def detect_tiled(
    image: np.ndarray, detect: Detect, policy: TilingPolicy
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole-image pass plus, when the policy applies, tiled passes (each tile's boxes filtered
    by :func:`tile_boxes_kept`) merged by class-aware NMS."""
    h, w = image.shape[:2]
    boxes, scores, classes = detect(image)
    if not policy.applies(w, h):
        return boxes, scores, classes
    sw, sh, scale = policy.source_size(w, h)
    src = image
    if scale != 1.0:
        src = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)  # AREA: no aliasing
    # back to the photo per axis: the shrunk size is rounded, so one factor would be off by up
    # to a pixel on the short side (4000x2999 at 1024: 2999/768, not 4000/1024)
    back = np.array([w / sw, h / sh, w / sw, h / sh])
    limit = np.array([w, h, w, h], np.float64)
    parts = [(boxes, scores, classes)]
    for x0, y0, x1, y1 in policy.windows(w, h):
        b, s, c = detect(np.ascontiguousarray(src[y0:y1, x0:x1]))
        keep = tile_boxes_kept(b, (x0, y0, x1, y1), sw, sh, policy)
        mapped = (b[keep] + np.array([x0, y0, x0, y0], np.float64)) * back
        parts.append((np.clip(mapped, 0, limit), s[keep], c[keep]))
    return merge_passes(parts, iou=policy.merge_iou, max_det=None)
