"""INT8 static quantization of an FP32 ONNX detector with onnxruntime's quantizer.

Ultralytics has no INT8 path for ONNX, so onnxruntime's ``quantize_static`` (QDQ format,
per-channel weights, MinMax calibration) does it, calibrated on real training images
letterboxed exactly as at inference (:func:`figure_ml.onnx_detect.letterbox`).

The detection head stays in float: every node under the head module's name prefix (for YOLO11
``/model.23/``) is excluded. Why: the head turns features into box distances (a softmax over
distance bins, DFL) and class scores (a sigmoid). Those outputs have a wide dynamic range where
small absolute errors matter — an 8-bit step moves box edges by pixels and nudges scores across
the operating threshold, which changes redaction coverage and the miss rate directly. The
backbone and neck tolerate INT8 and hold almost all of the compute.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import onnx

from figure_ml.errors import BadInputError
from figure_ml.onnx_detect import letterbox

log = logging.getLogger(__name__)


def head_prefix(model: onnx.ModelProto) -> str:
    """Name prefix of the detection head's nodes: the highest ``/model.N/`` module index."""
    idx = [int(m.group(1)) for n in model.graph.node if (m := re.match(r"/model\.(\d+)/", n.name))]
    if not idx:
        raise BadInputError("ONNX graph has no /model.N/ nodes: not an ultralytics YOLO export")
    return f"/model.{max(idx)}/"


def head_nodes(model: onnx.ModelProto) -> list[str]:
    prefix = head_prefix(model)
    return [n.name for n in model.graph.node if n.name.startswith(prefix)]


class _Reader:
    """onnxruntime CalibrationDataReader over letterboxed calibration images."""

    def __init__(self, input_name: str, images: Iterable[np.ndarray], size: int) -> None:
        self._it: Iterator[dict[str, np.ndarray]] = (
            {input_name: letterbox(img, size)[0]} for img in images
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)

    def rewind(self) -> None:  # single pass is all MinMax calibration needs
        pass


def quantize_int8(
    fp32_path: Path,
    out_path: Path,
    calibration_images: Iterable[np.ndarray],
    *,
    imgsz: int,
    quantize_head: bool = False,
) -> Path:
    """Write the INT8 (QDQ) model of ``fp32_path`` to ``out_path``.

    ``quantize_head=True`` quantizes the head too; it exists so tests can show that the parity
    gate catches a damaging quantization — never ship it.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.calibrate import CalibrationDataReader

    model = onnx.load(str(fp32_path))
    exclude = [] if quantize_head else head_nodes(model)
    input_name = model.graph.input[0].name
    reader = _Reader(input_name, calibration_images, imgsz)

    class Reader(CalibrationDataReader):
        def get_next(self):
            return reader.get_next()

    out_path.parent.mkdir(parents=True, exist_ok=True)
    quantize_static(
        str(fp32_path),
        str(out_path),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=exclude,
        calibrate_method=CalibrationMethod.MinMax,
    )
    log.info("INT8 model written to %s (%d head nodes kept in float)", out_path, len(exclude))
    return out_path


def corrupt_scales(int8_path: Path, out_path: Path, factor: float = 8.0) -> Path:
    """A deliberately broken copy: every DequantizeLinear scale multiplied by ``factor``.

    For tests of the parity gate only.
    """
    from onnx import numpy_helper

    model = onnx.load(str(int8_path))
    scales = {n.input[1] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    for init in model.graph.initializer:
        if init.name in scales:
            arr = numpy_helper.to_array(init).astype(np.float32) * factor
            init.CopyFrom(numpy_helper.from_array(arr, init.name))
    onnx.save(model, str(out_path))
    return out_path
