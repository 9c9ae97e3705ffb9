"""train(): tiny real runs on the toy dataset, read back from the run folder and from MLflow."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from figure_ml.classes import CLASS_NAMES
from figure_ml.errors import BadInputError, ConfigError, DatasetError
from figure_ml.tracking import IMAGE_SUFFIXES
from figure_ml.train import RunInterrupted, train

pytestmark = pytest.mark.slow


def _artifacts(client: MlflowClient, run_id: str, path: str = "") -> list[str]:
    out = []
    for f in client.list_artifacts(run_id, path):
        out.extend(_artifacts(client, run_id, f.path) if f.is_dir else [f.path])
    return sorted(out)


def _results(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "results.csv", newline="") as fh:
        return [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(fh)]


def test_smoke_run_writes_outputs_and_tracks_everything(
    smoke_config, mlflow_store, tmp_path, block_network
):
    cfg = smoke_config("seed=3")
    result = train(cfg)
    run_dir = tmp_path / "run"
    assert block_network == []  # nothing but loopback was even attempted

    # the run folder
    assert result.run_dir == run_dir and (run_dir / "weights" / "best.pt").stat().st_size > 1e5
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "finished"
    assert info["mlflow_run_id"] == result.run_id
    assert info["dataset_digest"] == result.dataset_digest and len(result.dataset_digest) == 64
    assert info["git_commit"] == result.git_commit and info["git_commit"]
    assert "seed: 3" in (run_dir / "config.yaml").read_text()
    assert "imgsz: 64" in (run_dir / "config.yaml").read_text()
    assert len(_results(run_dir)) == 1

    # MLflow, read back
    client = MlflowClient(tracking_uri=mlflow_store["uri"])
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    p = run.data.params
    assert p["seed"] == "3" and p["trainer.imgsz"] == "64" and p["trainer.epochs"] == "1"
    assert p["model.yaml"] == "yolo11n.yaml" and p["data.path"] == str(cfg.data.path)
    m = run.data.metrics
    for key in (
        "train/box_loss",
        "train/cls_loss",
        "val/precision",
        "val/recall",
        "val/mAP50",
        "val/mAP50-95",
        "best/mAP50",
        "time/train_images_per_s",
    ):
        assert key in m, key
    for name in CLASS_NAMES:  # per class, at every epoch
        hist = client.get_metric_history(result.run_id, f"val/mAP50/{name}")
        assert [h.step for h in hist] == [1]
        assert 0.0 <= hist[0].value <= 1.0
    assert m["val/mAP50"] == pytest.approx(result.metrics["val/mAP50"])
    tags = run.data.tags
    assert tags["mlflow.source.git.commit"] == result.git_commit
    assert tags["version.ultralytics"].startswith("8.") and "host.python" in tags
    (ds,) = run.inputs.dataset_inputs
    assert ds.dataset.digest == result.dataset_digest[:32]
    arts = _artifacts(client, result.run_id)
    assert {"config.yaml", "results.csv", "model.yaml", "run.json", "weights/best.pt"} <= set(arts)
    assert not [a for a in arts if Path(a).suffix.lower() in IMAGE_SUFFIXES]


def test_real_data_never_sends_or_draws_images(
    smoke_config, toy_real_dataset, mlflow_store, tmp_path
):
    """Opting in to images and plots on non-synthetic data changes nothing: no image anywhere."""
    cfg = smoke_config("tracking.log_images=true", "trainer.plots=true", dataset=toy_real_dataset)
    result = train(cfg)
    client = MlflowClient(tracking_uri=mlflow_store["uri"])
    arts = _artifacts(client, result.run_id)
    assert "results.csv" in arts
    assert not [a for a in arts if Path(a).suffix.lower() in IMAGE_SUFFIXES]
    drawn = [p for p in result.run_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]
    assert drawn == []  # ultralytics' mosaics and prediction plots stayed off too


def test_synthetic_data_with_opt_in_draws_and_logs_plots(smoke_config, mlflow_store):
    """The counterpart: the same switches on synthetic data do produce and log image plots."""
    result = train(smoke_config("trainer.plots=true", "tracking.log_images=true"))
    drawn = [p.name for p in result.run_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]
    assert any(n.startswith("train_batch") for n in drawn)
    arts = _artifacts(MlflowClient(tracking_uri=mlflow_store["uri"]), result.run_id)
    assert any(a.startswith("plots/train_batch") for a in arts)


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        ("trainer.epochs=0", ConfigError, "trainer.epochs must be an integer >= 1"),
        ("trainer.imgsz=100", ConfigError, "multiple of 32"),
        ("+trainer.lr_zero=0.1", ConfigError, "trainer.lr_zero is not an allowed"),
        ("model.yaml=yolo99n.yaml", ConfigError, "yolo99n.yaml"),
        ("tracking.backend=wandb", ConfigError, "tracking.backend"),
    ],
)
def test_impossible_values_fail_before_anything_is_written(
    smoke_config, tmp_path, mlflow_store, override, error, message
):
    with pytest.raises(error, match=message):
        train(smoke_config(override))
    assert not (tmp_path / "run").exists()
    # no tracker was opened: the (pre-made, empty) store holds no experiment of ours, no run
    client = MlflowClient(tracking_uri=mlflow_store["uri"])
    assert [e.name for e in client.search_experiments()] == ["Default"]
    assert client.search_runs(["0"]) == []


def test_missing_dataset(smoke_config, tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        train(smoke_config(dataset=tmp_path / "nowhere"))
    assert not (tmp_path / "run").exists() and not (tmp_path / "nowhere").exists()


def test_dataset_with_other_classes(smoke_config, toy_dataset, tmp_path):
    import shutil

    ds = tmp_path / "other"
    shutil.copytree(toy_dataset, ds)
    info = json.loads((ds / "dataset_info.json").read_text())
    info["classes"] = ["face", "tattoo", "wristband", "text", "logo"]
    (ds / "dataset_info.json").write_text(json.dumps(info))
    with pytest.raises(DatasetError, match=r"differ from figure_ml\.classes"):
        train(smoke_config(dataset=ds))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("damage", ["image", "label"])
def test_corrupt_materialised_files_are_named(smoke_config, tmp_path, damage):
    from figure_ml.train.data import prepare

    cfg = smoke_config()
    data_yaml = prepare(cfg.data).data_yaml  # materialise once, then damage the cache
    if damage == "image":
        victim = sorted((data_yaml.parent / "images" / "val").iterdir())[1]
        victim.write_bytes(victim.read_bytes()[:200])
        expected = victim.name
    else:
        victim = sorted((data_yaml.parent / "labels" / "train").iterdir())[4]
        victim.write_text(victim.read_text() + "9 0.5 0.5 0.1 0.1\n")
        expected = f"{victim.name}:{len(victim.read_text().splitlines())}: class id 9"
    with pytest.raises(BadInputError, match=expected):
        train(cfg)
    assert not (tmp_path / "run").exists()


def test_existing_run_is_never_overwritten(smoke_config, tmp_path):
    (tmp_path / "run" / "weights").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="already holds a run"):
        train(smoke_config())


def test_same_seed_same_metrics(smoke_config, tmp_path):
    a = train(smoke_config("seed=5", "trainer.epochs=2", run_dir=tmp_path / "a"))
    b = train(smoke_config("seed=5", "trainer.epochs=2", run_dir=tmp_path / "b"))
    c = train(smoke_config("seed=6", "trainer.epochs=2", run_dir=tmp_path / "c"))

    def numbers(run_dir: Path) -> list[dict[str, str]]:
        return [{k: v for k, v in row.items() if k != "time"} for row in _results(run_dir)]

    assert len(numbers(a.run_dir)) == 2
    assert numbers(a.run_dir) == numbers(b.run_dir)
    assert a.metrics == b.metrics
    # and the seed matters (else the equality above would prove nothing)
    assert numbers(c.run_dir) != numbers(a.run_dir)


def test_interrupted_run_resumes_into_the_same_mlflow_run(smoke_config, mlflow_store, tmp_path):
    from conftest import compose_train

    run_dir = tmp_path / "run"
    with pytest.raises(RunInterrupted, match="resume="):
        train(smoke_config("trainer.epochs=2", "debug=interrupt"))
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "interrupted" and info["epochs_done"] == 1
    assert len(_results(run_dir)) == 1
    client = MlflowClient(tracking_uri=mlflow_store["uri"])
    assert client.get_run(info["mlflow_run_id"]).info.status == "KILLED"

    result = train(compose_train([f"resume={run_dir}"]))

    assert result.run_dir == run_dir and result.run_id == info["mlflow_run_id"]
    assert [int(r["epoch"]) for r in _results(run_dir)] == [1, 2]
    assert result.epochs == 2
    runs = client.search_runs([client.get_run(result.run_id).info.experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    hist = client.get_metric_history(result.run_id, "val/mAP50/face")
    assert [h.step for h in hist] == [1, 2]
    after = json.loads((run_dir / "run.json").read_text())
    assert after["status"] == "finished" and after["resumes"] == 1
    with pytest.raises(BadInputError, match="already finished"):
        train(compose_train([f"resume={run_dir}"]))


def test_only_the_owned_synthetic_dataset_is_generated(tmp_path, monkeypatch, toy_dataset):
    """A missing data.path is generated only when it is the config's own synthetic dataset."""
    import figure_ml.data.synth as synth
    from figure_ml.config import TrainDataConfig
    from figure_ml.data.canonical import open_dataset
    from figure_ml.train.data import open_or_generate

    calls = []

    def fake_generate(cfg):
        calls.append(cfg)
        return open_dataset(toy_dataset)

    monkeypatch.setattr(synth, "generate", fake_generate)
    owned = str(tmp_path / "synth" / "default")
    gen = {"out_dir": owned, "n_train": 7, "n_val": 3, "n_test": 0, "seed": 2, "workers": 1}
    ds = open_or_generate(TrainDataConfig(path=owned, generate=gen))
    assert ds.digest == open_dataset(toy_dataset).digest
    assert [(c.out_dir, c.n_train, c.n_val, c.seed) for c in calls] == [(owned, 7, 3, 2)]
    with pytest.raises(DatasetError, match="does not exist"):
        open_or_generate(TrainDataConfig(path=str(tmp_path / "typo"), generate=gen))
    assert len(calls) == 1


