"""``python -m figure_ml.train`` as users run it: the documented interface, exit codes, multirun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "HYDRA_FULL_ERROR": "0"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "figure_ml.train", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def _common(tmp_path: Path, toy_dataset: Path, store: dict[str, str]) -> list[str]:
    return [
        "experiment=smoke",
        f"data.path={toy_dataset}",
        f"data.cache_dir={tmp_path / 'cache'}",
        f"tracking.uri={store['uri']}",
        "trainer.imgsz=64",
        "trainer.batch=4",
    ]


def test_documented_interface(tmp_path, toy_dataset, mlflow_store):
    out = tmp_path / "out"
    proc = _cli(
        [*_common(tmp_path, toy_dataset, mlflow_store), f"run_dir={out}", "seed=4"], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "weights" / "best.pt").is_file()
    assert "seed: 4" in (out / "config.yaml").read_text()
    info = json.loads((out / "run.json").read_text())
    assert {"mlflow_run_id", "dataset_digest", "git_commit"} <= set(info)
    client = MlflowClient(tracking_uri=mlflow_store["uri"])
    assert client.get_run(info["mlflow_run_id"]).data.params["seed"] == "4"
    assert f"mlflow_run_id: {info['mlflow_run_id']}" in proc.stdout


def test_bad_value_exits_2_with_one_line(tmp_path, toy_dataset, mlflow_store):
    out = tmp_path / "out"
    proc = _cli(
        [*_common(tmp_path, toy_dataset, mlflow_store), f"run_dir={out}", "trainer.epochs=0"],
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "trainer.epochs" in proc.stderr
    assert not out.exists()


def test_multirun_gives_two_runs_in_one_experiment(tmp_path, toy_dataset, mlflow_store):
    runs_root = tmp_path / "runs"
    proc = _cli(
        ["-m", *_common(tmp_path, toy_dataset, mlflow_store), f"runs_root={runs_root}", "seed=0,1"],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dirs = sorted(p for p in runs_root.iterdir() if (p / "run.json").is_file())
    assert len(run_dirs) == 2
    infos = [json.loads((d / "run.json").read_text()) for d in run_dirs]
    assert {i["status"] for i in infos} == {"finished"}
    client = MlflowClient(tracking_uri=mlflow_store["uri"])
    exp = client.get_experiment_by_name("figure_ml-train")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 2
    assert {r.info.run_id for r in runs} == {i["mlflow_run_id"] for i in infos}
    assert sorted(r.data.params["seed"] for r in runs) == ["0", "1"]
