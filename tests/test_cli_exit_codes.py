"""Every Hydra CLI exits 2 on a configuration error (unknown key, bad value), never 1, which
is reserved for "ran, and the result failed" (a gate, a parity check)."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

CLIS = [
    "figure_ml.data.synth",
    "figure_ml.data.export_yolo",
    "figure_ml.data.convert",
    "figure_ml.data.mix",
    "figure_ml.data.autolabel",
    "figure_ml.train",
    "figure_ml.eval",
    "figure_ml.eval.compare",
    "figure_ml.export",
]


@pytest.mark.parametrize("module", CLIS)
def test_unknown_key_exits_2(module, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", module, "no_such_option_xyz=1", "hydra.run.dir=" + str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert r.returncode == 2, (module, r.returncode, r.stderr[-1500:])
    assert "no_such_option_xyz" in r.stderr
