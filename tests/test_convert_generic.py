"""Generic converters (COCO JSON, Pascal VOC, YOLO) with class maps and licences."""

import json

import pytest

from figure_ml.errors import ConfigError
from test_convert_common import boxes, run, write_image

FACE, TATTOO, WRISTBAND, TEXT = 0, 1, 2, 3


def _coco(root):
    (root / "annotations").mkdir(parents=True)
    data = {
        "images": [
            {"id": 1, "file_name": "t1.jpg", "width": 64, "height": 48},
            {"id": 2, "file_name": "t2.jpg", "width": 64, "height": 48},
            {"id": 3, "file_name": "t3.jpg", "width": 64, "height": 48},
            {"id": 4, "file_name": "t4.jpg", "width": 64, "height": 48},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 7, "bbox": [2, 3, 10, 20], "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 8, "bbox": [30, 3, 10, 10], "iscrowd": 0},
            {"id": 3, "image_id": 1, "category_id": 9, "bbox": [0, 0, 5, 5], "iscrowd": 0},
            {"id": 4, "image_id": 2, "category_id": 7, "bbox": [0, 0, 60, 40], "iscrowd": 1},
            {"id": 5, "image_id": 3, "category_id": 7, "bbox": "oops", "iscrowd": 0},
            {"id": 6, "image_id": 4, "category_id": 99, "bbox": [1, 1, 2, 2], "iscrowd": 0},
        ],
        "categories": [
            {"id": 7, "name": "tattoo"},
            {"id": 8, "name": "person"},
            {"id": 9, "name": "band"},
        ],
    }
    (root / "annotations" / "instances_train2017.json").write_text(json.dumps(data))
    for i in (1, 2, 3, 4):
        write_image(root / "train2017" / f"t{i}.jpg")
    return root


def test_coco_class_map_crowd_and_malformed(tmp_path):
    ds, report = run(
        "coco",
        _coco(tmp_path / "in"),
        tmp_path / "out",
        licence="CC-BY-4.0",
        source_name="tattoo_set",
        classes={"tattoo": "tattoo", "person": None},
        val_fraction=0.0,
    )
    assert boxes(ds, "train") == {"t1.jpg": [([2, 3, 12, 23], TATTOO)], "t2.jpg": []}
    assert report.objects_skipped == {"label 'band' not in classes map": 1, "iscrowd=1 region": 1}
    assert report.notes["label 'person' dropped by classes map"] == 1
    assert report.samples_skipped == {
        "malformed annotation (ValueError)": 1,
        "malformed annotation (missing or unknown category_id)": 1,
    }
    row = ds.annotations("train")[0]
    assert row["meta"]["source"] == "tattoo_set" and row["meta"]["licence"] == "CC-BY-4.0"
    assert ds.info["sources"]["tattoo_set"]["commercial_safe"] is True


def test_generic_needs_licence_and_class_map(tmp_path):
    root = _coco(tmp_path / "in")
    with pytest.raises(ConfigError, match=r"licence=\.\.\. is required for source=coco"):
        run("coco", root, tmp_path / "o1", classes={"tattoo": "tattoo"})
    with pytest.raises(ConfigError, match="classes: source=coco needs a map"):
        run("coco", root, tmp_path / "o2", licence="unknown")
    with pytest.raises(ConfigError, match="unknown PHI class"):
        run("coco", root, tmp_path / "o3", licence="unknown", classes={"tattoo": "tatoo"})
    ds, _ = run("coco", root, tmp_path / "o4", licence="unknown", classes={"tattoo": "tattoo"})
    assert ds.info["sources"]["coco"]["commercial_safe"] is False


def test_generic_folder_without_val_gets_a_hashed_val_share(tmp_path):
    root = tmp_path / "in"
    images = [{"id": i, "file_name": f"p{i}.png", "width": 16, "height": 16} for i in range(30)]
    anns = [{"id": i, "image_id": i, "category_id": 1, "bbox": [1, 1, 4, 4]} for i in range(30)]
    root.mkdir()
    (root / "annotations.json").write_text(
        json.dumps(
            {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "tattoo"}]}
        )
    )
    for i in range(30):
        write_image(root / "images" / f"p{i}.png", 16, 16, fmt="PNG", value=i)
    kw = {"licence": "CC0-1.0", "classes": {"tattoo": "tattoo"}}
    ds, _ = run("coco", root, tmp_path / "a", **kw)
    val = set(boxes(ds, "val"))
    assert 1 <= len(val) <= 8 and ds.num_samples("train") == 30 - len(val)
    assert ds.info["generator"]["config"]["val_fraction"] == 0.1
    only_val, _ = run("coco", root, tmp_path / "b", split="val", **kw)
    assert set(boxes(only_val, "val")) == val  # the same rows, whichever split is asked for
    none, _ = run("coco", root, tmp_path / "c", val_fraction=0.0, **kw)
    assert none.splits == ("train",)


