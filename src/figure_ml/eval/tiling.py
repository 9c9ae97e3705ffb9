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


def tiling_of(predictor: object) -> dict[str, object] | None:
    """How ``predictor`` treats large photos, for the record (``metrics.json`` → ``model.tiling``):
    its policy's ``mode`` and ``min_long_side``, or None when it never tiles. For a detector set
    it is the trained model's (member 0; the teachers run on the whole photo)."""
    inner = getattr(predictor, "predictors", [predictor])[0]
    policy = getattr(inner, "policy", None)
    if not isinstance(policy, TilingPolicy) or policy.mode == "off":
        return None
    return {"mode": policy.mode, "min_long_side": policy.min_long_side}
