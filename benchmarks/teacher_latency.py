"""Milliseconds per photo of each teacher, pre- and post-processing included.

    .venv/bin/python benchmarks/teacher_latency.py [--teachers centerface ppocr_det]
        [--sizes 640x480 4032x3024] [--runs 20] [--warmup 3] [--threads 2] [--data DS]

Each teacher's ``detect`` (resize, normalise, onnxruntime on the CPU, decode, suppression,
boxes back in image pixels) is timed on the same photo: the first image of ``--data`` (a
canonical dataset, e.g. a synthetic test split) resized to each size, else a scene drawn here
(a rendered face and a printed label). Prints the median wall-clock time and its 10th-90th
percentiles, the median CPU time of this process (all its threads; on a machine shared with
other work, CPU time at ``--threads 1`` is the figure least disturbed by the others), the
network input size each teacher used, the load average and the CPU model.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import cv2
import numpy as np

from figure_ml.export.latency import cpu_model
from figure_ml.teachers import make_teacher


def drawn_scene() -> np.ndarray:
    from PIL import Image, ImageDraw

    from figure_ml.data.fonts import load_font, resolve_font
    from figure_ml.data.render.canvas import Canvas
    from figure_ml.data.render.face import add_face
    from figure_ml.data.render.primitives import Layout

    canvas = Canvas(640, 480, np.random.default_rng(1))
    canvas.image[:] = 0.78
    add_face(canvas, 3, 160.0, 180.0, 200.0, Layout(640, 480), roll=0.0)
    img = Image.fromarray(canvas.to_uint8())
    draw = ImageDraw.Draw(img)
    draw.rectangle([340, 340, 630, 420], fill=(250, 250, 245))
    draw.text(
        (352, 356),
        "DOE, JANE 1987-03-02",
        font=load_font(str(resolve_font("DejaVuSans-Bold")), 24),
        fill=(10, 10, 10),
    )
    return np.asarray(img)


def photo(data: str | None) -> np.ndarray:
    if not data:
        return drawn_scene()
    from figure_ml.eval.data import load_eval_data

    ev = load_eval_data(data, "test")
    return ev.items[0].read()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--teachers", nargs="+", default=["centerface", "ppocr_det"])
    ap.add_argument("--sizes", nargs="+", default=["640x480", "4032x3024"])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    base = photo(args.data)
    print(f"cpu: {cpu_model()}  ({os.cpu_count()} logical cpus visible)  threads={args.threads}")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"load average (1, 5, 15 min) before: {load}")
    print(
        f"{'teacher':11} {'photo':>10} {'input':>10} {'median ms':>10} {'p10-p90 ms':>14} "
        f"{'cpu ms':>8}"
    )
    for name in args.teachers:
        t = make_teacher(name, threads=args.threads)
        for size in args.sizes:
            w, h = (int(v) for v in size.split("x"))
            img = cv2.resize(base, (w, h), interpolation=cv2.INTER_LINEAR)
            blob = t.preprocess(img)
            shape = blob[0].shape if isinstance(blob, tuple) else blob.shape
            for _ in range(args.warmup):
                t.detect(img)
            ms, cpu = [], []
            for _ in range(args.runs):
                t0, c0 = time.perf_counter(), time.process_time()
                t.detect(img)
                ms.append(1000 * (time.perf_counter() - t0))
                cpu.append(1000 * (time.process_time() - c0))
            p10, p50, p90 = np.percentile(ms, [10, 50, 90])
            print(
                f"{name:11} {size:>10} {f'{shape[3]}x{shape[2]}':>10} {p50:10.1f} "
                f"{f'{p10:.1f}-{p90:.1f}':>14} {np.median(cpu):8.1f}"
            )


if __name__ == "__main__":
    main()
