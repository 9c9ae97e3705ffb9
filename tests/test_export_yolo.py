"""Canonical dataset -> YOLO layout, box for box."""

import io
import subprocess
import sys

import numpy as np
import pytest
import yaml
from PIL import Image

from figure_ml.classes import names_dict
from figure_ml.data.canonical import CanonicalWriter, open_dataset
from figure_ml.data.export_yolo import export_yolo
from figure_ml.errors import ConfigError


def _png(w, h):
    buf = io.BytesIO()
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture()
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    w = CanonicalWriter(tmp_path / "canon")
    for i, split in enumerate(["train"] * 4 + ["val"] * 2 + ["test"] * 2):
        W, H = int(rng.integers(100, 300)), int(rng.integers(100, 300))
        objects = []
        for _ in range(int(rng.integers(0, 5))):
            x0, y0 = rng.uniform(0, W - 10), rng.uniform(0, H - 10)
            x1, y1 = rng.uniform(x0 + 1, W), rng.uniform(y0 + 1, H)
            objects.append({"bbox_xyxy": [x0, y0, x1, y1], "category": int(rng.integers(4))})
        w.add(
            {
                "id": f"img-{i:03d}",
                "image": _png(W, H),
                "width": W,
                "height": H,
                "objects": objects,
                "findings": [],
                "meta": {"source": "unit", "licence": "CC0", "split": split, "skin_tone": 0},
            }
        )
    w.finish({"synthetic": True, "sources": {"unit": {"licence": "CC0"}}})
    return open_dataset(tmp_path / "canon")


def test_round_trip_box_for_box(dataset, tmp_path):
    data_yaml = export_yolo(dataset, tmp_path / "yolo")
    data = yaml.safe_load(data_yaml.read_text())
    assert data["names"] == names_dict() and data["nc"] == 4
    root = tmp_path / "yolo"
    n_boxes = 0
    for split in ("train", "val", "test"):
        assert data[split] == f"images/{split}"
        samples = list(dataset.iter_samples(split))
        assert len(list((root / "images" / split).iterdir())) == len(samples)
        for s in samples:
            assert (root / "images" / split / f"{s['id']}.png").read_bytes() == s["image"]
            lines = (root / "labels" / split / f"{s['id']}.txt").read_text().splitlines()
            assert len(lines) == len(s["objects"])
            for line, o in zip(lines, s["objects"], strict=True):
                c, cx, cy, bw, bh = line.split()
                cx, cy, bw, bh = (float(v) for v in (cx, cy, bw, bh))
                back = [
                    (cx - bw / 2) * s["width"],
                    (cy - bh / 2) * s["height"],
                    (cx + bw / 2) * s["width"],
                    (cy + bh / 2) * s["height"],
                ]
                assert int(c) == o["category"]
                assert np.allclose(back, o["bbox_xyxy"], atol=1e-3 * max(s["width"], s["height"]))
                n_boxes += 1
    assert n_boxes > 5  # the fixture really has boxes to compare (seeded: 0-4 an image)


def test_empty_label_file_for_an_image_without_phi(dataset, tmp_path):
    export_yolo(dataset, tmp_path / "yolo")
    empties = [
        s for sp in ("train", "val", "test") for s in dataset.iter_samples(sp) if not s["objects"]
    ]
    for s in empties:
        assert (
            tmp_path / "yolo" / "labels" / s["meta"]["split"] / f"{s['id']}.txt"
        ).read_text() == ""


def test_existing_folder_is_kept_unless_overwrite(dataset, tmp_path):
    export_yolo(dataset, tmp_path / "yolo", ["train"])
    with pytest.raises(ConfigError, match="exists"):
        export_yolo(dataset, tmp_path / "yolo")
    assert not (tmp_path / "yolo" / "images" / "val").exists()
    export_yolo(dataset, tmp_path / "yolo", overwrite=True)
    assert (tmp_path / "yolo" / "images" / "val").is_dir()
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "x.txt").write_text("x")
    with pytest.raises(ConfigError, match="not a YOLO export"):
        export_yolo(dataset, tmp_path / "foreign", overwrite=True)
    with pytest.raises(ConfigError, match="splits"):
        export_yolo(dataset, tmp_path / "y2", ["holdout"])


def test_cli(dataset, tmp_path):
    out = tmp_path / "cli_yolo"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "figure_ml.data.export_yolo",
            f"dataset={dataset.path}",
            f"out_dir={out}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert (out / "data.yaml").is_file()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "figure_ml.data.export_yolo",
            f"dataset={tmp_path / 'missing'}",
            f"out_dir={out}2",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "does not exist" in r.stderr


@pytest.fixture()
def val_only(tmp_path):
    """An evaluation set: a canonical dataset whose only split is ``val``."""
    w = CanonicalWriter(tmp_path / "val_only")
    for i in range(3):
        w.add(
            {
                "id": f"v-{i}",
                "image": _png(64, 48),
                "width": 64,
                "height": 48,
                "objects": [{"bbox_xyxy": [8, 4, 40, 36], "category": i % 4}],
                "findings": [],
                "meta": {"source": "unit", "licence": "CC0", "split": "val", "skin_tone": 0},
            }
        )
    w.finish({"synthetic": True, "sources": {"unit": {"licence": "CC0"}}})
    return open_dataset(tmp_path / "val_only")


def test_default_exports_the_splits_the_dataset_has(val_only, tmp_path):
    data = yaml.safe_load(export_yolo(val_only, tmp_path / "y").read_text())
    assert "val" in data and "train" not in data and "test" not in data
    assert sorted(p.name for p in (tmp_path / "y" / "images").iterdir()) == ["val"]
    assert sorted(p.name for p in (tmp_path / "y" / "labels" / "val").iterdir()) == [
        "v-0.txt",
        "v-1.txt",
        "v-2.txt",
    ]
    # box [8, 4, 40, 36] in 64x48: centre (24, 20), size (32, 32)
    assert (tmp_path / "y" / "labels" / "val" / "v-1.txt").read_text() == (
        "1 0.375000 0.416667 0.500000 0.666667\n"
    )
    # naming a split it lacks is still an error
    with pytest.raises(ConfigError, match=r"\['train'\] not in dataset"):
        export_yolo(val_only, tmp_path / "y2", ["train", "val"])


def test_cli_default_on_a_val_only_dataset(val_only, tmp_path):
    out = tmp_path / "cli_val"
    r = subprocess.run(
        [sys.executable, "-m", "figure_ml.data.export_yolo", f"dataset={val_only.path}",
         f"out_dir={out}"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (out / "images").iterdir()) == ["val"]
