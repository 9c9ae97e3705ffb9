"""model.weights=nudenet: NudeNet's YOLOv8n export converted into a starting checkpoint."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from figure_ml import yolo
from figure_ml.classes import CLASS_NAMES, class_id
from figure_ml.config import ModelConfig
from figure_ml.errors import BadInputError, ConfigError
from figure_ml.models import nudenet, resolve_weights
from figure_ml.teachers.base import TeacherUnavailable, locate


@pytest.fixture(scope="module")
def onnx_path() -> Path:
    return locate(nudenet.SPEC).path


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return list(nudenet.calibration_images(3))


@pytest.fixture(scope="module")
def converted(onnx_path: Path, images: list[np.ndarray]):
    return nudenet.convert(onnx_path, images)


def _onnx_raw(onnx_path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0][0]  # (4 + 18, anchors)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def test_converted_model_computes_what_the_export_computes(onnx_path, images, converted) -> None:
    """Eval mode, BatchNorms unfolded with calibration statistics: boxes equal the export's and
    the face score is the sigmoid of the mean of NudeNet's two face logits."""
    x = nudenet._as_input(images[0], 320)
    want = _onnx_raw(onnx_path, x.numpy())
    with torch.no_grad():
        got = converted(x)[0][0].numpy()
    scale = np.abs(want[:4]).max()
    assert np.abs(got[:4] - want[:4]).max() < 1e-4 * scale
    face = _logit(want[4 + np.array(nudenet.NUDENET_FACE_CLASSES)]).mean(0)
    # float32 scores near 1e-5 leave about 0.03 of logit precision; a wrong head is units off
    assert np.abs(_logit(got[4 + class_id("face")]) - face).max() < 0.1
    assert got.shape[0] == 4 + len(CLASS_NAMES)


def test_batchnorms_carry_the_calibration_statistics(converted, images) -> None:
    """In train mode (batch statistics) on the calibration images the network stays close to
    the export: the point of unfolding with measured statistics instead of an identity."""
    from ultralytics.nn.modules import Conv

    bns = [m.bn for m in converted.modules() if isinstance(m, Conv)]
    assert len(bns) > 50
    assert all(float(bn.running_var.min()) > 0 for bn in bns)
    assert not all(torch.allclose(bn.weight, torch.ones_like(bn.weight)) for bn in bns)
    first = converted.model[0]
    x = nudenet._as_input(images[1], 512)
    with torch.no_grad():
        y = first.conv(x)
    m = y.mean((0, 2, 3))
    # the first layer sees the picture itself: one calibration image's mean is near the three's
    assert torch.corrcoef(torch.stack([m, first.bn.running_mean]))[0, 1] > 0.9


def test_init_checkpoint_is_cached_and_records_its_source(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(nudenet, "CALIBRATION_IMAGES", 2)
    first = nudenet.init_checkpoint(tmp_path)
    stamp = first.stat().st_mtime_ns
    assert nudenet.init_checkpoint(tmp_path) == first
    assert first.stat().st_mtime_ns == stamp  # reused, not converted again
    ckpt = torch.load(first, map_location="cpu", weights_only=False)
    prov = ckpt["figure_ml_init"]
    assert prov["package"] == "nudenet" and prov["model_file"] == "nudenet/320n.onnx"
    assert prov["licence"] == "AGPL-3.0" and len(prov["sha256"]) == 64
    assert prov["sha256"] == locate(nudenet.SPEC).sha256
    assert dict(ckpt["model"].names) == dict(enumerate(CLASS_NAMES))
    # fine-tuning from it keeps everything, the class head included
    model = yolo.build_model("yolov8n.yaml", str(first))
    for got, want in zip(model.model.model[-1].cv3, ckpt["model"].model[-1].cv3, strict=True):
        assert torch.equal(got[-1].weight.float(), want[-1].weight.float())


def test_training_resolves_the_name_only_as_a_starting_point(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FIGURE_ML_CACHE", str(tmp_path))
    monkeypatch.setattr(nudenet, "CALIBRATION_IMAGES", 1)
    assert resolve_weights("nudenet") == "nudenet"  # eval and export: not a weights file
    path = Path(resolve_weights("nudenet", converted=True))
    assert path.parent == tmp_path and path.is_file()


def test_missing_package_is_a_clear_error(tmp_path, monkeypatch) -> None:
    def unavailable(_spec):
        raise TeacherUnavailable("teacher nudenet: package 'nudenet' is not installed")

    monkeypatch.setattr(nudenet, "locate", unavailable)
    with pytest.raises(BadInputError, match=r"figure_ml\[pretrained\]"):
        nudenet.init_checkpoint(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_config_refuses_nudenet_on_another_architecture() -> None:
    ModelConfig(name="yolov8n", yaml="yolov8n.yaml", weights="nudenet").validate()
    with pytest.raises(ConfigError, match="model=yolov8n"):
        ModelConfig(weights="nudenet").validate()
    with pytest.raises(ConfigError, match="nudenet"):
        ModelConfig(weights="imagenet").validate()


def test_calibration_images_are_synthetic_and_deterministic() -> None:
    a = list(itertools.islice(nudenet.calibration_images(2), 2))
    b = list(nudenet.calibration_images(2))
    assert len(a) == 2 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert a[0].ndim == 3 and a[0].shape[2] == 3


def test_real_init_experiment_starts_from_nudenet_with_a_frozen_backbone() -> None:
    from hydra import compose, initialize_config_dir

    from figure_ml.cli import CONFIG_DIR
    from figure_ml.config import TrainConfig, to_typed

    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=real_init"])
    typed = to_typed(cfg, TrainConfig, drop=("paths",))
    typed.model.validate()
    assert (typed.model.yaml, typed.model.weights) == ("yolov8n.yaml", "nudenet")
    assert typed.trainer["freeze"] == 10 and typed.trainer["imgsz"] == 512
    yolo.check_train_args(typed.trainer)
