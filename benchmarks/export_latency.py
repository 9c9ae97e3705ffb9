"""Latency of one detector as ``.pt`` (torch, CPU), ONNX FP32 and ONNX INT8 at 640 and 320 px,
measured in one run on this machine, with the INT8/FP32 ratio.

    .venv/bin/python benchmarks/export_latency.py [--weights FILE.pt] [--runs 30]

(default weights: tests/fixtures/yolo11n_synth_320.pt)

Model time only, batch 1 (decoding and NMS are in benchmarks/redact_latency.py). INT8 is
calibrated on synthetic photos made here. INT8 is not always faster on a CPU: QDQ graphs need
VNNI/AMX-class integer units to win, and the float head stays float.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from figure_ml import yolo
from figure_ml.config import SynthConfig
from figure_ml.data.synth import sample as sample_mod
from figure_ml.data.synth import spec_from_config
from figure_ml.export.latency import cpu_model, measure
from figure_ml.export.quantize import quantize_int8
from figure_ml.imageio import decode_image

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "yolo11n_synth_320.pt"


def torch_ms(model, imgsz: int, runs: int) -> float:
    x = np.random.default_rng(0).random((1, 3, imgsz, imgsz)).astype(np.float32)
    for _ in range(3):
        yolo.forward_raw(model, x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        yolo.forward_raw(model, x)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weights", default=str(DEFAULT))
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    spec = spec_from_config(SynthConfig())
    calib = [decode_image(sample_mod.make_sample(spec, "train", i)["image"]) for i in range(16)]
    model = yolo.load_detector(args.weights)
    # torch first: onnxruntime's idle worker threads keep spinning for a while after a run and
    # would steal the cores from torch measured after them
    pt_ms = {imgsz: torch_ms(model, imgsz, args.runs) for imgsz in (640, 320)}
    print(f"CPU: {cpu_model()}; batch 1; median of {args.runs} runs")
    print(f"{'imgsz':>5} {'.pt torch':>10} {'onnx fp32':>10} {'onnx int8':>10} {'int8/fp32':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for imgsz in (640, 320):
            fp32 = yolo.export_onnx(
                args.weights, Path(tmp) / f"fp32_{imgsz}.onnx", imgsz=imgsz, opset=17
            )
            int8 = quantize_int8(fp32, Path(tmp) / f"int8_{imgsz}.onnx", calib, imgsz=imgsz)
            pt = pt_ms[imgsz]
            f = measure(fp32, imgsz, runs=args.runs)["median_ms"]
            q = measure(int8, imgsz, runs=args.runs)["median_ms"]
            print(f"{imgsz:>5} {pt:>9.1f}ms {f:>8.1f}ms {q:>8.1f}ms {q / f:>9.2f}")


if __name__ == "__main__":
    main()
