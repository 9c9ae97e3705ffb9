"""YOLO detection with onnxruntime and numpy only: letterbox, decode, NMS, scale back.

Shared by the evaluator's ``OnnxPredictor`` and the redactor, so the miss rate measured is
the one shipped. No torch, no ultralytics. Pre-processing mirrors ultralytics' ``LetterBox``
(resize keeping the aspect ratio, grey 114 padding split evenly, RGB, /255, NCHW) so that an
FP32 export gives the same boxes as the ``.pt`` model.

Two output layouts are understood (recorded in the manifest as ``output.layout``):

- ``"yolo_raw"``: ``(1, 4 + nc, N)`` — ``cx, cy, w, h`` in input pixels, then per-class scores
  (YOLO11 exports); NMS runs here, in numpy.
- ``"end2end"``: ``(1, K, 6)`` — ``x0, y0, x1, y1, score, class`` with NMS inside the graph
  (YOLO26 exports).

**Mirrored pass** (the manifest's ``output.flip_tta``): the model also runs on the image
mirrored left to right; its boxes are mirrored back and merged with the first pass's by
class-aware NMS at the same IoU (:func:`with_mirror`). The redactor hides the union of boxes,
and a second, slightly different box often covers what the first left uncovered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np

from figure_ml.boxes import NMS_IOU

PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the square model input: ``input = image * scale + pad``."""

    scale: float
    pad_x: float
    pad_y: float


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """``(1, 3, size, size)`` float32 input of an RGB uint8 image, and the transform used."""
    h, w = image.shape[:2]
    r = min(size / h, size / w)
    new_w, new_h = round(w * r), round(h * r)
    dw, dh = (size - new_w) / 2, (size - new_h) / 2
    if (new_w, new_h) != (w, h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    image = cv2.copyMakeBorder(
        image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3
    )
    x = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
    return x, Letterbox(r, left, top)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, in descending score order."""
    order = np.argsort(-scores, kind="stable")
    x0, y0, x1, y1 = boxes.T
    areas = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    keep: list[int] = []
    while len(order):
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        ix0, iy0 = np.maximum(x0[i], x0[rest]), np.maximum(y0[i], y0[rest])
        ix1, iy1 = np.minimum(x1[i], x1[rest]), np.minimum(y1[i], y1[rest])
        inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
        union = areas[i] + areas[rest] - inter
        order = rest[inter <= iou * np.where(union > 0, union, 1)]
    return np.array(keep, np.int64)


def class_aware_nms(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float
) -> np.ndarray:
    """:func:`nms` within each class: the indices greedy NMS over all boxes would keep if boxes
    of different classes never suppressed each other, in the same order (descending score,
    ties by index). Per class rather than ultralytics' trick of shifting each class's boxes
    apart: no offset to outgrow, and one non-finite box cannot disturb the other classes."""
    classes = np.asarray(classes)
    kept = [
        idx[nms(boxes[idx], scores[idx], iou)]
        for idx in (np.flatnonzero(classes == c) for c in np.unique(classes))
    ]
    keep = np.sort(np.concatenate(kept)) if kept else np.zeros(0, np.int64)
    return keep[np.argsort(-scores[keep], kind="stable")].astype(np.int64)


def decode(
    output: np.ndarray, layout: str, *, conf: float, iou: float, max_det: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (xyxy, input pixels), scores and classes of one image's raw model output."""
    out = np.asarray(output, np.float32)
    if layout == "end2end":
        det = out.reshape(-1, 6)
        det = det[det[:, 4] >= conf][:max_det]
        return (
            det[:, :4].astype(np.float64),
            det[:, 4].astype(np.float64),
            det[:, 5].astype(np.int64),
        )
    pred = out.reshape(out.shape[-2], out.shape[-1]).T  # (N, 4 + nc)
    cls_scores = pred[:, 4:]
    classes = cls_scores.argmax(1)
    scores = cls_scores[np.arange(len(pred)), classes]
    sel = scores >= conf
    pred, scores, classes = pred[sel], scores[sel], classes[sel]
    cx, cy, w, h = pred[:, 0], pred[:, 1], pred[:, 2], pred[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).astype(np.float64)
    keep = class_aware_nms(boxes, scores, classes, iou)[:max_det]
    return boxes[keep], scores[keep].astype(np.float64), classes[keep].astype(np.int64)


def mirror_boxes(boxes: np.ndarray, width: int) -> np.ndarray:
    """Boxes found on an image mirrored left to right, in the unmirrored image's pixels."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4).copy()
    b[:, [0, 2]] = width - b[:, [2, 0]]
    return b


def merge_passes(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], *, iou: float, max_det: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes of several passes over one image (the mirrored pass, tiles) merged by class-aware
    NMS at ``iou``, at most ``max_det`` of them (None: every kept box), highest scores first."""
    boxes = np.concatenate([p[0].reshape(-1, 4) for p in parts]).astype(np.float64)
    scores = np.concatenate([p[1] for p in parts]).astype(np.float64)
    classes = np.concatenate([p[2] for p in parts]).astype(np.int64)
    keep = class_aware_nms(boxes, scores, classes, iou)[:max_det]
    return boxes[keep], scores[keep], classes[keep]


def with_mirror(
    detect_once, image: np.ndarray, *, iou: float, max_det: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``detect_once`` (image -> boxes, scores, classes in its pixels) on ``image`` and on its
    mirror image, merged (:func:`merge_passes`)."""
    first = detect_once(image)
    b, s, c = detect_once(np.ascontiguousarray(image[:, ::-1]))
    return merge_passes([first, (mirror_boxes(b, image.shape[1]), s, c)], iou=iou, max_det=max_det)


def unletterbox(boxes: np.ndarray, lb: Letterbox, width: int, height: int) -> np.ndarray:
    """Boxes from model input pixels back to original image pixels, clipped to the image."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4) - [lb.pad_x, lb.pad_y, lb.pad_x, lb.pad_y]
    b /= lb.scale
    b[:, [0, 2]] = b[:, [0, 2]].clip(0, width)
    b[:, [1, 3]] = b[:, [1, 3]].clip(0, height)
    return b


def output_layout(output_shape: list) -> str:
    """Guess the layout of an ONNX model's first output from its shape."""
    if len(output_shape) == 3 and output_shape[-1] == 6:
        return "end2end"
    return "yolo_raw"


class OnnxDetector:
    """An ONNX YOLO detector on onnxruntime's CPU provider (or the providers given)."""

    def __init__(
        self,
        path: str,
        *,
        conf: float = 0.001,
        iou: float = NMS_IOU,
        max_det: int = 300,
        threads: int | None = None,
        providers: list[str] | None = None,
        imgsz: int | None = None,
        layout: str | None = None,
        flip: bool = False,
        memo: dict | None = None,
    ) -> None:
        """``imgsz`` and ``layout`` override what is read from the graph (a manifest knows
        them for certain; a graph with a dynamic input shape does not say its size).
        ``flip``: add the mirrored pass (the manifest's ``output.flip_tta``).
        ``memo``: a dict shared with other detectors of the same file and settings that
        differ in ``flip`` alone; each model pass's result is kept there by its input image,
        so that predicting a split one way and then both ways (export's mirror choice) runs
        the model once per view instead of running the first pass again."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(path), opts, providers=providers or ["CPUExecutionProvider"]
        )
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        fixed = int(shape[2]) if isinstance(shape[2], int) else None
        if imgsz and fixed and int(imgsz) != fixed:
            raise ValueError(f"{path}: graph input is {fixed} px, not {imgsz}")
        self.imgsz = int(imgsz or fixed or 640)
        # an FP16 graph takes FP16 input; letterbox makes FP32
        self.input_dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
        self.layout = layout or output_layout(self.session.get_outputs()[0].shape)
        self.conf, self.iou, self.max_det = conf, iou, max_det
        self.flip = bool(flip)
        self.memo = memo
        #: raise on a NaN/inf in the raw output (a NaN score compares false with the threshold
        #: and would silently drop a detection); the redactor turns this on
        self.require_finite = False

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (xyxy, original pixels), scores, classes of one RGB uint8 image."""
        if self.flip:
            return with_mirror(self._detect_once, image, iou=self.iou, max_det=self.max_det)
        return self._detect_once(image)

    def _detect_once(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.memo is None:
            return self._run_model(image)
        view = np.ascontiguousarray(image)
        key = (view.shape, str(view.dtype), hashlib.blake2b(view.data, digest_size=16).digest())
        if key not in self.memo:
            self.memo[key] = self._run_model(view)
        # copies: a caller may shift or clip the boxes it gets (tiles) in place
        return tuple(a.copy() for a in self.memo[key])  # type: ignore[return-value]

    def _run_model(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, lb = letterbox(image, self.imgsz)
        feed = {self.input_name: x.astype(self.input_dtype, copy=False)}
        (out,) = self.session.run(None, feed)[:1]
        if self.require_finite and not np.isfinite(out).all():
            raise FloatingPointError("the model output holds NaN or infinity")
        boxes, scores, classes = decode(
            out[0], self.layout, conf=self.conf, iou=self.iou, max_det=self.max_det
        )
        return unletterbox(boxes, lb, image.shape[1], image.shape[0]), scores, classes
