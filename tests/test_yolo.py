"""The ultralytics adapter (isolation, allowlist, model building) and YOLO folder checks."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
import yaml

from figure_ml import yolo
from figure_ml.classes import CLASS_NAMES
from figure_ml.data.canonical import open_dataset
from figure_ml.data.export_yolo import export_yolo
from figure_ml.data.yolo_folder import check_yolo_folder, iter_label_lines
from figure_ml.errors import BadInputError, ConfigError, DatasetError
from figure_ml.yolo import runtime

FIXTURES = Path(__file__).parent / "fixtures"


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


def test_clean_folder_passes(yolo_copy: Path, toy_dataset: Path) -> None:
    folder = check_yolo_folder(yolo_copy)
    assert len(folder.splits["train"].images) == 12
    assert len(folder.splits["val"].images) == 6
    ds = open_dataset(toy_dataset)
    per_class = Counter(
        o["category"] for split in ("train", "val") for s in ds.iter_samples(split)
        for o in s["objects"]
    )  # fmt: skip
    assert folder.instances == dict(per_class)


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


# --- patches of ultralytics internals: each one applied, each missing target said -----------


def test_pillow_open_is_pillows_own(tmp_path: Path, monkeypatch, block_network) -> None:
    """ultralytics replaces PIL.Image.open with a wrapper that pip-installs a HEIF plugin on an
    unreadable file; after figure_ml imports it, a corrupt file is Pillow's plain error."""
    yolo.ultralytics_module()
    import PIL.Image
    from ultralytics.utils import checks, patches

    assert PIL.Image.open is patches._image_open
    assert PIL.Image.open is not patches.image_open
    installs: list[object] = []
    monkeypatch.setattr(checks, "check_requirements", lambda *a, **k: installs.append(a))
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(PIL.Image.UnidentifiedImageError):
        PIL.Image.open(junk)
    assert installs == [] and block_network == []


def test_cpu_threads_follow_omp_num_threads(monkeypatch) -> None:
    """Importing ultralytics through figure_ml sets its CPU thread count from OMP_NUM_THREADS,
    and ultralytics' select_device('cpu') then gives torch that many threads."""
    import torch

    yolo.ultralytics_module()
    from ultralytics.utils import torch_utils

    own_default = min(8, max(1, (os.cpu_count() or 1) - 1))  # what ultralytics would use
    wanted = own_default + 1
    monkeypatch.setattr(torch_utils, "NUM_THREADS", torch_utils.NUM_THREADS)  # restored after
    monkeypatch.setattr(runtime, "_ultralytics", None)  # import "again": every patch re-applied
    monkeypatch.setenv("OMP_NUM_THREADS", str(wanted))
    yolo.ultralytics_module()
    assert wanted == torch_utils.NUM_THREADS
    before = torch.get_num_threads()
    try:
        torch_utils.select_device("cpu", verbose=False)
        assert torch.get_num_threads() == wanted
    finally:
        torch.set_num_threads(before)


def test_amp_check_never_downloads(block_network, caplog) -> None:
    """The trainer's check_amp is figure_ml's: without local checker weights it answers
    itself (CPU: off; GPU: on) instead of downloading yolo26n.pt."""
    import torch

    yolo.ultralytics_module()
    from ultralytics.engine import trainer
    from ultralytics.utils import WEIGHTS_DIR, checks

    assert not (Path(WEIGHTS_DIR) / "yolo26n.pt").exists()
    assert getattr(trainer.check_amp, "figure_ml_offline", False)
    assert trainer.check_amp.__wrapped__ is checks.check_amp
    assert trainer.check_amp(torch.nn.Linear(2, 2)) is False
    # a model on an accelerator (the meta device stands in: no GPU needed)
    with caplog.at_level("INFO", logger="figure_ml.yolo"):
        assert trainer.check_amp(torch.nn.Linear(2, 2, device="meta")) is True
    assert "AMP check skipped" in caplog.text
    assert block_network == []
    # applying the patch again does not wrap the wrapper
    wrapper = trainer.check_amp
    assert runtime._wrap_check_amp(trainer) and trainer.check_amp is wrapper


