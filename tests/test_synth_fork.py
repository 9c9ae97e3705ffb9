"""Generating with worker processes after the process has used OpenCV's thread pool must not
hang (a forked child that touches the inherited pool deadlocks on its lock): the situation of a
test session or a notebook that rendered or evaluated before generating."""

import subprocess
import sys

CODE = """
import sys, tempfile
import cv2, numpy as np
from figure_ml.config import SynthConfig
from figure_ml.data.synth import generate

x = np.random.rand(1500, 1500).astype(np.float32)
for _ in range(3):  # OpenCV's thread pool is up and busy in this process
    cv2.GaussianBlur(x, (31, 31), 5)
before = cv2.getNumThreads()
d = tempfile.mkdtemp()
cfg = dict(n_train=3, n_val=3, n_test=3, seed=3, long_side=[240, 320])
two = generate(SynthConfig(out_dir=d + "/a", workers=2, **cfg))
one = generate(SynthConfig(out_dir=d + "/b", workers=1, **cfg))
assert two.digest == one.digest
assert cv2.getNumThreads() == before  # the parent's setting is restored
print("ok")
"""


def test_workers_after_opencv_threads_do_not_hang(tmp_path):
    r = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, timeout=240, cwd=tmp_path
    )
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-2000:]
