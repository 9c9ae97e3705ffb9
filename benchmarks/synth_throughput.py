"""Images per second per process of the synthetic generator at 640x480 and 1280x960.

    .venv/bin/python benchmarks/synth_throughput.py [--n 60]

One process, full pipeline per image (render, augment, box, JPEG encode), landscape 4:3 only
so that the two sizes are what they say. Compare with benchmarks/train_throughput.py (images
per second a YOLO nano training step consumes): generation should be at least 10x faster.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from figure_ml.config import SynthConfig
from figure_ml.data.synth import sample as sample_mod
from figure_ml.data.synth import spec_from_config


def measure(long_side: int, n: int) -> float:
    spec = replace(spec_from_config(SynthConfig()), long_side=(long_side, long_side))
    sample_mod.make_sample(spec, "train", 10_000)  # warm-up: fonts, fakers, pipeline
    t0 = time.perf_counter()
    for i in range(n):
        sample_mod.make_sample(spec, "train", i)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=60, help="images per size")
    args = ap.parse_args()
    # landscape 4:3 only, so 640 means 640x480 and 1280 means 1280x960
    sample_mod.ASPECT_WEIGHTS = np.array([1.0, 0, 0, 0, 0, 0])
    for long_side, label in ((640, "640x480"), (1280, "1280x960")):
        print(f"{label}: {measure(long_side, args.n):.1f} images/s per process")


if __name__ == "__main__":
    main()
