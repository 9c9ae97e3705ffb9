"""The small core that the redactor, the evaluator and export share: boxes, padding,
clipping, IoU, detections and the redaction mask (DESIGN §4). Nothing here imports the
evaluator, so the redactor an app team reads depends only on this, the manifest and the model.

Boxes are ``(N, 4)`` arrays of ``x0, y0, x1, y1`` in pixels of the original image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: IoU above which class-aware NMS drops the lower-scored of two boxes of a student model: the
#: manifest's ``output.nms_iou`` (export ``nms_iou=``) and eval's ``predictor.iou``. Higher
#: than ultralytics' 0.7 because the redactor hides the *union* of boxes: a box NMS drops can
#: still cover what the kept one leaves out. Chosen on val splits (docs/design.md, Evaluation).
NMS_IOU = 0.9


def pad_boxes(boxes: np.ndarray, rho: float | np.ndarray) -> np.ndarray:
    """Grow each box by ``rho`` times its width on the left and on the right, and ``rho`` times
    its height above and below (``rho`` a scalar or one value per box)."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    r = np.asarray(rho, np.float64).reshape(-1, 1) if np.ndim(rho) else float(rho)
    wh = b[:, 2:] - b[:, :2]
    return np.concatenate([b[:, :2] - r * wh, b[:, 2:] + r * wh], axis=1)


def clip_boxes(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """Clip boxes to the image ``[0, width] x [0, height]`` (empty boxes stay empty).

    An inverted box (``x1 < x0`` or ``y1 < y0``, which no detector should emit) collapses to
    zero width or height: it hides nothing, as in the redactor. Left inverted, it would count
    negatively in the evaluator's area grids and could make a GT box read as covered."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4).copy()
    b[:, [0, 2]] = b[:, [0, 2]].clip(0, width)
    b[:, [1, 3]] = b[:, [1, 3]].clip(0, height)
    b[:, 2] = np.maximum(b[:, 2], b[:, 0])
    b[:, 3] = np.maximum(b[:, 3], b[:, 1])
    return b


def snap_to_pixels(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """The pixels the redactor hides for each box: every pixel a box touches (``floor`` of its
    start, ``ceil`` of its end), clipped to the image. An empty box stays empty."""
    b = clip_boxes(boxes, width, height)
    empty = (b[:, 2] <= b[:, 0]) | (b[:, 3] <= b[:, 1])
    b[:, :2] = np.floor(b[:, :2])
    b[:, 2:] = np.minimum(np.ceil(b[:, 2:]), [width, height])
    b[empty] = 0.0
    return b


def box_area(boxes: np.ndarray) -> np.ndarray:
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` intersection over union."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _boxes(a) -> np.ndarray:
    return np.asarray(a, np.float64).reshape(-1, 4)


@dataclass
class Detections:
    """Detections of one image: xyxy boxes in original-image pixels, scores, class ids.

    Every predictor (torch, ONNX, tiled, teachers) returns this, so the evaluator and the
    redactor never depend on how the boxes were produced.
    """

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    def __post_init__(self) -> None:
        self.boxes = _boxes(self.boxes)
        self.scores = np.asarray(self.scores, np.float64).reshape(-1)
        self.classes = np.asarray(self.classes, np.int64).reshape(-1)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, keep: np.ndarray) -> Detections:
        return Detections(self.boxes[keep], self.scores[keep], self.classes[keep])


def redaction_mask(
    det: Detections, thresholds: np.ndarray, rho: np.ndarray, width: float, height: float
) -> np.ndarray:
    """Boxes whose union is the redaction mask ``M`` (DESIGN §4): the detections with
    ``score >= thresholds[class]``, each padded by ``rho[class]``, clipped to the image.
    ``thresholds`` / ``rho`` are indexed by ``det.classes`` (class ids, or the channel ids of a
    detector set, :mod:`figure_ml.ensemble`)."""
    keep = det.scores >= thresholds[det.classes]
    boxes = pad_boxes(det.boxes[keep], rho[det.classes[keep]])
    return clip_boxes(boxes, width, height)
