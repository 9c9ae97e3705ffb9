"""A phone's auto exposure and tone curve, applied to the rendered 8-bit image before the
other camera effects (:mod:`figure_ml.data.synth.augment`).

Phones meter on the faces they detect (face-priority auto exposure) and lift shadows with a
global tone curve (their "HDR" look), so a person in a dim room or with deeply pigmented skin
is still exposed with visible eyes, brows and lips. Without this step a dark-skinned face under
a dim lamp rendered almost black, and faces of Fitzpatrick V-VI were the ones lost.

The exposure only partly corrects the metered brightness (real AE compromises between the face
and the scene, and dark skin stays darker than fair skin), and highlights roll off softly
instead of clipping. One lookup table per image: a few milliseconds.
"""

from __future__ import annotations

import cv2
import numpy as np

#: metered brightness the exposure aims at (sRGB luma in 0..1) and how much of the gap it closes
TARGET, STRENGTH = 0.5, 0.5
#: the exposure gain stays within these bounds (a phone neither blows out nor darkens much)
GAIN = (0.8, 1.8)
KNEE = 0.85


def tone_lut(gain: float, gamma: float) -> np.ndarray:
    """uint8 -> uint8 table of ``(gain x)^gamma`` with a soft shoulder above :data:`KNEE`."""
    x = np.arange(256, dtype=np.float64) / 255.0
    y = (gain * x) ** gamma
    hi = y > KNEE
    y[hi] = KNEE + (1 - KNEE) * np.tanh((y[hi] - KNEE) / (1 - KNEE))
    return np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8)


def phone_exposure(
    image: np.ndarray, instances: np.ndarray, face_ids: list[int], seed: int
) -> tuple[np.ndarray, dict[str, float]]:
    """Expose ``image`` (uint8 RGB) for its faces (ids in ``instances``), or for the whole frame
    when it has none; returns the new image and the gain and gamma applied."""
    rng = np.random.default_rng(seed)
    luma = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    sel = np.isin(instances, face_ids) if face_ids else None
    if sel is not None and sel.sum() >= 16:
        metered = float(luma[sel].mean()) / 255.0
    else:
        metered = float(luma.mean()) / 255.0
    target = TARGET * float(rng.uniform(0.85, 1.1))
    gain = float(np.clip((target / max(metered, 0.02)) ** STRENGTH, *GAIN))
    gamma = float(rng.uniform(0.8, 1.0))  # shadow lift of the phone's tone curve
    out = cv2.LUT(image, tone_lut(gain, gamma))
    return out, {"exposure_gain": round(gain, 3), "tone_gamma": round(gamma, 3)}