def test_an_owned_dataset_made_with_another_config_is_refused(tmp_path):
    """The owned dataset exists: reused when data.generate made it, refused naming what differs
    when it did not (a changed seed used to train on the old images without a word), and
    data.generate=null trains on it as it is. Nothing at the path changes."""
    from figure_ml.config import TrainDataConfig
    from figure_ml.train.data import open_or_generate

    owned = str(tmp_path / "synth" / "owned")
    gen = {"out_dir": owned, "n_train": 2, "n_val": 1, "n_test": 0, "seed": 3, "workers": 1}
    gen["long_side"] = [160, 160]
    made = open_or_generate(TrainDataConfig(path=owned, generate=gen))
    info = Path(owned) / "dataset_info.json"
    stamp = info.stat().st_mtime_ns
    again = open_or_generate(TrainDataConfig(path=owned, generate=dict(gen)))
    assert again.digest == made.digest and info.stat().st_mtime_ns == stamp
    with pytest.raises(ConfigError, match=r"seed 4, not 3.*data\.generate=null"):
        open_or_generate(TrainDataConfig(path=owned, generate={**gen, "seed": 4}))
    as_is = open_or_generate(TrainDataConfig(path=owned, generate=None))
    assert as_is.digest == made.digest and info.stat().st_mtime_ns == stamp
