"""What the evaluator compares: ground truth of one image in original pixels, and the
detections (:class:`figure_ml.boxes.Detections`, re-exported here for the evaluator)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from figure_ml.boxes import Detections

__all__ = ["Detections", "GroundTruth"]


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
    #: hard negatives the generator painted into the photo (synthetic canonical data only)
    hard_negatives: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.boxes = _boxes(self.boxes)
        self.classes = np.asarray(self.classes, np.int64).reshape(-1)
        self.findings = _boxes(self.findings)
