"""WIDER FACE and FDDB converters: real layouts, box for box; malformed input; EXIF."""

import io
import json
import math

import numpy as np
import pytest
from PIL import Image

from figure_ml.data.convert.faces import ellipse_box
from figure_ml.errors import ConfigError, DatasetError
from test_convert_common import boxes, run, write_image

FACE = 0
WIDER_GT = """0--Parade/0_Parade_a_1.jpg
2
10 5 20 30 0 0 0 0 0 0
40 10 8 8 2 0 0 1 0 0
0--Parade/0_Parade_b_2.jpg
0
0 0 0 0 0 0 0 0 0 0
1--Handshaking/1_Handshaking_c_3.jpg
1
50 30 30 40 0 0 0 0 1 0
"""


def _wider(root, text=WIDER_GT, split="val", missing=()):
    (root / "wider_face_split").mkdir(parents=True, exist_ok=True)
    (root / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt").write_text(text)
    for line in text.splitlines():
        if line.endswith(".jpg") and line not in missing:
            write_image(root / f"WIDER_{split}" / "images" / line, 64, 48)
    return root


def test_wider_face_box_for_box(tmp_path):
    ds, report = run("wider_face", _wider(tmp_path / "in"), tmp_path / "out", split="val")
    got = boxes(ds, "val")
    assert got == {
        "val/0--Parade/0_Parade_a_1.jpg": [([10, 5, 30, 35], FACE)],  # invalid=1 box skipped
        "val/0--Parade/0_Parade_b_2.jpg": [],  # count 0: a negative
        "val/1--Handshaking/1_Handshaking_c_3.jpg": [([50, 30, 64, 48], FACE)],  # clipped
    }
    assert report.objects_skipped == {"WIDER invalid=1": 1}
    assert report.notes["box clipped to the image"] == 1
    row = ds.annotations("val")[0]
    assert row["meta"]["source"] == "wider_face" and row["meta"]["licence"] == "CC BY-NC-ND 4.0"
    assert row["meta"]["split"] == "val" and row["meta"]["skin_tone"] == 0
    assert not row["meta"]["synthetic"] and "Parade" not in row["id"]
    assert json.loads(row["objects"][0]["attrs"])["occlusion"] == 0
    assert ds.info["sources"]["wider_face"]["non_commercial"] is True
    assert ds.splits == ("val",)
    card = (ds.path / "DATASET_CARD.md").read_text()
    assert "CC BY-NC-ND 4.0" in card and "Synthetic boxes" not in card


def test_wider_face_malformed_lines_skip_their_image_only(tmp_path):
    text = (
        "0--Parade/a.jpg\nx\n1 2 3 4 0 0 0 0 0 0\n"  # bad count (line 2)
        "0--Parade/b.jpg\n1\n1 2 3 4 0 0\n"  # 6 numbers (line 6)
        "0--Parade/c.jpg\n3\n1 2 3 4 0 0 0 0 0 0\n"  # fewer box lines than the count
        "0--Parade/d.jpg\n1\n2 2 10 10 0 0 0 0 0 0\n"  # good
        "0--Parade/e.jpg\n1\n2 2 10 10 0 0 0 0 0 0\n"  # image missing
        "0--Parade/f.jpg\n1\n2 2 0 10 0 0 0 0 0 0\n"  # zero-width box
    )
    root = _wider(tmp_path / "in", text, missing=("0--Parade/e.jpg",))
    ds, report = run("wider_face", root, tmp_path / "out", split="val")
    assert sorted(boxes(ds, "val")) == ["val/0--Parade/d.jpg", "val/0--Parade/f.jpg"]
    assert report.samples_skipped == {
        "malformed box count line": 1,
        "malformed box line (expected 10 numbers)": 1,
        "fewer box lines than the count 3": 1,
        "image file missing": 1,
    }
    assert report.objects_skipped == {"empty box (zero or negative size)": 1}
    assert report.examples["image: malformed box count line"] == "wider_face_val_bbx_gt.txt:2"
    assert report.examples["image: malformed box line (expected 10 numbers)"].endswith(":6")
    assert report.examples["image: image file missing"] == "wider_face_val_bbx_gt.txt:13"
    summary = report.summary()
    assert "malformed box count line" in summary and "e.jpg" not in summary


def test_wider_face_missing_annotation_file_and_test_split(tmp_path):
    root = _wider(tmp_path / "in")
    with pytest.raises(DatasetError, match="WIDER FACE train annotations not found"):
        run("wider_face", root, tmp_path / "o1", split="train")
    with pytest.raises(DatasetError, match="no test boxes"):
        run("wider_face", root, tmp_path / "o2", split="test")
    with pytest.raises(ConfigError, match="fixed licence"):
        run("wider_face", root, tmp_path / "o3", split="val", licence="CC0-1.0")


def test_corrupt_image_is_skipped_and_out_dir_kept(tmp_path):
    root = _wider(tmp_path / "in")
    (root / "WIDER_val/images/0--Parade/0_Parade_b_2.jpg").write_bytes(b"\xff\xd8\xff garbage")
    ds, report = run("wider_face", root, tmp_path / "out", split="val")
    assert ds.num_samples("val") == 2
    assert report.samples_skipped == {"corrupt or unreadable image": 1}
    with pytest.raises(ConfigError, match="already holds a dataset"):
        run("wider_face", root, tmp_path / "out", split="val")


@pytest.mark.parametrize(
    ("orientation", "expected"),
    [
        (1, [10, 5, 30, 20]),
        (3, [34, 28, 54, 43]),  # 180°: (W - x1, H - y1, W - x0, H - y0) with W=64, H=48
        (6, [28, 10, 43, 30]),  # 90° clockwise: (H - y1, x0, H - y0, x1); image becomes 48x64
        (8, [5, 34, 20, 54]),  # 90° counter-clockwise: (y0, W - x1, y1, W - x0)
    ],
)
def test_exif_orientation_is_applied_to_pixels_and_boxes(tmp_path, orientation, expected):
    root = tmp_path / "in"
    text = "0--Parade/r.jpg\n1\n10 5 20 15 0 0 0 0 0 0\n"
    (root / "wider_face_split").mkdir(parents=True)
    (root / "wider_face_split" / "wider_face_val_bbx_gt.txt").write_text(text)
    # a white patch exactly where the stored-grid box is (PNG: exact pixels)
    pixels = np.zeros((48, 64, 3), np.uint8)
    pixels[5:20, 10:30] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = root / "WIDER_val/images/0--Parade/r.jpg"
    path.parent.mkdir(parents=True)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", exif=exif.tobytes())
    path.write_bytes(buf.getvalue())
    ds, _ = run("wider_face", root, tmp_path / "out", split="val")
    row = next(ds.iter_samples("val"))
    assert [round(v) for v in row["objects"][0]["bbox_xyxy"]] == expected
    img = Image.open(io.BytesIO(row["image"]))
    assert img.getexif().get(0x0112, 1) == 1
    arr = np.asarray(img.convert("RGB"))
    assert (row["width"], row["height"]) == (arr.shape[1], arr.shape[0])
    x0, y0, x1, y1 = expected
    assert arr[y0:y1, x0:x1].min() == 255 and arr.sum() == 255 * 3 * 20 * 15


def test_fddb_ellipse_box_is_tight():
    assert ellipse_box(20, 10, 0.0, 50, 40) == pytest.approx((30, 30, 70, 50))
    assert ellipse_box(20, 10, math.pi / 2, 50, 40) == pytest.approx((40, 20, 60, 60))
    # 45°: half extents sqrt((a² + b²) / 2) on both axes
    r = math.sqrt((20**2 + 10**2) / 2)
    assert ellipse_box(20, 10, math.pi / 4, 50, 40) == pytest.approx(
        (50 - r, 40 - r, 50 + r, 40 + r)
    )
    # a dense sample of the ellipse touches the box on all four sides
    a, b, t = 30.0, 12.0, 0.7
    s = np.linspace(0, 2 * np.pi, 20001)
    xs = a * np.cos(s) * np.cos(t) - b * np.sin(s) * np.sin(t)
    ys = a * np.cos(s) * np.sin(t) + b * np.sin(s) * np.cos(t)
    assert ellipse_box(a, b, t, 0, 0) == pytest.approx(
        (xs.min(), ys.min(), xs.max(), ys.max()), abs=1e-3
    )


def test_fddb_folds_to_splits(tmp_path):
    root = tmp_path / "in"
    folds = root / "FDDB-folds"
    folds.mkdir(parents=True)
    (folds / "FDDB-fold-01-ellipseList.txt").write_text(
        "2002/08/11/big/img_591\n1\n20.0 10.0 0.0 30.0 24.0  1\n"
        "2002/08/11/big/img_592\n2\n10 5 1.5707963267948966 20 20 1\n5 5 0 60 40 1\n"
    )
    (folds / "FDDB-fold-02-ellipseList.txt").write_text(
        "2003/01/01/big/img_1\n1\n10 5 0 20 20\n"  # 5 numbers: malformed
        "2003/01/01/big/img_2\n1\n10 5 0 20 20 1\n"
    )
    for name in (
        "2002/08/11/big/img_591",
        "2002/08/11/big/img_592",
        "2003/01/01/big/img_1",
        "2003/01/01/big/img_2",
    ):
        write_image(root / "originalPics" / f"{name}.jpg", 64, 48)
    ds, report = run(
        "fddb", root, tmp_path / "out", fddb_folds={"train": [1], "val": [2], "test": []}
    )
    assert boxes(ds, "train") == {
        "2002/08/11/big/img_591.jpg": [([10, 14, 50, 34], FACE)],
        "2002/08/11/big/img_592.jpg": [([15, 10, 25, 30], FACE), ([55, 35, 64, 45], FACE)],
    }
    assert boxes(ds, "val") == {"2003/01/01/big/img_2.jpg": [([10, 15, 30, 25], FACE)]}
    assert report.samples_skipped == {"malformed ellipse line (expected 6 numbers)": 1}
    assert report.examples["image: malformed ellipse line (expected 6 numbers)"] == (
        "FDDB-fold-02-ellipseList.txt:3"
    )
    with pytest.raises(DatasetError, match="FDDB fold 3"):
        run("fddb", root, tmp_path / "o2", fddb_folds={"train": [1], "val": [], "test": [3]})
