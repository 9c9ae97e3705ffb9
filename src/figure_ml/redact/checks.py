"""What the redactor checks so that no input can switch redaction off (issue 12).

A NaN compares false with everything: a NaN padding made every hidden rectangle empty and a
NaN threshold kept no detection, and the photo was written unredacted with exit 0. So the
redactor fails *closed*: settings are checked when it is built, the model against its
manifest when it is loaded, and every detection before a pixel is written. A failed check
raises; nothing is written for that photo.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from figure_ml.classes import CLASS_NAMES
from figure_ml.errors import BadInputError, ConfigError, FigureMLError

#: manifest ``input.dtype`` -> onnxruntime input type
_ORT_TYPES = {"float32": "tensor(float)", "float16": "tensor(float16)"}


class ModelOutputError(FigureMLError):
    """The model produced something the redactor cannot hide safely (NaN, unknown class)."""


def per_class(values: Any, name: str) -> np.ndarray:
    """Per-class thresholds or padding as a float array: one finite value in [0, 1] per class."""
    a = np.asarray(values, np.float64)
    if a.shape != (len(CLASS_NAMES),):
        raise ConfigError(f"{name}: expected {len(CLASS_NAMES)} values, got shape {a.shape}")
    bad = [c for c, v in zip(CLASS_NAMES, a, strict=True) if not (np.isfinite(v) and 0 <= v <= 1)]
    if bad:
        raise ConfigError(f"{name}: {bad} must be finite and in [0, 1], got {a.tolist()}")
    return a


def as_rgb(image: Any) -> np.ndarray:
    """``image`` as an ``(H, W, 3)`` uint8 array with at least one pixel, or BadInputError."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise BadInputError(
            f"expected an (H, W, 3) uint8 RGB array, got {a.dtype} {a.shape};"
            " decode files with figure_ml.imageio.decode_image"
        )
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise BadInputError(f"image has no pixels: shape {a.shape}")
    return a


def check_graph(session, data: dict[str, Any], where: str) -> None:
    """Refuse an ONNX graph whose input size/type or output layout/class count disagree with
    the manifest: from the declared shapes, and when the output's are dynamic, on one blank
    input (a dynamic dimension says nothing until the graph runs; a run costs onnxruntime
    about 40 MB more, so a fully static graph is not run)."""
    from figure_ml.manifest import ManifestError

    nc, size = len(CLASS_NAMES), int(data["input"]["size"])
    layout, dtype = data["output"]["layout"], data["input"]["dtype"]
    inp = session.get_inputs()[0]
    if inp.type != _ORT_TYPES[dtype]:
        raise ManifestError(f"{where}: graph input is {inp.type}, the manifest says {dtype}")
    want_in = [None, 3, size, size]
    if len(inp.shape) != 4 or any(
        isinstance(d, int) and w is not None and d != w
        for d, w in zip(inp.shape, want_in, strict=True)
    ):
        raise ManifestError(
            f"{where}: graph input shape {inp.shape}, the manifest says (1, 3, {size}, {size})"
        )
    declared = list(session.get_outputs()[0].shape)
    _check_output_shape(declared, layout, nc, where)
    if all(isinstance(d, int) for d in declared):
        return
    x = np.zeros((1, 3, size, size), np.float16 if dtype == "float16" else np.float32)
    try:
        out = session.run(None, {inp.name: x})[0]
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ManifestError(f"{where}: the graph fails on a blank input ({exc})") from exc
    _check_output_shape(list(out.shape), layout, nc, where)


def _check_output_shape(shape: list, layout: str, nc: int, where: str) -> None:
    from figure_ml.manifest import ManifestError

    def known(i: int) -> int | None:
        return shape[i] if isinstance(shape[i], int) else None

    if len(shape) != 3:
        raise ManifestError(f"{where}: output shape {shape} is not (1, ., .) as {layout} needs")
    if layout == "end2end" and known(2) not in (None, 6):
        raise ManifestError(
            f"{where}: manifest output layout end2end needs (1, K, 6) rows, the graph gives"
            f" {shape} (a yolo_raw graph?)"
        )
    if layout == "yolo_raw" and known(1) not in (None, 4 + nc):
        raise ManifestError(
            f"{where}: manifest output layout yolo_raw needs (1, 4 + {nc}, N) = {4 + nc} rows"
            f" ({nc} classes), the graph gives {shape}"
            + (" (an end2end graph?)" if known(2) == 6 else f": {known(1) - 4} class scores")
        )


def check_detections(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray) -> None:
    """Every box and score finite and every class known, or :class:`ModelOutputError`."""
    if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
        raise ModelOutputError("the model returned a non-finite box or score; nothing written")
    if len(classes) and (classes.min() < 0 or classes.max() >= len(CLASS_NAMES)):
        raise ModelOutputError(
            f"the model returned class ids {sorted(set(classes.tolist()))}, outside"
            f" 0..{len(CLASS_NAMES) - 1}; nothing written"
        )
