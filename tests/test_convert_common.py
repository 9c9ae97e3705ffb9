"""Converter helpers (tiny images in a dataset's real layout) and tests of what every
converter shares: CLI, exit codes, out_dir safety, evaluation of a converted dataset."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from figure_ml.config import ConvertConfig
from figure_ml.data.convert import convert
from figure_ml.errors import ConfigError, DatasetError
from figure_ml.eval.data import load_eval_data


def write_image(
    path: Path,
    w: int = 64,
    h: int = 48,
    *,
    fmt: str = "JPEG",
    value: int = 120,
    orientation: int | None = None,
) -> Path:
    """A flat image (PNG or JPEG) at ``path``, optionally with an EXIF orientation tag."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.full((h, w, 3), value, np.uint8))
    kwargs = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    path.write_bytes(buf.getvalue())
    return path


def run(source: str, root: Path, out: Path, **kw):
    """Convert and return (dataset, report)."""
    res = convert(ConvertConfig(source=source, input=str(root), out_dir=str(out), **kw))
    return res.dataset, res.report


def boxes(ds, split: str) -> dict[str, list[tuple[list[float], int]]]:
    """original_name -> [(bbox, class id)] of a split."""
    return {
        r["meta"]["original_name"]: [
            ([round(v, 3) for v in o["bbox_xyxy"]], o["category"]) for o in r["objects"]
        ]
        for r in ds.annotations(split)
    }


# --- tests of what every converter shares ---------------------------------------------------

WIDER_GT = "0--Parade/a.jpg\n1\n10 5 20 30 0 0 0 0 0 0\n0--Parade/b.jpg\nx\n"


def _wider_fixture(root: Path) -> Path:
    (root / "wider_face_split").mkdir(parents=True)
    (root / "wider_face_split" / "wider_face_val_bbx_gt.txt").write_text(WIDER_GT)
    write_image(root / "WIDER_val" / "images" / "0--Parade" / "a.jpg")
    return root


def test_convert_cli_summary_and_exit_codes(tmp_path):
    root = _wider_fixture(tmp_path / "in")
    cmd = [
        sys.executable,
        "-m",
        "figure_ml.data.convert",
        "source=wider_face",
        f"input={root}",
        "split=val",
        f"out_dir={tmp_path / 'out'}",
        f"hydra.run.dir={tmp_path / 'h'}",
    ]
    # cwd: Hydra's log folder of a run without hydra.run.dir stays out of the checkout
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "malformed box count line" in res.stdout and "wider_face_val_bbx_gt.txt:5" in res.stdout
    assert "digest:" in res.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert again.returncode == 2 and "already holds a dataset" in again.stderr
    bad = subprocess.run(
        [*cmd[:3], "source=nope", f"input={root}", f"out_dir={tmp_path / 'o2'}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "unknown source 'nope'" in bad.stderr


def test_converted_dataset_is_evaluable_by_source(tmp_path):
    ds, _ = run("wider_face", _wider_fixture(tmp_path / "in"), tmp_path / "out", split="val")
    data = load_eval_data(ds.path, "val")
    image, gt = data.items[0].read()
    assert image.shape == (48, 64, 3) and gt.source == "wider_face"
    assert gt.boxes.tolist() == [[10, 5, 30, 35]]
    assert ds.verify() == ds.digest


def test_missing_input_and_bad_config(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        run("wider_face", tmp_path / "nowhere", tmp_path / "o")
    with pytest.raises(ConfigError, match="split must be all or one of"):
        run("wider_face", tmp_path, tmp_path / "o", split="dev")
    with pytest.raises(ConfigError, match="source_name is only for generic"):
        run("wider_face", tmp_path, tmp_path / "o", source_name="x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        run("wider_face", _wider_fixture(tmp_path / "in"), tmp_path / "full", split="val")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_odd_image_modes_are_stored_as_plain_rgb(tmp_path):
    root = tmp_path / "in"
    (root / "labels" / "train").mkdir(parents=True)
    (root / "classes.txt").write_text("tattoo\n")
    img_dir = root / "images" / "train"
    img_dir.mkdir(parents=True)
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(img_dir / "cmyk.jpg")
    Image.new("RGBA", (40, 30), (255, 0, 0, 0)).save(img_dir / "rgba.png")  # transparent
    Image.fromarray(np.full((30, 40), 40000, np.uint16)).save(img_dir / "deep.png")  # 16-bit
    write_image(img_dir / "plain.jpg", 40, 30)
    for stem in ("cmyk", "rgba", "deep", "plain"):
        (root / "labels" / "train" / f"{stem}.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    ds, report = run(
        "yolo",
        root,
        tmp_path / "out",
        licence="CC0-1.0",
        classes={"tattoo": "tattoo"},
        val_fraction=0.0,
    )
    rows = {r["meta"]["original_name"]: r for r in ds.iter_samples("train")}
    plain = (img_dir / "plain.jpg").read_bytes()
    assert rows["train/plain.jpg"]["image"] == plain  # untouched: no generation loss
    for name, fmt in (
        ("train/cmyk.jpg", "JPEG"),
        ("train/rgba.png", "PNG"),
        ("train/deep.png", "PNG"),
    ):
        img = Image.open(io.BytesIO(rows[name]["image"]))
        assert (img.format, img.mode, img.size) == (fmt, "RGB", (40, 30)), name
        assert rows[name]["objects"][0]["bbox_xyxy"] == [10, 7.5, 30, 22.5]
    rgba = np.asarray(Image.open(io.BytesIO(rows["train/rgba.png"]["image"])))
    assert rgba.min() == 255  # transparent pixels composited on white, as viewers show them
    assert sum(report.images_written.values()) == 4
