"""The drawing surface shared by every renderer.

A :class:`Canvas` holds the RGB image (float32 in [0, 1]) and an *instance map* (uint16, 0 =
nothing) that records which object owns each pixel. Renderers paint through :meth:`Canvas.paint`,
which composites a patch and updates the instance map in the same step, so that an occluder
painted later (a glove, a sleeve, the frame edge) removes pixels from the objects under it.

Boxes are never computed by renderers: the generator takes each object's box from its pixels in
the instance map *after* every geometric augmentation, which keeps boxes tight (a rotated word's
box is the box of its rotated ink, not of its rotated box).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

ObjectKind = Literal["phi", "finding"]


@dataclass
class SceneObject:
    """One annotated thing in a scene.

    ``kind`` is ``"phi"`` (``label`` is a class name from :mod:`figure_ml.classes`) or
    ``"finding"`` (``label`` is a clinical finding kind such as ``"lesion"``; findings must stay
    visible and are never detection targets). ``attrs`` holds generator parameters worth slicing
    evaluation by (font, character height in px, rotation in degrees, faded, occluded...); values
    must be JSON-serialisable.
    """

    kind: ObjectKind
    label: str
    instance_id: int
    attrs: dict[str, Any] = field(default_factory=dict)


class Canvas:
    """Image + instance map + object registry of one scene being rendered."""

    def __init__(self, width: int, height: int, rng: np.random.Generator) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"canvas size must be positive, got {width}x{height}")
        self.width = int(width)
        self.height = int(height)
        self.rng = rng
        self.image = np.zeros((self.height, self.width, 3), np.float32)
        self.instances = np.zeros((self.height, self.width), np.uint16)
        self.objects: list[SceneObject] = []
        #: scene-level parameters recorded into the sample's ``meta`` (skin tone, lighting...)
        self.params: dict[str, Any] = {}

    # ------------------------------------------------------------------ objects
    def new_object(self, kind: ObjectKind, label: str, **attrs: Any) -> SceneObject:
        """Register an object and return it; paint its pixels with ``owner=obj``."""
        if len(self.objects) >= np.iinfo(np.uint16).max - 1:
            raise RuntimeError("too many objects in one scene")
        obj = SceneObject(kind, label, len(self.objects) + 1, dict(attrs))
        self.objects.append(obj)
        return obj

    # ------------------------------------------------------------------ painting
    def _clip(self, x0: int, y0: int, h: int, w: int) -> tuple[slice, slice, slice, slice] | None:
        """Canvas and patch slices of a ``h x w`` patch placed at ``(x0, y0)``; None if outside."""
        cx0, cy0 = max(x0, 0), max(y0, 0)
        cx1, cy1 = min(x0 + w, self.width), min(y0 + h, self.height)
        if cx1 <= cx0 or cy1 <= cy0:
            return None
        return (
            slice(cy0, cy1),
            slice(cx0, cx1),
            slice(cy0 - y0, cy1 - y0),
            slice(cx0 - x0, cx1 - x0),
        )

    def paint(
        self,
        x0: int,
        y0: int,
        alpha: np.ndarray,
        color: np.ndarray | tuple[float, float, float],
        owner: SceneObject | None = None,
        *,
        mode: Literal["normal", "multiply"] = "normal",
        claim: float = 0.5,
        occlude: bool = True,
    ) -> None:
        """Composite a patch whose top-left corner is at ``(x0, y0)``; parts outside are clipped.

        ``alpha`` is ``(h, w)`` float in [0, 1]; ``color`` is ``(h, w, 3)`` or an RGB triple in
        [0, 1]. ``mode="multiply"`` darkens like ink or shadow (``image *= 1 - a * (1 - color)``).
        Pixels with ``alpha >= claim`` are given to ``owner``; with ``owner=None`` and
        ``occlude=True`` they are taken from whatever owned them (an occluder). With
        ``occlude=False`` the instance map is left alone (shading, lighting, texture).
        """
        alpha = np.asarray(alpha, np.float32)
        h, w = alpha.shape
        sl = self._clip(int(x0), int(y0), h, w)
        if sl is None:
            return
        cy, cx, py, px = sl
        a = alpha[py, px]
        col = np.asarray(color, np.float32)
        col = col[py, px] if col.ndim == 3 else col.reshape(3)
        region = self.image[cy, cx]
        # channel by channel: broadcasting an (h, w, 1) alpha over 3 channels runs numpy's
        # inner loop 3 elements at a time, several times slower; the arithmetic is the same
        if mode == "multiply":
            for k in range(3):
                t = a * (1.0 - col[..., k])
                np.subtract(1.0, t, out=t)
                region[..., k] *= t
        else:
            inv = 1.0 - a
            for k in range(3):
                ch = region[..., k]
                ch *= inv
                ch += a * col[..., k]
        if owner is not None or occlude:
            take = a >= claim
            self.instances[cy, cx][take] = 0 if owner is None else owner.instance_id

    def to_uint8(self) -> np.ndarray:
        """The image as ``(H, W, 3)`` uint8 RGB."""
        return (np.clip(self.image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