VOC_XML = """<annotation>
  <filename>band_001.jpg</filename>
  <size><width>64</width><height>48</height><depth>3</depth></size>
  <object><name>wristband</name><difficult>0</difficult>
    <bndbox><xmin>1</xmin><ymin>11</ymin><xmax>30</xmax><ymax>20</ymax></bndbox></object>
  <object><name>label</name><difficult>1</difficult>
    <bndbox><xmin>41</xmin><ymin>5</ymin><xmax>64</xmax><ymax>48</ymax></bndbox></object>
</annotation>
"""


def test_voc_one_based_boxes_and_image_sets(tmp_path):
    root = tmp_path / "in"
    (root / "Annotations").mkdir(parents=True)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "Annotations" / "band_001.xml").write_text(VOC_XML)
    (root / "Annotations" / "band_002.xml").write_text("<annotation><object>\n<name>x</name>")
    (root / "Annotations" / "band_003.xml").write_text(
        VOC_XML.replace("band_001", "band_003").replace("<xmin>1</xmin>", "<xmin>a</xmin>")
    )
    (root / "ImageSets" / "Main" / "train.txt").write_text("band_001\nband_002\nband_003\n")
    (root / "ImageSets" / "Main" / "val.txt").write_text("band_004\n")
    for i in (1, 2, 3):
        write_image(root / "JPEGImages" / f"band_00{i}.jpg")
    ds, report = run(
        "voc",
        root,
        tmp_path / "out",
        licence="proprietary-owned",
        source_name="inhouse_wristbands",
        classes={"wristband": "wristband", "label": "text"},
        val_fraction=0.0,
    )
    assert boxes(ds, "train") == {
        "band_001.jpg": [([0, 10, 30, 20], WRISTBAND), ([40, 4, 64, 48], TEXT)]
    }
    assert report.samples_skipped == {
        "malformed XML": 1,
        "malformed object (bndbox needs numeric xmin/ymin/xmax/ymax)": 1,
        "annotation XML missing": 1,
    }
    assert report.examples["image: malformed XML"] == "band_002.xml:2"
    assert report.examples["image: annotation XML missing"] == "val.txt:1"
    assert json.loads(ds.annotations("train")[0]["objects"][1]["attrs"])["difficult"] is True
    assert ds.info["sources"]["inhouse_wristbands"]["commercial_safe"] is True


def test_yolo_folder_boxes_polygons_and_bad_lines(tmp_path):
    root = tmp_path / "in"
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "val").mkdir(parents=True)
    (root / "data.yaml").write_text(
        "path: /elsewhere\ntrain: images/train\nval: images/val\nnames: {0: ink, 1: skin}\n"
    )
    write_image(root / "images" / "train" / "a.jpg", 100, 50)
    write_image(root / "images" / "train" / "b.png", 100, 50, fmt="PNG")
    write_image(root / "images" / "train" / "c.jpg", 100, 50)
    write_image(root / "images" / "val" / "d.jpg", 100, 50)
    write_image(root / "images" / "val" / "e.jpg", 100, 50)
    (root / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.2 0.4\n1 0.1 0.1 0.1 0.1\n")
    (root / "labels" / "train" / "b.txt").write_text("0 0.1 0.2 0.3 0.2 0.3 0.6\n")  # polygon
    (root / "labels" / "val" / "d.txt").write_text("0 0.5 0.5 0.2\n")  # 4 fields
    (root / "labels" / "val" / "e.txt").write_text("5 0.5 0.5 0.2 0.2\n")  # class id
    ds, report = run(
        "yolo",
        root,
        tmp_path / "out",
        licence="CC-BY-NC-4.0",
        classes={"ink": "tattoo", "skin": None},
    )
    assert boxes(ds, "train") == {
        "train/a.jpg": [([40, 15, 60, 35], TATTOO)],
        "train/b.png": [([10, 10, 30, 30], TATTOO)],
        "train/c.jpg": [],  # no label file: a negative
    }
    assert report.samples_skipped == {
        "malformed label line (class cx cy w h, or a polygon)": 1,
        "class id out of range 0..1": 1,
    }
    assert report.examples["image: class id out of range 0..1"] == "val/e.txt:1"
    assert report.notes["image without a label file (kept as negative)"] == 1
    assert ds.info["sources"]["yolo"]["non_commercial"] is True
