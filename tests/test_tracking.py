"""figure_ml.tracking: the PHI allowlist, URI resolution and failure behaviour."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from figure_ml.config import TrackingConfig
from figure_ml.tracking import (
    ArtifactPolicy,
    MlflowTracker,
    NullTracker,
    TrackingUnavailable,
    default_uri,
    flatten,
    image_policy,
    open_tracker,
    resolve_uri,
)


def _cfg(store: dict[str, str], **kw) -> TrackingConfig:
    return TrackingConfig(uri=store["uri"], local_dir=store["local_dir"], **kw)


def _artifacts(uri: str, run_id: str, path: str = "") -> list[str]:
    client = MlflowClient(tracking_uri=uri)
    out = []
    for f in client.list_artifacts(run_id, path):
        out.extend(_artifacts(uri, run_id, f.path) if f.is_dir else [f.path])
    return sorted(out)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    p = tmp_path / "patient_0001.jpg"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(p)
    return p


@pytest.mark.parametrize(
    ("synthetic", "opt_in", "allowed"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_image_policy(synthetic: bool, opt_in: bool, allowed: bool) -> None:
    assert image_policy(dataset_is_synthetic=synthetic, log_images=opt_in).images is allowed


def test_image_from_real_dataset_is_never_logged(mlflow_store, photo: Path, tmp_path: Path):
    """Real data with log_images on: no image goes out, alone or inside a folder."""
    policy = image_policy(dataset_is_synthetic=False, log_images=True)
    tracker = MlflowTracker(_cfg(mlflow_store, log_images=True), policy, run_name="real")
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "val_batch0_pred.png").write_bytes(photo.read_bytes())
    (plots / "results.csv").write_text("epoch,map\n1,0.5\n")
    csv = tmp_path / "results.csv"
    csv.write_text("epoch,map\n1,0.5\n")

    assert tracker.log_artifact(photo, "image") is False
    assert tracker.log_artifact(plots, "results") is False  # a folder holding an image
    renamed = tmp_path / "weights.pt.jpg"
    renamed.write_bytes(photo.read_bytes())
    assert tracker.log_artifact(renamed, "weights") is False  # the suffix decides, not the kind
    assert tracker.log_artifact(csv, "results") is True
    tracker.finish()
    assert _artifacts(mlflow_store["uri"], tracker.run_id) == ["results.csv"]


def test_image_from_synthetic_dataset_needs_opt_in(mlflow_store, photo: Path) -> None:
    on = MlflowTracker(_cfg(mlflow_store), ArtifactPolicy(images=True), run_name="synthetic-on")
    off = MlflowTracker(_cfg(mlflow_store), ArtifactPolicy(images=False), run_name="synth-off")
    assert on.log_artifact(photo, "image", "plots") is True
    assert off.log_artifact(photo, "image", "plots") is False
    assert _artifacts(mlflow_store["uri"], on.run_id) == ["plots/patient_0001.jpg"]
    assert _artifacts(mlflow_store["uri"], off.run_id) == []


def test_unlisted_artifact_kind_is_refused(mlflow_store, tmp_path: Path) -> None:
    tracker = MlflowTracker(_cfg(mlflow_store), ArtifactPolicy(), run_name="kinds")
    f = tmp_path / "names.txt"
    f.write_text("patient_0001.jpg\n")
    with pytest.raises(ValueError, match="not allowlisted"):
        tracker.log_artifact(f, "file_list")


def test_params_metrics_dataset_read_back(mlflow_store) -> None:
    tracker = open_tracker(_cfg(mlflow_store), ArtifactPolicy(), run_name="rb")
    tracker.log_params({"trainer": {"epochs": 3, "imgsz": 64}, "seed": 7})
    tracker.log_metrics({"val/mAP50/face": 0.25}, step=1)
    tracker.log_metrics({"val/mAP50/face": 0.5}, step=2)
    tracker.log_dataset(name="toy", path="/data/toy", digest="ab" * 32)
    tracker.finish()
    client = MlflowClient(tracking_uri=mlflow_store["uri"])
    run = client.get_run(tracker.run_id)
    assert run.data.params == {"trainer.epochs": "3", "trainer.imgsz": "64", "seed": "7"}
    hist = client.get_metric_history(tracker.run_id, "val/mAP50/face")
    assert [(m.step, m.value) for m in hist] == [(1, 0.25), (2, 0.5)]
    (ds_input,) = run.inputs.dataset_inputs
    assert ds_input.dataset.digest == ("ab" * 32)[:32]
    assert {t.key: t.value for t in ds_input.tags}["figure_ml.digest"] == "ab" * 32
    assert run.info.status == "FINISHED"
    # the embedded store keeps artifacts beside the SQLite file
    exp = client.get_experiment(tracker.experiment_id)
    assert exp.artifact_location.startswith(Path(mlflow_store["local_dir"]).resolve().as_uri())


def test_uri_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = TrackingConfig(local_dir=str(tmp_path / "ml"))
    assert resolve_uri(cfg) == default_uri(tmp_path / "ml")
    assert resolve_uri(cfg).startswith("sqlite:///") and resolve_uri(cfg).endswith("ml/mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    assert resolve_uri(cfg) == "http://127.0.0.1:1"
    cfg.uri = "sqlite:///elsewhere.db"
    assert resolve_uri(cfg) == "sqlite:///elsewhere.db"


def test_flatten() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": None, "f": {}}) == {
        "a.b": "1",
        "a.c.d": "[1, 2]",
        "e": "None",
        "f": "{}",
    }


def test_unreachable_server_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """One health check with the configured timeout, then a clear error: no MLflow client is
    made, so none of MLflow's minutes of retries can start (timings: benchmarks/, not here)."""
    import urllib.request

    import mlflow.tracking

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    checks: list[tuple[str, float]] = []
    real_urlopen = urllib.request.urlopen

    def urlopen(url: str, *args: object, timeout: float, **kwargs: object) -> object:
        checks.append((url, timeout))
        return real_urlopen(url, *args, timeout=timeout, **kwargs)

    clients: list[object] = []
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(mlflow.tracking, "MlflowClient", lambda *a, **k: clients.append(a))
    for var in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        monkeypatch.setenv(var, "unset")  # so that monkeypatch restores the variable after
        monkeypatch.delenv(var)
    cfg = TrackingConfig(
        uri=f"http://127.0.0.1:{port}", connect_timeout_s=2, http_max_retries=1, http_timeout_s=7
    )
    with pytest.raises(TrackingUnavailable, match=rf"127\.0\.0\.1:{port} is unreachable"):
        open_tracker(cfg, ArtifactPolicy(), run_name="x")
    assert checks == [(f"http://127.0.0.1:{port}/health", 2)]
    assert clients == []
    # later MLflow calls (a server that dies mid-run) are capped by the config, not MLflow
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "1"
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "7"


def test_failure_mid_run_warns_once_and_stops_tracking(mlflow_store, caplog, monkeypatch):
    tracker = MlflowTracker(_cfg(mlflow_store), ArtifactPolicy(), run_name="dies")
    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        raise ConnectionError("server went away")

    monkeypatch.setattr(tracker.client, "log_batch", broken)
    with caplog.at_level(logging.WARNING, logger="figure_ml.tracking"):
        tracker.log_metrics({"a": 1.0}, step=1)
        tracker.log_metrics({"a": 2.0}, step=2)
        tracker.finish()
    assert len(calls) == 1  # no further attempts after the first failure
    assert tracker.broken
    assert sum("tracking stops" in r.message for r in caplog.records) == 1


def test_none_backend_logs_nothing(tmp_path: Path, photo: Path) -> None:
    tracker = open_tracker(
        TrackingConfig(backend="none", local_dir=str(tmp_path / "ml")),
        ArtifactPolicy(images=True),
        run_name="none",
    )
    assert isinstance(tracker, NullTracker) and tracker.run_id is None
    assert tracker.log_artifact(photo, "image") is False
    assert not (tmp_path / "ml").exists()
