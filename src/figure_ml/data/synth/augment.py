"""Phone-camera realism, applied by albumentations to the image and its instance map together.

Geometric transforms move the instance map with nearest-neighbour interpolation, so each
object's box is taken afterwards from its transformed pixels and stays tight.
"""

from __future__ import annotations

import functools
from typing import Any

import albumentations as A
import cv2
import numpy as np


@functools.cache
def phone_pipeline() -> A.Compose:
    """The augmentation pipeline (built once per process; seeded per sample by the caller)."""
    return A.Compose(
        [
            # Hand-held framing: slight tilt and keystone. The zoom hides most of the empty
            # corners a rotation leaves; what remains is filled black in the image and 0 (no
            # object) in the instance map, like a vignette.
            A.Affine(
                rotate=(-7, 7),
                scale=(1.0, 1.15),
                keep_ratio=True,
                translate_percent=(-0.03, 0.03),
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                fill_mask=0,
                p=0.6,
            ),
            A.Perspective(scale=(0.01, 0.05), border_mode=cv2.BORDER_CONSTANT, p=0.3),
            # Optics and motion: slight softness, hand shake, out of focus (a wide Gaussian
            # stands in for albumentations' Defocus, whose disc convolution cost 40 ms a photo).
            A.OneOf(
                [
                    A.GaussianBlur(blur_limit=(3, 5)),
                    A.MotionBlur(blur_limit=(3, 9)),
                    A.GaussianBlur(blur_limit=(5, 9), sigma_limit=(1.2, 2.5)),
                ],
                p=0.35,
            ),
            # A phone's ISP sharpens every photo (unsharp masking): edges of eyes, brows and lips
            # get the crisp, slightly haloed look of phone photos instead of a render's softness.
            A.Sharpen(alpha=(0.15, 0.35), lightness=(0.9, 1.1), p=0.6),
            # Exposure and white balance: low light, warm/cold lamps, colour casts.
            A.RandomBrightnessContrast(brightness_limit=(-0.25, 0.15), contrast_limit=0.2, p=0.6),
            A.PlanckianJitter(p=0.3),
            A.RGBShift(r_shift_limit=12, g_shift_limit=12, b_shift_limit=12, p=0.25),
            # Specular glare from a flash or an examination lamp.
            A.RandomSunFlare(
                flare_roi=(0, 0, 1, 1),
                src_radius=120,
                num_flare_circles_range=(1, 4),
                p=0.1,
            ),
            # Sensor noise left after the phone's denoiser (a residual of 1-3% of full scale, not
            # raw sensor grain): luminance grain or colour (chroma) noise.
            # A phone's demosaicing and denoising leave it correlated over neighbouring pixels,
            # so it is drawn at half resolution and upsampled (also 4x fewer random draws than
            # the per-pixel noise and ISONoise used before).
            A.OneOf(
                [
                    A.GaussNoise(std_range=(0.01, 0.03), per_channel=False, noise_scale_factor=0.5),
                    A.GaussNoise(std_range=(0.01, 0.025), per_channel=True, noise_scale_factor=0.5),
                ],
                p=0.4,
            ),
            # A first lossy pass, as when a photo travelled through a messaging app before.
            A.ImageCompression(quality_range=(35, 85), p=0.2),
        ],
        save_applied_params=True,
    )


def augment(
    image: np.ndarray, instances: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Apply :func:`phone_pipeline` with ``seed``; returns image, instance map and the names of
    the transforms applied (with the rotation angle when one was applied)."""
    pipe = phone_pipeline()
    pipe.set_random_seed(seed)
    out = pipe(image=image, mask=instances)
    applied: list[str] = []
    params: dict[str, Any] = {}
    for name, p in out.get("applied_transforms", []):
        applied.append(name)
        if name == "Affine" and "rotate" in p:
            params["rotation_deg"] = round(float(p["rotate"]), 2)
    params["augmentations"] = applied
    return out["image"], out["mask"].astype(np.uint16, copy=False), params
