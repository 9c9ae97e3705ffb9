"""Images per second of metric computation alone (no model): 10 GT boxes and 50 predictions
per image, 1000 bootstrap resamples, every redaction metric and slice, one process.

    .venv/bin/python benchmarks/eval_metrics.py [--images 2000]

Detection diagnostics (AP) are timed separately: they are not part of the gate metrics.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from figure_ml.classes import CLASS_NAMES
from figure_ml.eval.detection import detection_metrics
from figure_ml.eval.metrics import compute_metrics
from figure_ml.eval.records import Detections, GroundTruth


def synthetic_case(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    gts, dets = [], []
    for i in range(n):
        w, h = 1280, 960
        xy = rng.uniform(0, [w - 100, h - 100], (10, 2))
        g = np.concatenate([xy, xy + rng.uniform(8, 100, (10, 2))], 1)
        jitter = rng.normal(0, 4, (10, 4))
        near = np.repeat(g, 2, 0)[:20] + np.repeat(jitter, 2, 0)[:20]
        pxy = rng.uniform(0, [w - 100, h - 100], (30, 2))
        far = np.concatenate([pxy, pxy + rng.uniform(8, 100, (30, 2))], 1)
        p = np.concatenate([near, far])
        gts.append(
            GroundTruth(
                f"{i}",
                w,
                h,
                g,
                rng.integers(0, 4, 10),
                findings=g[:1] + 150,
                source=("a", "b")[i % 2],
                skin_tone=int(rng.integers(1, 7)),
            )
        )
        dets.append(Detections(p, rng.uniform(0, 1, 50), rng.integers(0, 4, 50)))
    return gts, dets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=2000)
    args = ap.parse_args()
    gts, dets = synthetic_case(args.images)
    thr = dict.fromkeys(CLASS_NAMES, 0.3)
    pad = dict.fromkeys(CLASS_NAMES, 0.05)
    t0 = time.perf_counter()
    compute_metrics(gts, dets, thr, pad, n_resamples=1000, diagnostics=False)
    dt = time.perf_counter() - t0
    print(
        f"redaction metrics + slices + 1000-resample CIs: {args.images / dt:,.0f} images/s "
        f"({args.images} images, 10 GT + 50 predictions each)"
    )
    t0 = time.perf_counter()
    detection_metrics(gts, dets, np.full(4, 0.3))
    dt = time.perf_counter() - t0
    print(f"detection diagnostics (AP50..95, recall, precision): {args.images / dt:,.0f} images/s")


if __name__ == "__main__":
    main()
