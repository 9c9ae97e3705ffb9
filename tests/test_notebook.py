"""notebooks/compare_runs.ipynb executes against a tiny MLflow store made here (two evaluations
of the shipped test model at different thresholds, a teacher baseline and one export) and its
tables hold them."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from figure_ml.classes import CLASS_NAMES
from figure_ml.config import SynthConfig
from figure_ml.data.canonical import open_dataset
from figure_ml.data.synth import generate

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "compare_runs.ipynb"
SHIPPED = Path(__file__).parent / "fixtures" / "yolo11n_synth_320.pt"

#: appended to the executed copy only: the notebook's tables as JSON on stdout
_DUMP = """
import json as _json
print("@@TABLES@@" + _json.dumps({
    "miss": miss.to_dict("records"),
    "quality": quality.to_dict("records"),
    "artifacts": artifacts.to_dict("records"),
}))
"""


def _cli(module: str, *args: str, cwd: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True
    )
    assert r.returncode == 0, f"{module}: {r.stdout[-2000:]}{r.stderr[-3000:]}"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nb")
    local = tmp / "mlruns"
    uri = f"sqlite:///{(local / 'mlflow.db').as_posix()}"
    ds = generate(
        SynthConfig(
            out_dir=str(tmp / "ds"),
            n_train=8,
            n_val=8,
            n_test=12,
            seed=5,
            long_side=[320, 416],
            workers=1,
        )
    )
    track = [f"tracking.uri={uri}", f"tracking.local_dir={local}"]
    common = [f"weights={SHIPPED}", f"data.path={ds.path}", "bootstrap_resamples=200", *track]
    _cli("figure_ml.eval", *common, f"out_dir={tmp / 'e1'}", "plots=false", cwd=tmp)
    high = [f"thresholds.{c}=0.6" for c in CLASS_NAMES]
    _cli("figure_ml.eval", *common, f"out_dir={tmp / 'e2'}", "plots=false", *high, cwd=tmp)
    teacher = ["teacher=centerface", f"data.path={ds.path}", "bootstrap_resamples=200", *track]
    _cli("figure_ml.eval", *teacher, f"out_dir={tmp / 'tc'}", "plots=false", cwd=tmp)
    _cli(
        "figure_ml.export",
        *common,
        f"out_dir={tmp / 'x'}",
        "int8.calibration_images=8",
        "latency.runs=2",
        "parity.int8_max_delta=1.0",
        "parity.max_over_redaction_delta=1.0",
        "registry.enabled=false",
        cwd=tmp,
    )
    return {"uri": uri, "tmp": tmp}


@pytest.fixture(scope="module")
def tables(store):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_DUMP))
    mp = pytest.MonkeyPatch()  # the kernel inherits this process's environment
    mp.setenv("FIGURE_ML_TRACKING_URI", store["uri"])
    mp.setenv("FIGURE_ML_EXPERIMENT", "figure_ml-train,figure_ml-eval")
    mp.setenv("FIGURE_ML_SPLIT", "test")
    mp.setenv("MPLBACKEND", "Agg")
    try:
        NotebookClient(
            nb,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(NOTEBOOK.parent)}},
        ).execute()
    finally:
        mp.undo()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    return json.loads(text.split("@@TABLES@@", 1)[1])


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_miss_rate_table_holds_models_and_teacher_baselines(tables, store):
    miss = tables["miss"]
    runs = sorted({r["run"] for r in miss})
    assert len(runs) == 3 and [r[:7] for r in runs] == ["eval-e1", "eval-e2", "eval-tc"]
    assert len(miss) == 3 * len(CLASS_NAMES)
    subjects = {r["run"][:7]: r["subject"] for r in miss}
    assert subjects == {"eval-e1": "model", "eval-e2": "model", "eval-tc": "teacher:centerface"}
    teacher = json.loads((store["tmp"] / "tc" / "metrics.json").read_text())["per_class"]
    face = [r for r in miss if r["run"].startswith("eval-tc") and r["class"] == "face"]
    assert len(face) == 1 and teacher["face"]["n_gt"] > 0
    assert face[0]["miss_rate"] == pytest.approx(teacher["face"]["miss_rate"])
    assert face[0]["miss_at_budget"] == pytest.approx(teacher["face"]["miss_at_budget"])
    truth = json.loads((store["tmp"] / "e1" / "metrics.json").read_text())["per_class"]
    by = {(r["run"][:7], r["class"]): r for r in miss}
    for c in CLASS_NAMES:
        row = by[("eval-e1", c)]
        assert row["miss_rate"] == pytest.approx(truth[c]["miss_rate"])
        assert row["ci_low"] == pytest.approx(truth[c]["miss_rate_ci"][0])  # from metrics.json
        assert row["ci_high"] == pytest.approx(truth[c]["miss_rate_ci"][1])  # from the metric
        assert row["ci_low"] <= row["miss_rate"] <= row["ci_high"]
        # a higher threshold hides a subset of what the lower one hid: never fewer misses
        assert by[("eval-e2", c)]["miss_rate"] >= row["miss_rate"] - 1e-12
        assert by[("eval-e2", c)]["threshold"] == pytest.approx(0.6)
        assert row["n_gt"] == truth[c]["n_gt"]
    test_objects = sum(
        len(s["objects"]) for s in open_dataset(store["tmp"] / "ds").iter_samples("test")
    )
    assert sum(by[("eval-e1", c)]["n_gt"] for c in CLASS_NAMES) == test_objects


def test_quality_and_artifact_tables(tables, store):
    quality = tables["quality"]
    assert len(quality) == 3
    assert all(0.0 <= q["over_redaction"] <= 1.0 for q in quality)
    artifacts = tables["artifacts"]
    assert {a["artifact"] for a in artifacts} == {"fp32", "int8", "int8_ort"}
    assert {a["run"][:8] for a in artifacts} == {"export-x"}
    shipped = json.loads((store["tmp"] / "x" / "manifest.json").read_text())
    for a in shipped["artifacts"]:
        row = next(r for r in artifacts if r["artifact"] == a["name"])
        assert row["latency_ms"] == pytest.approx(a["latency"]["median_ms"])  # the shipped figure
        assert row["over_redaction"] == pytest.approx(a["metrics"]["over_redaction"])
        for c in CLASS_NAMES:
            want = a["metrics"]["per_class"][c]["miss_rate"]
            got = row[f"miss_rate.{c}"]
            assert (math.isnan(got) and want is None) or got == pytest.approx(want, abs=1e-4)
