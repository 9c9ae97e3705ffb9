"""Artifact formats beside FP32 ONNX: ORT format for phones, FP16 for GPU servers."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import onnx

log = logging.getLogger(__name__)


def to_ort(onnx_path: Path, out_path: Path) -> Path:
    """Convert an ONNX model to ORT format (what onnxruntime-mobile loads) with onnxruntime's
    own converter; fixed optimisations so the phone does no graph work at load time."""
    from onnxruntime.tools.convert_onnx_models_to_ort import (
        OptimizationStyle,
        convert_onnx_models_to_ort,
    )

    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        src = Path(tmp) / onnx_path.name
        shutil.copy(onnx_path, src)
        convert_onnx_models_to_ort(
            src, output_dir=Path(tmp) / "out", optimization_styles=[OptimizationStyle.Fixed]
        )
        produced = sorted((Path(tmp) / "out").glob("*.ort"))
        if not produced:
            raise RuntimeError(f"onnxruntime produced no .ort file for {onnx_path}")
        shutil.move(str(produced[0]), out_path)
    return out_path


def to_fp16(onnx_path: Path, out_path: Path) -> Path:
    """FP16 weights and activations for GPU servers; inputs and outputs stay FP32 so callers
    feed the same tensor as for FP32 (``keep_io_types``)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(onnx_path)), keep_io_types=True)
    onnx.save(model, str(out_path))
    return out_path
