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


def test_shrunk_copy_boxes_map_back_per_axis():
    # 400 x 199 photo shrunk to long side 200: the copy is 200 x 100 (99.5 rounded), so x
    # scales back by 400/200 = 2 and y by 199/100 = 1.99, not by the long side's 2: the tile
    # box (10, 10, 20, 20) is (20, 19.9, 40, 39.8) in the photo, and nothing passes its edge
    policy = TilingPolicy(mode="on", tile=100, overlap=0.0, min_long_side=0, tile_long_side=200)
    boxes, _, _ = detect_tiled(np.zeros((199, 400, 3), np.uint8), _fake_detect([]), policy)
    np.testing.assert_allclose(
        boxes[np.argsort(boxes[:, 0])], [[20, 19.9, 40, 39.8], [220, 19.9, 240, 39.8]]
    )
    assert boxes[:, 3].max() <= 199 and boxes[:, 2].max() <= 400


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


def test_tile_boxes_kept_drops_large_boxes_and_boxes_cut_by_an_inner_border():
    # the middle tile (100, 0, 200, 100) of a 300 x 100 photo: its left and right borders lie
    # inside the photo, its top and bottom on the photo's edge
    from figure_ml.tiling import tile_boxes_kept

    window = (100, 0, 200, 100)
    boxes = np.array(
        [
            [40, 40, 60, 60],  # small, inside: kept
            [10, 10, 70, 40],  # 60 px long > 0.5 of the 100 px tile: dropped by size
            [1, 40, 20, 60],  # touches the inner left border (x <= 2): cut
            [80, 40, 98.5, 60],  # within 2 px of the inner right border: cut
            [40, 0, 60, 20],  # touches the top border, which is the photo's edge: kept
            [40, 80, 60, 100],  # the bottom, the photo's edge too: kept
            [20, 20, 70, 70],  # exactly 50 px: at the limit, kept
        ]
    )
    both = TilingPolicy(tile=100, max_box_fraction=0.5, drop_cut_boxes=True)
    got = tile_boxes_kept(boxes, window, 300, 100, both)
    assert got.tolist() == [True, False, False, False, True, True, True]
    size_only = TilingPolicy(tile=100, max_box_fraction=0.5)
    assert tile_boxes_kept(boxes, window, 300, 100, size_only).tolist() == [
        True, False, True, True, True, True, True
    ]  # fmt: skip
    # the first tile (0, 0, 100, 100): its left border is the photo's edge, its right is not
    first = tile_boxes_kept(boxes, (0, 0, 100, 100), 300, 100, both)
    assert first.tolist() == [True, False, True, False, True, True, True]
    # defaults (and a manifest without the fields) keep every box
    assert tile_boxes_kept(boxes, window, 300, 100, TilingPolicy(tile=100)).all()


def test_detect_tiled_filters_tile_boxes_but_never_the_whole_image_pass():
    # every 100 px tile sees a cut box on its inner border; the whole-image pass sees a box
    # far larger than a tile: the whole pass's box stays, the tiles' cut boxes go
    def detect(image):
        if image.shape[:2] == (100, 100):
            return np.array([[90.0, 10, 100, 20]]), np.array([0.9]), np.array([0])
        return np.array([[0.0, 0, 150, 90]]), np.array([0.8]), np.array([1])

    policy = TilingPolicy(
        mode="on", tile=100, overlap=0.0, min_long_side=0, max_box_fraction=0.5,
        drop_cut_boxes=True,
    )  # fmt: skip
    boxes, scores, classes = detect_tiled(np.zeros((100, 200, 3), np.uint8), detect, policy)
    # the first tile's box touches its inner right border (x1 = 100 < 200): dropped; the
    # second tile's right border is the photo's edge (x1 = 200): its box is kept
    order = np.argsort(classes)
    np.testing.assert_allclose(boxes[order], [[190, 10, 200, 20], [0, 0, 150, 90]])
    assert classes[order].tolist() == [0, 1] and scores[order].tolist() == [0.9, 0.8]


def test_tile_box_filter_settings_are_checked():
    for bad in (0, -0.1, 1.5, float("nan"), True):
        with pytest.raises(ConfigError, match="max_box_fraction"):
            TilingPolicy(max_box_fraction=bad)
    with pytest.raises(ConfigError, match="drop_cut_boxes"):
        TilingPolicy(drop_cut_boxes="yes")


def test_tiling_of_records_how_large_photos_ran():
    from types import SimpleNamespace

    from figure_ml.eval.tiling import TiledPredictor, tiling_of

    inner = SimpleNamespace(imgsz=512, description="onnx:m")
    tiled = TiledPredictor(inner, TilingPolicy(tile=512, min_long_side=2000))
    assert tiling_of(tiled) == {"mode": "auto", "min_long_side": 2000}
    assert tiling_of(inner) is None
    assert tiling_of(TiledPredictor(inner, TilingPolicy(tile=512, mode="off"))) is None
    # a detector set: the trained model's (member 0) tiling; its teachers run whole photos
    assert tiling_of(SimpleNamespace(predictors=[tiled, inner])) == tiling_of(tiled)
