"""model.weights=nudenet: NudeNet's YOLOv8n export converted into a starting checkpoint."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("nudenet", reason="the pretrained extra (pip install 'figure_ml[pretrained]')")

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


def test_batchnorms_reproduce_the_folded_bias(onnx_path, converted) -> None:
    """gamma = sqrt(var + eps) and beta - mean = the export's folded bias, for every block."""
    tensors = nudenet.onnx_tensors(onnx_path)
    blocks = yolo.conv_blocks(converted)
    assert len(blocks) > 50
    for name, block in blocks.items():
        bn = block.bn
        assert float(bn.running_var.min()) > 0
        torch.testing.assert_close(bn.weight, torch.sqrt(bn.running_var + bn.eps))
        folded = torch.from_numpy(tensors[f"{name}.conv.bias"].copy())
        torch.testing.assert_close(bn.bias - bn.running_mean, folded, atol=1e-4, rtol=1e-4)


def test_train_mode_starts_from_the_exported_function(onnx_path, images) -> None:
    """Calibrated on one image, a train-mode pass over that image (batch statistics) feeds the
    head what eval mode does: training starts from the export, not from a rescaled network.
    With identity BatchNorms (the folded weights as they are) it would not."""
    net = nudenet.convert(onnx_path, images[:1])
    x = nudenet._as_input(images[0], 512)
    seen = []
    hook = net.model[-1].register_forward_pre_hook(
        lambda _m, a: seen.append([t.clone() for t in a[0]])
    )
    with torch.no_grad():
        net.eval()(x)
        net.train()(x)
    hook.remove()
    for ev, tr in zip(seen[0], seen[1], strict=True):
        assert (tr - ev).abs().max() < 1e-2 * ev.abs().max()


def test_an_export_of_other_classes_is_refused(onnx_path, tmp_path) -> None:
    import onnx

    model = onnx.load(str(onnx_path))
    for prop in model.metadata_props:
        if prop.key == "names":
            prop.value = str({i: f"class{i}" for i in range(18)})
    other = tmp_path / "other.onnx"
    onnx.save(model, str(other))
    with pytest.raises(BadInputError, match=r"other\.onnx: metadata names .* not NudeNet's"):
        nudenet.onnx_tensors(other)


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
    import dataclasses

    monkeypatch.setattr(nudenet, "SPEC", dataclasses.replace(nudenet.SPEC, package="no_such_pkg"))
    with pytest.raises(
        BadInputError, match=r"not installed; pip install 'figure_ml\[pretrained\]'"
    ) as e:
        nudenet.init_checkpoint(tmp_path)
    assert "teachers" not in str(e.value)  # the teachers extra does not install it
    assert list(tmp_path.iterdir()) == []


def test_a_changed_model_file_is_refused(tmp_path, monkeypatch) -> None:
    def changed(_spec):
        raise TeacherUnavailable("teacher nudenet: nudenet/320n.onnx has sha256 0123… but …")

    monkeypatch.setattr(nudenet, "locate", changed)
    with pytest.raises(BadInputError, match=r"model.weights=nudenet: .*320n.onnx has sha256"):
        nudenet.init_checkpoint(tmp_path)


def test_an_unwritable_cache_names_the_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(nudenet, "CALIBRATION_IMAGES", 1)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(BadInputError, match=r"cannot write .* set FIGURE_ML_CACHE"):
        nudenet.init_checkpoint(blocker / "cache")


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


def test_real_init_experiment_starts_from_nudenet_with_every_layer_trained() -> None:
    from hydra import compose, initialize_config_dir

    from figure_ml.cli import CONFIG_DIR
    from figure_ml.config import TrainConfig, to_typed

    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=real_init"])
    typed = to_typed(cfg, TrainConfig, drop=("paths",))
    typed.model.validate()
    assert (typed.model.yaml, typed.model.weights) == ("yolov8n.yaml", "nudenet")
    assert typed.trainer["freeze"] == 0 and typed.trainer["imgsz"] == 512
    yolo.check_train_args(typed.trainer)


def test_a_run_records_where_its_converted_start_came_from(tmp_path, monkeypatch) -> None:
    from figure_ml.train.run import _init_weights

    monkeypatch.setattr(nudenet, "CALIBRATION_IMAGES", 1)
    path = nudenet.init_checkpoint(tmp_path)
    init = _init_weights("nudenet", str(path))
    assert init["converted"] is True and init["shipped"] is False
    assert init["source"]["sha256"] == locate(nudenet.SPEC).sha256
    assert init["source"]["licence"] == "AGPL-3.0"
    assert _init_weights("reference", str(path))["shipped"] is True
