"""What the evaluator compares: ground truth and detections of one image, in original pixels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _boxes(a) -> np.ndarray:
    return np.asarray(a, np.float64).reshape(-1, 4)


@dataclass
class GroundTruth:
    """Ground truth of one image: PHI boxes with class ids, clinical findings, slice keys."""

    image_id: str
    width: int
    height: int
    boxes: np.ndarray
    classes: np.ndarray
    findings: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    source: str = "unknown"
    skin_tone: int = 0

    def __post_init__(self) -> None:
        self.boxes = _boxes(self.boxes)
        self.classes = np.asarray(self.classes, np.int64).reshape(-1)
        self.findings = _boxes(self.findings)


@dataclass
class Detections:
    """Detections of one image: xyxy boxes in original-image pixels, scores, class ids.

    Every predictor (torch, ONNX, tiled) returns this, so the evaluator and the redactor never
    depend on how the boxes were produced.
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
