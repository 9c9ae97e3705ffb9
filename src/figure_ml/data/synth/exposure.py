"""A phone's global tone curve, applied to the rendered 8-bit image before the other camera
effects (:mod:`figure_ml.data.synth.augment`).

Auto exposure happens in the scene, before anything clips
(:func:`figure_ml.data.render.scene_plan.auto_exposure`); this step adds the shadow lift of a
phone's tone curve (its "HDR" look) with a soft highlight shoulder, so faces in shade, and
deeply pigmented skin in particular, keep visible eyes, brows and lips. One lookup table per
image: well under a millisecond.
"""

from __future__ import annotations

import cv2
import numpy as np

#: values above this roll off softly instead of clipping
KNEE = 0.85
#: exponent range of the curve (1: linear, smaller: more shadow lift)
GAMMA = (0.8, 1.0)


def tone_lut(gamma: float) -> np.ndarray:
    """uint8 -> uint8 table of ``x^gamma`` with a soft shoulder above :data:`KNEE`."""
    x = np.arange(256, dtype=np.float64) / 255.0
    y = x**gamma
    hi = y > KNEE
    y[hi] = KNEE + (1 - KNEE) * np.tanh((y[hi] - KNEE) / (1 - KNEE))
    return np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8)


def tone_curve(image: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, float]]:
    """``image`` (uint8 RGB) through a phone tone curve drawn from ``seed``; returns the new image
    and the curve's exponent."""
    gamma = float(np.random.default_rng(seed).uniform(*GAMMA))
    return cv2.LUT(image, tone_lut(gamma)), {"tone_gamma": round(gamma, 3)}