def test_plot_font_is_found_locally(tmp_path: Path, monkeypatch, block_network) -> None:
    """ultralytics' check_font finds the provided font instead of downloading Arial."""
    yolo.ultralytics_module()
    from ultralytics.utils import checks

    # check_font is lru_cached: an earlier test of the session may have resolved Arial already
    cached = getattr(checks.check_font, "__wrapped__", checks.check_font)
    cached.cache_clear()
    monkeypatch.setattr(checks, "USER_CONFIG_DIR", tmp_path)  # a fresh settings folder
    assert runtime._provide_fonts(tmp_path)
    try:
        assert Path(checks.check_font("Arial.ttf")) == tmp_path / "Arial.ttf"
    finally:
        cached.cache_clear()  # later tests must not get this test's folder
    assert block_network == []


@pytest.mark.parametrize(
    ("patch", "target"),
    [
        (lambda m: runtime._restore_pillow_open(m), "ultralytics.utils.patches._image_open"),
        (lambda m: runtime._set_cpu_threads(m, 2), "ultralytics.utils.torch_utils.NUM_THREADS"),
        (lambda m: runtime._wrap_check_amp(m), "ultralytics.engine.trainer.check_amp"),
    ],
    ids=["pillow_open", "cpu_threads", "check_amp"],
)
def test_a_patch_whose_target_is_gone_says_so(patch, target, caplog) -> None:
    """An ultralytics version without the patched name gets a warning naming it, not silence."""
    import types

    import PIL.Image

    before = PIL.Image.open
    with caplog.at_level("WARNING", logger="figure_ml.yolo"):
        assert patch(types.SimpleNamespace()) is False
    assert PIL.Image.open is before
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and target in warnings[0].getMessage()
    assert "patch not applied" in warnings[0].getMessage()


def test_missing_font_source_says_so(tmp_path: Path, monkeypatch, caplog) -> None:
    import matplotlib

    monkeypatch.setattr(matplotlib, "get_data_path", lambda: str(tmp_path / "nowhere"))
    with caplog.at_level("WARNING", logger="figure_ml.yolo"):
        assert runtime._provide_fonts(tmp_path) is False
    assert "DejaVuSans.ttf" in caplog.text and not (tmp_path / "Arial.ttf").exists()


def _class_convs(det_model) -> list:
    """The class-logit convolutions of a detection head, one per stride."""
    return [branch[-1].weight.detach().float() for branch in det_model.model[-1].cv3]


def test_fine_tune_keeps_the_checkpoints_class_head() -> None:
    """The trainer rebuilds the model at the data's class count and copies equal-shaped tensors
    from the model it was given (ultralytics ``get_model``): the class head must survive that."""
    import torch

    ckpt = FIXTURES / "yolo11n_synth_320.pt"
    source = torch.load(ckpt, map_location="cpu", weights_only=False)["model"].float()
    model = yolo.build_model("yolo11n.yaml", str(ckpt))
    rebuilt = yolo.detection_model(model.model.yaml, len(CLASS_NAMES))
    rebuilt.load(model.model)
    for got, want in zip(_class_convs(rebuilt), _class_convs(source), strict=True):
        assert got.shape[0] == len(CLASS_NAMES)
        assert torch.equal(got, want)


def test_checkpoint_of_other_class_names_is_refused(tmp_path: Path) -> None:
    import torch

    ckpt = torch.load(FIXTURES / "yolo11n_synth_320.pt", map_location="cpu", weights_only=False)
    ckpt["model"].names = {0: "cat", 1: "dog", 2: "car", 3: "tree"}
    torch.save(ckpt, tmp_path / "other.pt")
    with pytest.raises(BadInputError, match=r"differs from figure_ml\.classes"):
        yolo.build_model("yolo11n.yaml", str(tmp_path / "other.pt"))
    # an unfinished run's last.pt: ultralytics loads the EMA, "model" is None
    ckpt["ema"], ckpt["model"] = ckpt["model"], None
    torch.save(ckpt, tmp_path / "unfinished.pt")
    with pytest.raises(BadInputError, match=r"differs from figure_ml\.classes"):
        yolo.build_model("yolo11n.yaml", str(tmp_path / "unfinished.pt"))
