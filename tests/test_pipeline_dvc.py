"""`dvc repro` of the whole pipeline (synth -> train -> export -> eval) at smoke size, inside a
temporary clone of the repository: what a fresh checkout, CI and `make demo` run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from figure_ml import manifest
from figure_ml.classes import CLASS_NAMES
from figure_ml.data.canonical import open_dataset

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DVC = Path(sys.executable).parent / "dvc"
#: the pipeline's files; copied over the clone so that uncommitted edits are what is tested
PIPELINE_FILES = ("dvc.yaml", "params.yaml", ".dvcignore", ".dvc/config", ".dvc/.gitignore")

#: smoke sizes: a 64 px one-epoch model on 32 small images (about a minute on 2 CPU cores);
#: an untrained model's INT8 miss rates may move by anything, so parity may not fail the run
SMOKE_PARAMS = {
    "synth": {
        "n_train": 16,
        "n_val": 8,
        "n_test": 8,
        "long_side_min": 256,
        "long_side_max": 320,
        "seed": 3,
        "realism_images": 2,
    },
    "train": {"experiment": "smoke", "epochs": 1, "imgsz": 64, "seed": 0},
    "eval": {"bootstrap_resamples": 100, "budget": 0.05},
    "export": {
        # not the smoke model's training size: the export stage must pass export.imgsz on (the
        # demo trains at 512 and exports at the reference's 640)
        "imgsz": 96,
        "calibration_images": 8,
        "latency_runs": 2,
        "int8_max_delta": 1.0,
        "max_over_redaction_delta": 1.0,
        "bootstrap_resamples": 100,
    },
}


def _dvc(*args: str, cwd: Path, env: dict[str, str], timeout: int = 600):
    return subprocess.run(
        [str(DVC), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def repro(tmp_path_factory):
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs the repository's git checkout")
    clone = tmp_path_factory.mktemp("dvc") / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    for name in PIPELINE_FILES:
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, clone / name)
    defaults = yaml.safe_load((clone / "params.yaml").read_text())
    assert set(SMOKE_PARAMS) == set(defaults)  # the smoke run sets every stage's parameters
    (clone / "params.yaml").write_text(yaml.safe_dump(SMOKE_PARAMS))
    env = {
        **os.environ,
        # the stages run `python -m ...`: the interpreter of this test suite
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "OMP_NUM_THREADS": "1",
    }
    env.pop("MLFLOW_TRACKING_URI", None)  # the clone's own mlruns/
    result = _dvc("repro", cwd=clone, env=env)
    return clone, env, result


def test_dvc_repro_runs_the_pipeline(repro):
    clone, _, result = repro
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for stage in ("synth", "train", "eval", "export"):
        assert f"Running stage '{stage}'" in result.stdout
    assert (clone / "dvc.lock").is_file()
    lock = yaml.safe_load((clone / "dvc.lock").read_text())
    assert lock["stages"]["train"]["params"]["params.yaml"]["train"]["imgsz"] == 64


def test_repro_writes_metrics_int8_model_and_a_readable_manifest(repro):
    clone, _, result = repro
    assert result.returncode == 0, result.stderr[-4000:]
    metrics = json.loads((clone / "runs/dvc/eval/metrics.json").read_text())
    for name in CLASS_NAMES:
        c = metrics["per_class"][name]
        assert 0.0 <= c["miss_rate"] <= 1.0
        low, high = c["miss_rate_ci"]
        assert low <= c["miss_rate"] <= high
        assert 0.0 <= c["miss_at_budget"] <= 1.0 and c["miss_rate_upper"] >= c["miss_rate"]
    # the eval stage scored the shipped manifest, at the manifest's operating point
    assert metrics["model"]["artifact"] == "fp32" and metrics["budget"] == 0.05
    gt = Counter(
        CLASS_NAMES[o["category"]]
        for s in open_dataset(clone / "data/synth/dvc").iter_samples("test")
        for o in s["objects"]
    )
    assert {n: metrics["per_class"][n]["n_gt"] for n in CLASS_NAMES} == {
        n: gt[n] for n in CLASS_NAMES
    }
    assert sum(gt.values()) > 0

    m = manifest.load(clone / "exports/dvc/manifest.json")  # schema + sha256 of every file
    int8 = [a for a in m.data["artifacts"] if a["precision"] == "int8" and a["format"] == "onnx"]
    assert len(int8) == 1
    path = m.artifact_path(int8[0])
    assert path.suffix == ".onnx" and path.stat().st_size == int8[0]["size_bytes"]
    assert m.data["input"]["size"] == 96  # params.yaml export.imgsz, not the training size
    assert set(m.data["thresholds"]) == set(CLASS_NAMES)
    assert metrics["thresholds"] == m.data["thresholds"]
    assert metrics["padding"] == m.data["padding"]
    assert set(m.data["calibration"]["met"]) == set(CLASS_NAMES)


def test_dvc_metrics_show_and_up_to_date(repro):
    clone, env, result = repro
    assert result.returncode == 0, result.stderr[-4000:]
    shown = _dvc("metrics", "show", "--json", cwd=clone, env=env, timeout=120)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    flat = json.dumps(data)
    metrics = next(iter(data.values()))["data"]["runs/dvc/eval/metrics.json"]["data"]
    assert 0.0 <= metrics["per_class"]["face"]["miss_rate"] <= 1.0, flat[:500]
    again = _dvc("repro", cwd=clone, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "Running stage" not in again.stdout  # nothing changed: nothing re-runs


def test_pipeline_summary_prints_the_miss_table_and_paths(repro, tmp_path, capsys):
    from figure_ml.pipeline_summary import main

    clone, _, result = repro
    assert result.returncode == 0, result.stderr[-4000:]
    ev, ex = clone / "runs/dvc/eval", clone / "exports/dvc"
    assert main(["--eval", str(ev), "--export", str(ex)]) == 0
    out = capsys.readouterr().out
    metrics = json.loads((ev / "metrics.json").read_text())
    for name in CLASS_NAMES:
        line = next(row for row in out.splitlines() if row.startswith(name + " "))
        assert f"{100 * metrics['per_class'][name]['miss_rate']:.1f}%" in line
        assert f"{100 * metrics['per_class'][name]['miss_at_budget']:.1f}%" in line
    for name in ("manifest.json", "MODEL_CARD.md", "model_fp32.onnx", "model_int8.onnx"):
        assert str(ex / name) in out
    assert main(["--eval", str(tmp_path), "--export", str(ex)]) == 2  # nothing evaluated there


def test_dvc_exp_run_with_a_parameter_override(repro):
    """`dvc exp run -S` changes params.yaml (Hydra override syntax) and re-runs only the stages
    that depend on it; runs last, since it changes the clone's outputs."""
    clone, env, result = repro
    assert result.returncode == 0, result.stderr[-4000:]
    ident = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    ident |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    exp = _dvc("exp", "run", "-S", "export.latency_runs=3", cwd=clone, env=env | ident)
    assert exp.returncode == 0, exp.stdout[-3000:] + exp.stderr[-3000:]
    assert "Running stage 'export'" in exp.stdout
    assert "Running stage 'train'" not in exp.stdout
    assert yaml.safe_load((clone / "params.yaml").read_text())["export"]["latency_runs"] == 3
    m = manifest.load(clone / "exports/dvc/manifest.json")
    assert {a["latency"]["runs"] for a in m.data["artifacts"]} == {3}
