"""One small interface over every artifact format: ``predict(image) -> Detections``.

- :class:`TorchPredictor`: a ``.pt`` checkpoint through the ultralytics adapter
  (:mod:`figure_ml.yolo`, the only module that imports ultralytics).
- :class:`OnnxPredictor`: an ``.onnx`` / ``.ort`` file through onnxruntime, decoded and
  suppressed in numpy by :mod:`figure_ml.onnx_detect` — the same code the redactor runs.

Predictions are made once at a low confidence (default 0.001) so that thresholds, curves and
calibration are applied afterwards without running the model again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from figure_ml.boxes import NMS_IOU
from figure_ml.errors import BadInputError
from figure_ml.eval.records import Detections


class Predictor(Protocol):
    imgsz: int
    description: str

    def predict(self, image: np.ndarray) -> Detections:
        """Detections of one RGB uint8 image, boxes in its pixels."""
        ...


class OnnxPredictor:
    """ONNX (FP32, FP16, INT8) or ORT-format model on onnxruntime's CPU provider."""

    def __init__(
        self,
        path: str | Path,
        *,
        conf: float = 0.001,
        iou: float = NMS_IOU,
        max_det: int = 300,
        threads: int | None = None,
        imgsz: int | None = None,
        layout: str | None = None,
        flip: bool = False,
        memo: dict | None = None,
    ) -> None:
        """``memo``: see :class:`figure_ml.onnx_detect.OnnxDetector`."""
        from figure_ml.onnx_detect import OnnxDetector

        path = Path(path)
        if not path.is_file():
            raise BadInputError(f"{path}: no such model file")
        try:
            self.detector = OnnxDetector(
                str(path),
                conf=conf,
                iou=iou,
                max_det=max_det,
                threads=threads,
                imgsz=imgsz,
                layout=layout,
                flip=flip,
                memo=memo,
            )
        except ValueError as exc:  # an input size the fixed-shape graph does not take
            raise BadInputError(str(exc)) from exc
        except Exception as exc:  # onnxruntime raises its own exception types
            raise BadInputError(f"{path}: onnxruntime cannot load it ({exc})") from exc
        self.imgsz = self.detector.imgsz
        self.description = f"onnx:{path.name}" + ("+mirror" if flip else "")

    def predict(self, image: np.ndarray) -> Detections:
        boxes, scores, classes = self.detector.detect(image)
        return Detections(boxes, scores, classes)


class TorchPredictor:
    """A ``.pt`` detection checkpoint run by torch through the adapter, with the *same*
    letterbox, decoding and NMS as the ONNX path (:mod:`figure_ml.onnx_detect`) — so a
    difference between the two is a difference of the exported graph, nothing else."""

    def __init__(
        self,
        path: str | Path,
        *,
        imgsz: int | None = None,
        conf: float = 0.001,
        iou: float = NMS_IOU,
        max_det: int = 300,
        flip: bool = False,
    ) -> None:
        from figure_ml import yolo

        self.model = yolo.load_detector(path)
        self.imgsz = int(imgsz or yolo.trained_imgsz(self.model) or 640)
        self.conf, self.iou, self.max_det = conf, iou, max_det
        self.flip = bool(flip)
        self.description = f"torch:{Path(path).name}" + ("+mirror" if flip else "")
        self._forward = yolo.forward_raw

    def predict(self, image: np.ndarray) -> Detections:
        from figure_ml.onnx_detect import with_mirror

        if self.flip:
            boxes, scores, classes = with_mirror(
                self._predict_once, image, iou=self.iou, max_det=self.max_det
            )
            return Detections(boxes, scores, classes)
        return Detections(*self._predict_once(image))

    def _predict_once(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from figure_ml.onnx_detect import decode, letterbox, output_layout, unletterbox

        x, lb = letterbox(image, self.imgsz)
        raw = self._forward(self.model, x)
        boxes, scores, classes = decode(
            raw[0],
            output_layout(list(raw.shape)),
            conf=self.conf,
            iou=self.iou,
            max_det=self.max_det,
        )
        return unletterbox(boxes, lb, image.shape[1], image.shape[0]), scores, classes


def make_predictor(
    weights: str | Path,
    *,
    imgsz: int | None = None,
    conf: float = 0.001,
    iou: float = NMS_IOU,
    max_det: int = 300,
    flip: bool = False,
) -> Predictor:
    """The predictor for a weights file, chosen by its suffix (``flip``: add the mirrored
    pass, :func:`figure_ml.onnx_detect.with_mirror`)."""
    p = Path(weights)
    if not p.exists():
        raise BadInputError(f"weights {p}: no such file")
    if p.suffix in (".onnx", ".ort"):
        return OnnxPredictor(p, imgsz=imgsz, conf=conf, iou=iou, max_det=max_det, flip=flip)
    if p.suffix == ".pt":
        return TorchPredictor(p, imgsz=imgsz, conf=conf, iou=iou, max_det=max_det, flip=flip)
    raise BadInputError(f"weights {p}: expected a .pt, .onnx or .ort file")
