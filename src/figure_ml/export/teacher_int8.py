"""INT8 versions of a detector set's teachers, shipped only where their paired parity holds.

Each teacher's FP32 copy (the file the set ships) is quantized by
:func:`figure_ml.export.quantize.quantize_qdq`, fed by the teacher's own pre-processing
(:meth:`Teacher.input_feed`) of the images the model's INT8 artifact is calibrated on (the train
split; else the calibration split). The whole network is quantized: each teacher ends in
score maps (CenterFace's face-centre heatmap, PP-OCR's text probability map, CRAFT's region
and affinity maps, which share one output and so one quantization scale) whose
threshold-crossings are what matters, and the parity gate below measures exactly that.

The INT8 teacher then detects on the test split, and its mask at the member's calibrated
thresholds and padding is compared with the FP32 teacher's on the same images
(:func:`figure_ml.export.parity.paired_parity`: miss per class the teacher detects, bound
``parity.int8_max_delta``; over-redaction, bound ``parity.max_over_redaction_delta``). A teacher
that passes gets an ``int8`` block in its manifest entry (file, sha256, size, parity, latency)
and runs in INT8 when the redactor or eval picks an INT8 artifact; one that fails is deleted and
listed in the manifest's ``left_out`` as ``<teacher>_int8``. A test split without a box of the
teacher's classes cannot show parity: the INT8 version is then left out too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from figure_ml import manifest
from figure_ml.config import ExportConfig
from figure_ml.ensemble import channel_arrays
from figure_ml.eval.data import EvalData
from figure_ml.eval.redaction import redaction_stats
from figure_ml.eval.run import predict_split
from figure_ml.export import quantize
from figure_ml.export.parity import ParityCheck, paired_parity


def artifact_name(teacher_name: str) -> str:
    """How a teacher's INT8 version is named in parity tables and ``left_out``."""
    return f"{teacher_name}_int8"


def quantize_teacher(teacher: Any, out_path: Path, images: Sequence[np.ndarray]) -> Path:
    """Write the INT8 (QDQ) version of the model ``teacher`` runs to ``out_path``."""
    model = onnx.load_from_string(teacher.model_bytes())
    return quantize.quantize_qdq(model, out_path, (teacher.input_feed(im) for im in images))


def teacher_int8(
    cfg: ExportConfig,
    teacher: Any,
    tables: tuple[dict[str, float], dict[str, float]],
    dst: Path,
    images: Sequence[np.ndarray],
    test: EvalData,
    gts: list,
    fp32_dets: list,
    latency_fn: Any,
) -> tuple[dict[str, Any] | None, list[ParityCheck]]:
    """Quantize ``teacher``, score it on ``test`` against its FP32 detections ``fp32_dets``
    (class ids, same images as ``gts``) at ``tables``; ``(int8 block or None, checks)``."""
    name = artifact_name(teacher.name)
    path = quantize_teacher(teacher, dst / f"teacher_{teacher.name}_int8.onnx", images)
    if cfg.int8.corrupt_scale_factor != 1.0:  # tests of the parity gate only
        quantize.corrupt_scales(path, path, cfg.int8.corrupt_scale_factor)
    sha = manifest.sha256_file(path)
    # the same decoding options as the FP32 member (PP-OCR's blob rule, CenterFace's turns)
    q = teacher.rebuilt(model_path=str(path), sha256=sha)
    q_gts, q_dets, _ = predict_split(q, test, skip_bad=False)
    if [g.image_id for g in q_gts] != [g.image_id for g in gts]:
        raise RuntimeError(f"{name}: the test split changed between two passes")
    # one member's tables as per-class arrays: classes it does not detect never count
    thr, pad = channel_arrays([tables])
    kappa = cfg.kappa
    ref = redaction_stats(gts, fp32_dets, thr, pad, kappa=kappa)
    got = redaction_stats(gts, q_dets, thr, pad, kappa=kappa)
    checks = paired_parity(
        name,
        got,
        ref,
        miss_delta=cfg.parity.int8_max_delta,
        over_redaction_delta=cfg.parity.max_over_redaction_delta,
        n_resamples=cfg.bootstrap_resamples,
        classes=list(tables[0]),
    )
    if len(checks) == 1:  # only the over-redaction check: no box of the teacher's classes
        checks.insert(
            0,
            ParityCheck(
                name,
                "paired_miss_diff",
                float("inf"),
                cfg.parity.int8_max_delta,
                False,
                f"no {'/'.join(tables[0])} box in the test split: parity cannot be shown",
            ),
        )
    if not all(c.passed for c in checks):
        path.unlink(missing_ok=True)
        return None, checks
    block = {
        "file": path.name,
        "format": "onnx",
        "precision": "int8",
        "sha256": sha,
        "size_bytes": path.stat().st_size,
        "parity": [
            {"check": c.check, "value": c.value, "bound": c.bound, "passed": c.passed}
            | {"point": c.point, "ci": list(c.ci) if c.ci else None, "detail": c.detail}
            for c in checks
        ],
        "latency": latency_fn(q),
    }
    return block, checks
