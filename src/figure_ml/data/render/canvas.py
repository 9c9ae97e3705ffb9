"""The drawing surface shared by every renderer.

A :class:`Canvas` holds the RGB image (float32 in [0, 1]) and an *instance map* (uint16, 0 =
nothing) that records which object owns each pixel. Renderers paint through :meth:`Canvas.paint`,
which composites a patch and updates the instance map in the same step, so that an occluder
painted later (a glove, a sleeve, the frame edge) removes pixels from the objects under it.

The canvas keeps each object's pixel count up to date as it paints (:meth:`Canvas.pixels`), and
can take back everything painted since :meth:`Canvas.checkpoint` (:meth:`Canvas.rollback`), both
at the cost of the patches painted rather than of the whole frame.

Boxes are never computed by renderers: the generator takes each object's box from its pixels in
the instance map *after* every geometric augmentation, which keeps boxes tight (a rotated
object's box is the box of its rotated pixels; a text line's pixels are its line band).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np

ObjectKind = Literal["phi", "finding"]

_BLEND_SCALE = np.float32(1e4)


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


def blend_into(
    region: np.ndarray,
    a: np.ndarray,
    col: np.ndarray,
    mode: Literal["normal", "multiply"] = "normal",
) -> None:
    """Composite ``col`` (``(h, w, 3)`` or an RGB triple) into the float32 ``region`` view.

    Both modes are one ``cv2.blendLinear`` into the view: ``(1 - a) * region + a * src``, where
    src is the colour (normal) or ``region * colour`` (multiply: the
    ``region * (1 - a * (1 - colour))`` of ink and shadow). One SIMD pass instead of nine numpy
    passes. blendLinear divides by the weight sum plus 1e-5: weights scaled by _BLEND_SCALE make
    that 1e-9, so repeated paints do not drift darker.
    """
    col = np.asarray(col, np.float32)
    a = np.asarray(a, np.float32)
    if mode == "multiply":
        if col.ndim == 3:
            src = cv2.multiply(region, col)
        else:
            src = cv2.multiply(region, (*col.reshape(3).tolist(), 0.0))
    elif col.ndim == 3:
        src = col
    else:
        src = np.empty(region.shape, np.float32)
        src[:] = col.reshape(3)
    wa = a * _BLEND_SCALE
    cv2.blendLinear(src, region, wa, _BLEND_SCALE - wa, dst=region)


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
        #: pixels owned by each instance id (index 0: nobody), kept in step by paint()
        self._counts = np.zeros(64, np.int64)
        self._counts[0] = self.width * self.height
        #: (canvas slices, image before, instances before) of each paint since checkpoint()
        self._journal: list[tuple[slice, slice, np.ndarray, np.ndarray]] | None = None
        self._journal_counts: np.ndarray | None = None
        #: scene-level parameters recorded into the sample's ``meta`` (skin tone, lighting...)
        self.params: dict[str, Any] = {}

    # ------------------------------------------------------------------ objects
    def new_object(self, kind: ObjectKind, label: str, **attrs: Any) -> SceneObject:
        """Register an object and return it; paint its pixels with ``owner=obj``."""
        if len(self.objects) >= np.iinfo(np.uint16).max - 1:
            raise RuntimeError("too many objects in one scene")
        obj = SceneObject(kind, label, len(self.objects) + 1, dict(attrs))
        self.objects.append(obj)
        if obj.instance_id >= len(self._counts):
            self._counts = np.concatenate([self._counts, np.zeros_like(self._counts)])
        return obj

    def pixels(self, ids: list[int]) -> dict[int, int]:
        """Pixels each instance id owns now."""
        return {i: int(self._counts[i]) for i in ids}

    # ------------------------------------------------------------------ undo
    def checkpoint(self) -> None:
        """Start recording what paint() changes, so that :meth:`rollback` can undo it."""
        self._journal = []
        self._journal_counts = self._counts.copy()

    def rollback(self) -> None:
        """Restore image, instance map and counts as they were at :meth:`checkpoint`."""
        if self._journal is None or self._journal_counts is None:
            raise RuntimeError("rollback() without checkpoint()")
        for cy, cx, img, inst in reversed(self._journal):
            self.image[cy, cx] = img
            self.instances[cy, cx] = inst
        self._counts[: len(self._journal_counts)] = self._journal_counts
        self._counts[len(self._journal_counts) :] = 0
        self.commit()

    def commit(self) -> None:
        """Stop recording (keep what was painted)."""
        self._journal = None
        self._journal_counts = None

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
        if self._journal is not None:
            self._journal.append((cy, cx, self.image[cy, cx].copy(), self.instances[cy, cx].copy()))
        a = alpha[py, px]
        col = np.asarray(color, np.float32)
        blend_into(self.image[cy, cx], a, col[py, px] if col.ndim == 3 else col, mode)
        if owner is not None or occlude:
            self._claim(cy, cx, a >= claim, 0 if owner is None else owner.instance_id)

    def claim(
        self, x0: int, y0: int, mask: np.ndarray, owner: SceneObject, *, unowned_only: bool = False
    ) -> None:
        """Give ``owner`` the pixels where the ``(h, w)`` bool ``mask`` placed at ``(x0, y0)`` is
        true, painting nothing: a text line owns its line band, not only its ink (DESIGN §4).
        ``unowned_only``: only pixels nobody owns yet (a band is the line's box, not paint that
        hides a wristband or lesion under the gaps between its letters)."""
        h, w = mask.shape
        sl = self._clip(int(x0), int(y0), h, w)
        if sl is None:
            return
        cy, cx, py, px = sl
        take = mask[py, px]
        if unowned_only:
            take = take & (self.instances[cy, cx] == 0)
        if self._journal is not None:
            self._journal.append((cy, cx, self.image[cy, cx].copy(), self.instances[cy, cx].copy()))
        self._claim(cy, cx, take, owner.instance_id)

    def _claim(self, cy: slice, cx: slice, take: np.ndarray, new: int) -> None:
        """Give the ``take`` pixels of the window to instance ``new``, keeping counts in step."""
        if new == 0 and self._counts[0] == self.width * self.height:
            return  # nothing is owned yet (background, skin): an occluder takes nothing
        inst = self.instances[cy, cx]
        old = inst[take]
        if old.size == 0:
            return
        lost = np.bincount(old, minlength=len(self._counts))
        self._counts -= lost[: len(self._counts)]
        self._counts[new] += old.size
        inst[take] = new

    def to_uint8(self) -> np.ndarray:
        """The image as ``(H, W, 3)`` uint8 RGB (rounded, saturated at 0 and 255)."""
        # one SIMD pass; negative values (none after the scene's final clip) would fold to +
        return cv2.convertScaleAbs(self.image, alpha=255.0)
