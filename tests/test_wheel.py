"""The package stands on its own: a built wheel, installed outside the source tree, finds its
Hydra configs and the manifest schema as package data (importlib.resources) and runs a CLI."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def _run(*args, cwd, env=None, timeout=600):
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_wheel_runs_a_cli_outside_the_source_tree(tmp_path):
    src = tmp_path / "src_copy"  # build from a copy: nothing is written into the checkout
    shutil.copytree(REPO / "src", src / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(REPO / name, src / name)
    wheels = tmp_path / "wheels"
    r = _run("-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels),
             str(src), cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (wheel,) = wheels.glob("figure_ml-*.whl")
    target = tmp_path / "site"
    r = _run("-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target),
             str(wheel), cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert (target / "figure_ml" / "configs" / "eval.yaml").is_file()
    assert (target / "figure_ml" / "configs" / "gates" / "release.yaml").is_file()
    assert (target / "figure_ml" / "schemas" / "manifest.schema.json").is_file()

    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), os.environ["PYTHONPATH"]])}
    env.pop("FIGURE_ML_CONFIG_DIR", None)
    probe = _run(
        "-c",
        "import figure_ml, figure_ml.cli as c, figure_ml.manifest as m; "
        "print(figure_ml.__file__); print(c.CONFIG_DIR); print(m.SCHEMA_PATH); m.schema()",
        cwd=run_dir,
        env=env,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    for line in probe.stdout.split():
        assert Path(line).resolve().is_relative_to(target.resolve()), line
    out = run_dir / "ds"
    r = _run("-m", "figure_ml.data.synth", f"out_dir={out}", "n_train=2", "n_val=0", "n_test=0",
             "long_side=[160,200]", "workers=1", cwd=run_dir, env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out / "DATASET_CARD.md").is_file()
    code = "from figure_ml.eval.run import load_gate; print(load_gate('release')['name'])"
    gate = _run("-c", code, cwd=run_dir, env=env)
    assert gate.stdout.strip() == "release", gate.stderr[-2000:]
