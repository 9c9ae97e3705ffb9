"""``predictor.strategy=tiled``: evaluate with the same tiling the redactor ships."""

from __future__ import annotations

import numpy as np

from figure_ml.eval.predictors import Predictor
from figure_ml.eval.records import Detections
from figure_ml.tiling import TilingPolicy, detect_tiled


class TiledPredictor:
    """Wraps any predictor with :func:`figure_ml.tiling.detect_tiled`."""

    def __init__(self, inner: Predictor, policy: TilingPolicy | None = None) -> None:
        self.inner = inner
        self.imgsz = inner.imgsz
        self.policy = policy or TilingPolicy(tile=inner.imgsz)
        self.description = f"{inner.description}+tiled"

    def _detect(self, image: np.ndarray):
        d = self.inner.predict(image)
        return d.boxes, d.scores, d.classes

    def predict(self, image: np.ndarray) -> Detections:
        return Detections(*detect_tiled(image, self._detect, self.policy))
