"""Text converters: TextOCR, COCO-Text v2, ICDAR 2015, Total-Text — box for box."""

import json

import pytest

from figure_ml.errors import DatasetError
from test_convert_common import boxes, run, write_image

TEXT = 3


def _textocr(root):
    imgs = {
        "a1": {"id": "a1", "width": 64, "height": 48, "set": "train", "file_name": "train/a1.jpg"},
        "a2": {"id": "a2", "width": 64, "height": 48, "set": "train", "file_name": "train/a2.jpg"},
        "a3": {"id": "a3", "width": 64, "height": 48, "set": "train", "file_name": "train/a3.jpg"},
    }
    anns = {
        "a1_1": {"id": "a1_1", "image_id": "a1", "bbox": [1, 2, 10, 5], "utf8_string": "Smith"},
        "a1_2": {"id": "a1_2", "image_id": "a1", "bbox": [20, 20, 8, 4], "utf8_string": "."},
        "a3_1": {"id": "a3_1", "image_id": "a3", "bbox": [1, 2, 10], "utf8_string": "x"},
    }
    root.mkdir(parents=True)
    (root / "TextOCR_0.1_train.json").write_text(
        json.dumps(
            {
                "imgs": imgs,
                "anns": anns,
                "imgToAnns": {"a1": ["a1_1", "a1_2"], "a2": [], "a3": ["a3_1"]},
            }
        )
    )
    for name in ("a1", "a2", "a3"):
        write_image(root / "train_images" / f"{name}.jpg")  # the zip's folder, not "train/"
    return root


def test_textocr_box_for_box_and_illegible(tmp_path):
    root = _textocr(tmp_path / "in")
    ds, report = run("textocr", root, tmp_path / "out", split="train", val_fraction=0.0)
    assert boxes(ds, "train") == {
        "train/a1.jpg": [([1, 2, 11, 7], TEXT), ([20, 20, 28, 24], TEXT)],
        "train/a2.jpg": [],
    }
    attrs = [json.loads(o["attrs"]) for o in ds.annotations("train")[0]["objects"]]
    assert attrs == [{"legible": True}, {"legible": False}]  # no transcription copied
    assert report.samples_skipped == {"malformed annotation (ValueError)": 1}
    assert report.examples["image: malformed annotation (ValueError)"] == (
        "TextOCR_0.1_train.json: image a3"
    )
    ds2, report2 = run(
        "textocr", root, tmp_path / "out2", split="train", keep_illegible=False, keep_empty=False
    )
    assert boxes(ds2, "train") == {"train/a1.jpg": [([1, 2, 11, 7], TEXT)]}
    assert report2.objects_skipped["illegible text dropped (keep_illegible=false)"] == 1


