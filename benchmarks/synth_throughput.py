"""Throughput of the synthetic generator: per process, and end to end with worker processes.

    .venv/bin/python benchmarks/synth_throughput.py [--n 60] [--e2e 2000 --workers 2]

Per process (one OpenCV thread, as in a worker): full pipeline per image (render, augment, box,
JPEG encode) at 640x480 and 1280x960 (landscape 4:3 only, so the sizes are what they say) and at
the default config (long side 640-1024, phone aspect ratios), as images per second of wall time
and milliseconds of CPU per image. CPU time is the steadier figure on a shared machine.

``--e2e N`` then times ``generate`` for N training images with ``--workers`` processes into a
temporary folder (writing, card and contact sheet included): the issue-14 target is 2,000
images in at most 90 s with 2 workers on an idle 2-core machine. Every line carries the load
average, since other processes on the machine slow wall-clock figures down.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from figure_ml.config import SynthConfig
from figure_ml.data.synth import generate, spec_from_config
from figure_ml.data.synth import sample as sample_mod
from figure_ml.export.latency import cpu_model


def _load() -> str:
    return "load " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def measure(spec, n: int) -> tuple[float, float]:
    """Images per second (wall) and CPU milliseconds per image of ``n`` samples of ``spec``."""
    sample_mod.make_sample(spec, "train", 10_000)  # warm-up: fonts, fakers, pipeline
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        sample_mod.make_sample(spec, "train", i)
    return n / (time.perf_counter() - t0), 1000 * (time.process_time() - c0) / n


def per_process(n: int) -> None:
    cv2.setNumThreads(1)
    spec = spec_from_config(SynthConfig())
    ips, ms = measure(spec, n)
    print(f"default (long side 640-1024): {ips:.1f} images/s, {ms:.1f} ms CPU/image; {_load()}")
    weights = sample_mod.ASPECT_WEIGHTS
    sample_mod.ASPECT_WEIGHTS = np.array([1.0, 0, 0, 0, 0, 0])
    try:
        for long_side, label in ((640, "640x480"), (1280, "1280x960")):
            ips, ms = measure(replace(spec, long_side=(long_side, long_side)), n)
            print(f"{label}: {ips:.1f} images/s, {ms:.1f} ms CPU/image per process; {_load()}")
    finally:
        sample_mod.ASPECT_WEIGHTS = weights


def end_to_end(n: int, workers: int) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "ds")
        cfg = SynthConfig(out_dir=out, n_train=n, n_val=0, n_test=0, workers=workers)
        t0, c0 = time.perf_counter(), time.process_time()
        generate(cfg)
        wall, main = time.perf_counter() - t0, time.process_time() - c0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    kids = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(
        f"end to end: {n} images with {workers} workers in {wall:.1f} s ({n / wall:.1f} images/s);"
        f" CPU: workers {kids:.1f} s, main {main:.1f} s; {_load()}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=60, help="images per size, per process")
    ap.add_argument("--e2e", type=int, default=0, help="also time generate() for this many")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores")
    if args.n:
        per_process(args.n)
    if args.e2e:
        end_to_end(args.e2e, args.workers)


if __name__ == "__main__":
    main()
