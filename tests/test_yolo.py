"""The ultralytics adapter (isolation, allowlist, model building) and YOLO folder checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from figure_ml import yolo
from figure_ml.data.export_yolo import export_yolo
from figure_ml.data.yolo_folder import check_yolo_folder, iter_label_lines
from figure_ml.errors import BadInputError, ConfigError, DatasetError


def test_settings_isolated_and_integrations_off() -> None:
    ul = yolo.ultralytics_module()
    from ultralytics.utils import SETTINGS, USER_CONFIG_DIR

    home = Path.home().resolve()
    assert yolo.settings_dir() in Path(USER_CONFIG_DIR).resolve().parents
    assert home not in Path(USER_CONFIG_DIR).resolve().parents
    for key in ("sync", "mlflow", "clearml", "comet", "dvc", "wandb", "tensorboard", "raytune"):
        assert SETTINGS[key] is False, key
    assert SETTINGS["api_key"] == ""
    assert os.environ["YOLO_OFFLINE"] == "1"
    assert os.environ["YOLO_AUTOINSTALL"] == "False"
    # the fonts ultralytics would download are present locally
    assert (Path(USER_CONFIG_DIR) / "Arial.ttf").stat().st_size > 10_000
    assert ul.__version__.startswith("8.")


def test_allowlisted_args_exist_in_this_ultralytics() -> None:
    """Catches an allowlist entry that this ultralytics version renamed or dropped."""
    yolo.ultralytics_module()
    from ultralytics.utils import DEFAULT_CFG_DICT

    assert sorted(yolo.TRAIN_ARGS - set(DEFAULT_CFG_DICT)) == []


def test_unknown_training_argument_is_named() -> None:
    assert yolo.check_train_args({"epochs": 3, "lr0": 0.01}) == {"epochs": 3, "lr0": 0.01}
    with pytest.raises(ConfigError, match=r"trainer\.lr_zero"):
        yolo.check_train_args({"epochs": 3, "lr_zero": 0.01})
    # arguments figure_ml owns may not be smuggled in either
    for owned in ("data", "project", "resume", "seed", "model"):
        with pytest.raises(ConfigError, match=owned):
            yolo.check_train_args({owned: "x"})


def test_model_yaml_resolution(tmp_path: Path) -> None:
    assert yolo.resolve_model_yaml("yolo11n.yaml")["nc"] == 80
    assert "backbone" in yolo.resolve_model_yaml("yolo26n.yaml")
    with pytest.raises(ConfigError, match="neither a local file"):
        yolo.resolve_model_yaml("yolo99n.yaml")
    with pytest.raises(ConfigError, match="does not exist"):
        yolo.resolve_model_yaml(str(tmp_path / "missing" / "m.yaml"))


def test_missing_weights_are_never_downloaded(tmp_path: Path, block_network) -> None:
    with pytest.raises(BadInputError, match="never downloaded"):
        yolo.build_model("yolo11n.yaml", str(tmp_path / "yolo11n.pt"))
    assert block_network == []


# --- YOLO folder checks ------------------------------------------------------------------------


@pytest.fixture
def yolo_copy(tmp_path: Path, toy_dataset: Path) -> Path:
    """A fresh YOLO export of the toy dataset that a test may damage."""
    return export_yolo(toy_dataset, tmp_path / "yolo", ("train", "val"))


def test_clean_folder_passes(yolo_copy: Path) -> None:
    folder = check_yolo_folder(yolo_copy)
    assert len(folder.splits["train"].images) == 12
    assert len(folder.splits["val"].images) == 6
    assert sum(folder.instances.values()) > 18  # 1-3 boxes per image


def test_corrupt_image_is_named(yolo_copy: Path) -> None:
    victim = sorted((yolo_copy.parent / "images" / "train").iterdir())[3]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 3])  # truncated JPEG
    with pytest.raises(BadInputError, match=victim.name):
        check_yolo_folder(yolo_copy)


def test_not_an_image_is_named(yolo_copy: Path) -> None:
    victim = sorted((yolo_copy.parent / "images" / "val").iterdir())[0]
    victim.write_bytes(b"this is not a jpeg")
    with pytest.raises(BadInputError, match=f"{victim.name}.*corrupt"):
        check_yolo_folder(yolo_copy)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("0 0.5 0.5 0.2", "expected 'class cx cy w h'"),
        ("7 0.5 0.5 0.2 0.2", "class id 7"),
        ("1 0.5 0.5 0.2 zero", "not numbers"),
        ("2 0.5 0.5 1.4 0.2", "normalised"),
        ("3 0.95 0.5 0.3 0.2", "outside the image"),
        ("0 nan 0.5 0.2 0.2", "non-finite"),
    ],
)
def test_bad_label_line_is_named_with_file_and_line(yolo_copy: Path, line: str, problem: str):
    label = sorted((yolo_copy.parent / "labels" / "train").iterdir())[2]
    good = label.read_text().splitlines()
    label.write_text("\n".join([good[0], line, *good[1:]]) + "\n")
    with pytest.raises(BadInputError, match=rf"{label.name}:2: .*{problem}"):
        check_yolo_folder(yolo_copy)


def test_label_lines_parse(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_text("0 0.5 0.5 0.2 0.2\n\n3 0.1 0.1 0.2 0.2\n")
    assert [(n, c) for n, c, _ in iter_label_lines(p)] == [(1, 0), (3, 3)]


def test_class_list_must_match(yolo_copy: Path) -> None:
    data = yaml.safe_load(yolo_copy.read_text())
    data["names"] = {0: "face", 1: "tattoo", 2: "wristband", 3: "logo"}
    yolo_copy.write_text(yaml.safe_dump(data))
    with pytest.raises(DatasetError, match=r"differs from figure_ml\.classes"):
        check_yolo_folder(yolo_copy)


def test_empty_split_is_an_error(yolo_copy: Path) -> None:
    for p in (yolo_copy.parent / "images" / "val").iterdir():
        p.unlink()
    with pytest.raises(DatasetError, match="val split has no images"):
        check_yolo_folder(yolo_copy)
