"""Tiling (figure_ml.tiling): windows, and tiles cut from a shrunk copy of the photo."""

from __future__ import annotations

import numpy as np
import pytest

from figure_ml.errors import ConfigError
from figure_ml.tiling import TilingPolicy, detect_tiled, tile_windows


def test_windows_cover_the_image_with_the_overlap():
    # 1000 px, tile 400, overlap 0.2: step <= 320, so ceil(600 / 320) + 1 = 3 starts 0, 300, 600
    assert [w[0] for w in tile_windows(1000, 300, 400, 0.2)] == [0, 300, 600]
    assert tile_windows(300, 200, 400, 0.2) == [(0, 0, 300, 200)]


def test_source_size_shrinks_only_larger_photos():
    p = TilingPolicy(tile=512, tile_long_side=2000)
    assert p.source_size(4000, 3000) == (2000, 1500, 0.5)
    assert p.source_size(3000, 4000) == (1500, 2000, 0.5)
    assert p.source_size(1800, 900) == (1800, 900, 1.0)  # already below: never enlarged
    assert TilingPolicy(tile=512).source_size(4000, 3000) == (4000, 3000, 1.0)  # 0: full size
    assert p.windows(4000, 3000) == tile_windows(2000, 1500, 512, 0.2)


def _fake_detect(calls):
    """A detector that sees one 10 px box at (10, 10) in every 100 x 100 tile and nothing
    in anything else; it records the shape of every image it is given."""

    def detect(image):
        calls.append(image.shape)
        if image.shape[:2] != (100, 100):
            return np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64)
        return np.array([[10.0, 10, 20, 20]]), np.array([0.9]), np.array([0])

    return detect


def test_tiles_of_a_shrunk_copy_map_back_to_photo_pixels():
    # 400 x 200 photo, tiles from a copy shrunk to long side 200 (scale 0.5): 200 x 100,
    # tile 100 without overlap -> 2 tiles at x0 = 0 and 100; a tile box (10, 10, 20, 20)
    # is (x0 + 10, 10, x0 + 20, 20) in the copy, twice that in the photo
    policy = TilingPolicy(mode="on", tile=100, overlap=0.0, min_long_side=0, tile_long_side=200)
    calls: list = []
    boxes, scores, classes = detect_tiled(np.zeros((200, 400, 3), np.uint8), _fake_detect(calls),
                                          policy)  # fmt: skip
    assert calls == [(200, 400, 3), (100, 100, 3), (100, 100, 3)]
    order = np.argsort(boxes[:, 0])
    np.testing.assert_allclose(boxes[order], [[20, 20, 40, 40], [220, 20, 240, 40]])
    assert scores.tolist() == [0.9, 0.9] and classes.tolist() == [0, 0]


def test_full_resolution_tiles_are_unchanged_by_default():
    policy = TilingPolicy(mode="on", tile=100, overlap=0.0, min_long_side=0)
    calls: list = []
    boxes, _, _ = detect_tiled(np.zeros((100, 200, 3), np.uint8), _fake_detect(calls), policy)
    assert calls == [(100, 200, 3), (100, 100, 3), (100, 100, 3)]
    np.testing.assert_allclose(
        boxes[np.argsort(boxes[:, 0])], [[10, 10, 20, 20], [110, 10, 120, 20]]
    )


def test_tile_long_side_must_be_a_non_negative_integer():
    for bad in (-1, 2.5, True):
        with pytest.raises(ConfigError, match="tile_long_side"):
            TilingPolicy(tile_long_side=bad)
