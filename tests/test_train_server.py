"""Training against a real MLflow tracking server (``mlflow server`` on loopback, over HTTP)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from figure_ml.classes import CLASS_NAMES
from figure_ml.train import train

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``mlflow server`` with a SQLite backend and a local artifact root, on 127.0.0.1."""

    def __init__(self, root: Path) -> None:
        self.port = _free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)
        mlflow_bin = Path(sys.executable).with_name("mlflow")
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
        self.log = open(root / "server.log", "wb")  # noqa: SIM115 (lives as long as the server)
        self.proc = subprocess.Popen(
            [str(mlflow_bin), "server", "--host", "127.0.0.1", "--port", str(self.port),
             "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
             "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(root / 'server.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("mlflow server did not come up in 90 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the server and its workers; all ours
            self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "server")
    yield srv
    srv.stop()


def test_train_against_real_server(server: Server, smoke_config, tmp_path, block_network):
    cfg = smoke_config(f"tracking.uri={server.uri}", "trainer.epochs=2", "seed=1")
    result = train(cfg)
    assert block_network == []  # loopback only

    client = MlflowClient(tracking_uri=server.uri)  # read back over HTTP
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["trainer.epochs"] == "2" and run.data.params["seed"] == "1"
    for name in CLASS_NAMES:
        hist = client.get_metric_history(result.run_id, f"val/mAP50/{name}")
        assert [h.step for h in hist] == [1, 2]
    assert [h.step for h in client.get_metric_history(result.run_id, "train/box_loss")] == [1, 2]
    names = {f.path for f in client.list_artifacts(result.run_id)}
    assert {"config.yaml", "results.csv", "model.yaml", "run.json", "weights"} <= names
    local = Path(client.download_artifacts(result.run_id, "run.json", str(tmp_path / "dl")))
    assert json.loads(local.read_text())["mlflow_run_id"] == result.run_id
    best = client.list_artifacts(result.run_id, "weights")
    assert [f.path for f in best] == ["weights/best.pt"] and best[0].file_size > 1e5
    info = json.loads((result.run_dir / "run.json").read_text())
    assert info["tracking_uri"] == server.uri


def test_server_dying_mid_run_does_not_kill_training(
    server: Server, smoke_config, caplog, monkeypatch
):
    from figure_ml.train import metrics

    real_call = metrics.EpochLogger.__call__

    def call_then_kill(self, report):
        real_call(self, report)
        if report.epoch == 1 and not report.final:
            server.stop()  # the server goes away after epoch 1 was logged

    monkeypatch.setattr(metrics.EpochLogger, "__call__", call_then_kill)
    cfg = smoke_config(
        f"tracking.uri={server.uri}",
        "trainer.epochs=2",
        "tracking.http_max_retries=0",
        "tracking.http_timeout_s=5",
    )
    result = train(cfg)

    assert (result.run_dir / "weights" / "best.pt").is_file()
    info = json.loads((result.run_dir / "run.json").read_text())
    assert info["status"] == "finished" and info["epochs"] == 2
    assert len((result.run_dir / "results.csv").read_text().splitlines()) == 3  # header + 2
    assert any("tracking stops" in r.message for r in caplog.records)
