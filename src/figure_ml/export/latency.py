"""CPU latency of an ONNX/ORT artifact: median of N timed runs, batch 1, at its input size."""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), for reading latencies correctly."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure(
    path: Path,
    imgsz: int,
    *,
    runs: int = 20,
    warmup: int = 3,
    threads: int | None = None,
    passes: int = 1,
) -> dict[str, Any]:
    """Median/p90 milliseconds per photo of ``passes`` calls of ``session.run`` on a fixed
    random input (two with the manifest's mirrored pass, ``output.flip_tta``). Model time
    only: decoding and NMS are measured by the redactor's end-to-end benchmark."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
    x = np.random.default_rng(0).random((1, 3, imgsz, imgsz)).astype(dtype)
    for _ in range(warmup):
        sess.run(None, {inp.name: x})
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(passes):
            sess.run(None, {inp.name: x})
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "median_ms": round(statistics.median(times), 3),
        "p90_ms": round(float(np.percentile(times, 90)), 3),
        "runs": runs,
        "batch": 1,
        "passes": passes,
        "imgsz": imgsz,
        "threads": threads or os.cpu_count(),
        "cpu": cpu_model(),
        "provider": "CPUExecutionProvider",
    }
