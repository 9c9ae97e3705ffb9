"""INT8 static quantization of FP32 ONNX detectors with onnxruntime's quantizer.

Ultralytics has no INT8 path for ONNX, so onnxruntime's ``quantize_static`` (QDQ format,
per-channel weights, MinMax calibration) does it, calibrated on real training images
letterboxed exactly as at inference (:func:`figure_ml.onnx_detect.letterbox`).

The detection head stays in float: every node under the head module's name prefix (for YOLO11
``/model.23/``) is excluded. Why: the head turns features into box distances (a softmax over
distance bins, DFL) and class scores (a sigmoid). Those outputs have a wide dynamic range where
small absolute errors matter — an 8-bit step moves box edges by pixels and nudges scores across
the operating threshold, which changes redaction coverage and the miss rate directly. The
backbone and neck tolerate INT8 and hold almost all of the compute.

Teachers (:mod:`figure_ml.export.teacher_int8`) go through the same :func:`quantize_qdq`, fed
by each teacher's own pre-processing, and ship in INT8 only where their paired parity holds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
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


#: per-channel weight scales need DequantizeLinear's ``axis`` attribute (opset 13)
MIN_OPSET = 13


def with_opset(model: onnx.ModelProto, opset: int = MIN_OPSET) -> onnx.ModelProto:
    """``model`` converted to at least ``opset`` of the default domain (unchanged when it is
    already there). CenterFace is an opset-9 graph, too old for per-channel INT8."""
    version = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), opset)
    if version >= opset:
        return model
    from onnx import version_converter

    return version_converter.convert_version(model, opset)


def without_initializer_inputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` whose graph inputs are only real inputs. Old exporters (CenterFace's)
    also list every weight as a graph input; onnxruntime then treats weights as overridable,
    folds no constants and warns once per weight."""
    weights = {i.name for i in model.graph.initializer}
    if not any(i.name in weights for i in model.graph.input):
        return model
    out = onnx.ModelProto()
    out.CopyFrom(model)
    keep = [i for i in out.graph.input if i.name not in weights]
    del out.graph.input[:]
    out.graph.input.extend(keep)
    return out


def quantize_qdq(
    fp32: onnx.ModelProto,
    out_path: Path,
    feeds: Iterable[dict[str, np.ndarray]],
    *,
    exclude: Sequence[str] = (),
) -> Path:
    """Static INT8 quantization of ``fp32`` (QDQ, per-channel INT8 weights in a 7-bit range,
    UINT8 activations, MinMax ranges over ``feeds``: the network's inputs, pre-processed as at
    inference); nodes named in ``exclude`` stay in float. The one quantizer of every INT8
    artifact."""
    import tempfile

    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.calibrate import CalibrationDataReader

    it: Iterator[dict[str, np.ndarray]] = iter(feeds)

    class Reader(CalibrationDataReader):
        def get_next(self):
            return next(it, None)

        def rewind(self):  # single pass is all MinMax calibration needs
            pass

    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "fp32.onnx"
        onnx.save(with_opset(without_initializer_inputs(fp32)), str(src))
        quantize_static(
            str(src),
            str(out_path),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=list(exclude),
            calibrate_method=CalibrationMethod.MinMax,
            # 7-bit weights: on x86 CPUs with AVX2 but no VNNI (AMD EPYC Zen 3, older Xeons)
            # onnxruntime's U8S8 kernels use VPMADDUBSW, whose int16 sums saturate with full
            # 8-bit weights (onnxruntime's quantization docs). Measured on such an EPYC: INT8
            # PP-OCR over-redacted +14 points more than FP32 on the test scene and failed its
            # parity gate; with the reduced range it passes. VNNI machines get 7-bit weights
            # too (one artifact for every CPU); every INT8 artifact is re-scored at export.
            reduce_range=True,
        )
    return out_path


def quantize_int8(
    fp32_path: Path,
    out_path: Path,
    calibration_images: Iterable[np.ndarray],
    *,
    imgsz: int,
    quantize_head: bool = False,
) -> Path:
    """Write the INT8 (QDQ) model of the YOLO export ``fp32_path`` to ``out_path``.

    ``quantize_head=True`` quantizes the head too; it exists so tests can show that the parity
    gate catches a damaging quantization — never ship it.
    """
    model = onnx.load(str(fp32_path))
    exclude = [] if quantize_head else head_nodes(model)
    input_name = model.graph.input[0].name
    feeds = ({input_name: letterbox(img, imgsz)[0]} for img in calibration_images)
    quantize_qdq(model, out_path, feeds, exclude=exclude)
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