def test_textocr_bad_json_names_line(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    (root / "TextOCR_0.1_train.json").write_text('{"imgs": {},\n "anns": [,]}')
    with pytest.raises(DatasetError, match=r"TextOCR_0.1_train.json:2:\d+: not valid JSON"):
        run("textocr", root, tmp_path / "out", split="train")
    (root / "TextOCR_0.1_train.json").write_text('{"imgs": {}}')
    with pytest.raises(DatasetError, match=r"missing top-level key\(s\) \['anns', 'imgToAnns'\]"):
        run("textocr", root, tmp_path / "out", split="train")


def test_coco_text_sets_and_legibility(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    imgs = {
        "1": {
            "id": 1,
            "set": "train",
            "width": 64,
            "height": 48,
            "file_name": "COCO_train2014_000000000001.jpg",
        },
        "2": {
            "id": 2,
            "set": "val",
            "width": 64,
            "height": 48,
            "file_name": "COCO_train2014_000000000002.jpg",
        },
        "3": {
            "id": 3,
            "set": "val",
            "width": 50,
            "height": 50,  # wrong declared size
            "file_name": "COCO_train2014_000000000003.jpg",
        },
    }
    anns = {
        "10": {
            "id": 10,
            "image_id": 1,
            "bbox": [5.5, 6, 10, 4],
            "legibility": "legible",
            "language": "english",
            "class": "machine printed",
            "utf8_string": "MRN",
        },
        "11": {
            "id": 11,
            "image_id": 2,
            "bbox": [0, 0, 5, 5],
            "legibility": "illegible",
            "language": "na",
            "class": "handwritten",
        },
    }
    (root / "cocotext.v2.json").write_text(
        json.dumps({"imgs": imgs, "anns": anns, "imgToAnns": {"1": [10], "2": [11], "3": []}})
    )
    for i in (1, 2, 3):
        write_image(root / "train2014" / f"COCO_train2014_00000000000{i}.jpg")
    ds, report = run("coco_text", root, tmp_path / "out")
    assert boxes(ds, "train") == {"COCO_train2014_000000000001.jpg": [([5.5, 6, 15.5, 10], TEXT)]}
    assert boxes(ds, "val") == {"COCO_train2014_000000000002.jpg": [([0, 0, 5, 5], TEXT)]}
    assert json.loads(ds.annotations("val")[0]["objects"][0]["attrs"]) == {
        "legible": False,
        "language": "na",
        "text_class": "handwritten",
    }
    assert report.samples_skipped == {"annotation says 50x50 but the image is 64x48": 1}
    assert ds.info["sources"]["coco_text"]["commercial_safe"] is False


def _icdar(root):
    gt = root / "ch4_training_localization_transcription_gt"
    gt.mkdir(parents=True)
    (root / "ch4_test_images").mkdir()
    (root / "Challenge4_Test_Task1_GT").mkdir()
    # UTF-8 BOM, a transcription with a comma, a don't-care, a rotated quad
    (gt / "gt_img_1.txt").write_bytes(
        "\ufeff377,117,463,117,465,130,378,130,Genaxis Theatre\n"
        "10,10,20,12,19,20,9,18,###\n"
        "1,1,5,1,5,5,1,5,Smith, John\n".encode()
    )
    (gt / "gt_img_2.txt").write_text("1,2,3,4,5,6,7\n")  # malformed
    (gt / "gt_img_10.txt").write_text("")  # no text: a negative
    for i in (1, 2, 10):
        write_image(root / "ch4_training_images" / f"img_{i}.jpg", 1280, 720)
    write_image(root / "ch4_test_images" / "img_1.jpg", 1280, 720)
    (root / "Challenge4_Test_Task1_GT" / "gt_img_1.txt").write_text("0,0,9,0,9,9,0,9,x\n")
    return root


def test_icdar2015_quads(tmp_path):
    ds, report = run("icdar2015", _icdar(tmp_path / "in"), tmp_path / "out", val_fraction=0.0)
    assert boxes(ds, "train") == {
        "ch4_training_images/img_1.jpg": [
            ([377, 117, 465, 130], TEXT),
            ([9, 10, 20, 20], TEXT),
            ([1, 1, 5, 5], TEXT),
        ],
        "ch4_training_images/img_10.jpg": [],
    }
    assert boxes(ds, "test") == {"ch4_test_images/img_1.jpg": [([0, 0, 9, 9], TEXT)]}
    legible = [json.loads(o["attrs"])["legible"] for o in ds.annotations("train")[0]["objects"]]
    assert legible == [True, False, True]
    assert report.samples_skipped == {"malformed line (expected x1,y1,...,x4,y4,text)": 1}
    assert report.examples["image: malformed line (expected x1,y1,...,x4,y4,text)"] == (
        "ch4_training_localization_transcription_gt/gt_img_2.txt:1"
    )


def test_icdar2015_val_is_carved_from_train_by_name(tmp_path):
    root = _icdar(tmp_path / "in")
    ds, _ = run("icdar2015", root, tmp_path / "out", val_fraction=0.5, keep_empty=True)
    train, val = set(boxes(ds, "train")), set(boxes(ds, "val"))
    assert train | val == {"ch4_training_images/img_1.jpg", "ch4_training_images/img_10.jpg"}
    assert not train & val
    again, _ = run("icdar2015", root, tmp_path / "out2", val_fraction=0.5)
    assert again.digest == ds.digest
    with pytest.raises(DatasetError, match="ICDAR 2015 train folder not found"):
        run("icdar2015", tmp_path, tmp_path / "out3")


TOTAL_TEXT_GT = (
    "x: [[115 503 494 115]], y: [[322 346 426 404]], ornt: [u'h'], transcriptions: [u'nauGHTY']\n"
    "x: [[ 94 162 241 316 325 251 171\n  100]], y: [[282 233 219 254 290 273 270\n  310]], "
    "ornt: [u'c'], transcriptions: [u'HEALTHY']\n"
    "x: [[10 20 20 10]], y: [[10 10 20 20]], ornt: [u'#'], transcriptions: [u'#']\n"
)


def test_total_text_polygons(tmp_path):
    root = tmp_path / "in"
    gt = root / "Groundtruth" / "Text" / "Train"
    gt.mkdir(parents=True)
    (gt / "poly_gt_img11.txt").write_text(TOTAL_TEXT_GT)
    (gt / "poly_gt_img12.txt").write_text(
        "x: [[1 2 3]], y: [[1 2]], ornt: [u'h'], transcriptions: [u'a']\n"
    )
    write_image(root / "Images" / "Train" / "img11.JPG", 800, 600)  # Total-Text mixes .JPG
    write_image(root / "Images" / "Train" / "img12.jpg", 800, 600)
    (root / "Images" / "Test").mkdir(parents=True)
    ds, report = run("total_text", root, tmp_path / "out", split="train", val_fraction=0.0)
    assert boxes(ds, "train") == {
        "Images/Train/img11.JPG": [
            ([115, 322, 503, 426], TEXT),
            ([94, 219, 325, 310], TEXT),
            ([10, 10, 20, 20], TEXT),
        ],
    }
    assert [json.loads(o["attrs"]) for o in ds.annotations("train")[0]["objects"]][1:] == [
        {"legible": True, "orientation": "c"},
        {"legible": False, "orientation": "#"},
    ]
    assert report.samples_skipped == {
        "malformed record (expected x: [[..]], y: [[..]], ornt, transcriptions)": 1
    }
    with pytest.raises(DatasetError, match="Total-Text test: no poly_gt"):
        run("total_text", root, tmp_path / "out2", split="test")
