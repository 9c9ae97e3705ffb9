"""Layers a head is composed on: small local alpha patches, ellipses and strokes.

A head is drawn element by element (ear, eye, lip...) onto :class:`HeadLayers`; each element is a
:class:`Patch` covering only its own window, which keeps a 300 px head cheap.
"""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.canvas import blend_into


class Patch:
    """A small alpha patch at ``(x0, y0)`` of the head: elements are drawn locally for speed."""

    def __init__(self, a: np.ndarray, x0: int, y0: int) -> None:
        self.a, self.x0, self.y0 = a, x0, y0

    def __mul__(self, other: float | Patch) -> Patch:
        if isinstance(other, Patch):  # clip to another element (an iris to its eye)
            return Patch(self.a * other.full_like(self), self.x0, self.y0)
        return Patch(self.a * other, self.x0, self.y0)

    def full_like(self, ref: Patch) -> np.ndarray:
        """This patch's values on ``ref``'s window (0 outside this patch)."""
        h, w = ref.a.shape
        out = np.zeros((h, w), np.float32)
        xs, ys = max(self.x0, ref.x0), max(self.y0, ref.y0)
        xe = min(self.x0 + self.a.shape[1], ref.x0 + w)
        ye = min(self.y0 + self.a.shape[0], ref.y0 + h)
        if xe > xs and ye > ys:
            out[ys - ref.y0 : ye - ref.y0, xs - ref.x0 : xe - ref.x0] = self.a[
                ys - self.y0 : ye - self.y0, xs - self.x0 : xe - self.x0
            ]
        return out

    def full(self, size: int) -> np.ndarray:
        return self.full_like(Patch(np.zeros((size, size), np.float32), 0, 0))


class HeadLayers:
    """Layers of one head patch: colour, coverage alpha and the face-ownership mask."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.rgb = np.zeros((size, size, 3), np.float32)
        self.alpha = np.zeros((size, size), np.float32)
        self.face = np.zeros((size, size), np.float32)
        #: base skin colour of the head, for the hands and arms painted with the body
        self.skin = np.array((0.8, 0.6, 0.46), np.float32)
        #: scalp hair coverage (kept for the box-convention checks): hair is never face
        self.hair = np.zeros((size, size), np.float32)
        #: where the face may be at all: the face oval and the ears (set by compose_head);
        #: what is worn on the face counts as face only inside it
        self.extent: np.ndarray | None = None

    def unclaim(self, a: np.ndarray) -> None:
        """Take ``a`` (full-patch alpha) away from the face without painting anything."""
        self.face *= 1.0 - a

    def finish_face(self) -> None:
        """Clip the face mask to its extent (a mask's lower edge or a cap's crown are not face)."""
        if self.extent is not None:
            np.minimum(self.face, self.extent, out=self.face)

    def claim(self, a: np.ndarray | Patch) -> None:
        """Give ``a`` to the face without painting anything (the inverse of :meth:`unclaim`)."""
        win = self._window(a)
        if win is not None:
            x0, y0, x1, y1, al = win
            fm = self.face[y0:y1, x0:x1]
            fm *= 1.0 - al
            fm += al

    def _window(self, a: np.ndarray | Patch) -> tuple[int, int, int, int, np.ndarray] | None:
        """``(x0, y0, x1, y1, alpha)`` of ``a`` on the patch (an element works on its own window
        only); None when it lies off the patch."""
        if not isinstance(a, Patch):
            return 0, 0, self.size, self.size, a
        x0, y0 = max(a.x0, 0), max(a.y0, 0)
        x1 = min(a.x0 + a.a.shape[1], self.size)
        y1 = min(a.y0 + a.a.shape[0], self.size)
        if x1 <= x0 or y1 <= y0:
            return None
        return x0, y0, x1, y1, a.a[y0 - a.y0 : y1 - a.y0, x0 - a.x0 : x1 - a.x0]

    def lay(
        self,
        a: np.ndarray | Patch,
        col: np.ndarray | tuple,
        face: bool | None,
        multiply: bool = False,
    ) -> None:
        """Composite ``a``/``col``; ``face`` True claims, False un-claims, None leaves ownership."""
        win = self._window(a)
        if win is None:
            return
        x0, y0, x1, y1, al = win
        c = np.asarray(col, np.float32)
        if c.ndim == 3:
            c = c[y0:y1, x0:x1]
        blend_into(self.rgb[y0:y1, x0:x1], al, c, "multiply" if multiply else "normal")
        if multiply:
            return
        alpha = self.alpha[y0:y1, x0:x1]
        alpha *= 1.0 - al
        alpha += al
        if face is True:
            self.claim(a)
        elif face is False:
            self.face[y0:y1, x0:x1] *= 1.0 - al


def ellipse(
    size: int,
    c: tuple[float, float],
    axes: tuple[float, float],
    blur: float = 0.8,
    ang: float = 0.0,
    start: int = 0,
    end: int = 360,
) -> Patch:
    """An anti-aliased filled ellipse (or sector ``start..end`` deg) on its own patch."""
    r = max(axes) + 3 * blur + 3
    x0, y0 = int(c[0] - r), int(c[1] - r)
    n = int(2 * r) + 2
    m = np.zeros((n, n), np.uint8)
    cv2.ellipse(
        m,
        (round((c[0] - x0) * 4), round((c[1] - y0) * 4)),
        (max(1, round(axes[0] * 4)), max(1, round(axes[1] * 4))),
        ang,
        start,
        end,
        255,
        -1,
        cv2.LINE_AA,
        shift=2,
    )
    a = m.astype(np.float32) / 255.0
    return Patch(cv2.GaussianBlur(a, (0, 0), blur) if blur > 0 else a, x0, y0)


def stroke(size: int, pts: np.ndarray, th: float, blur: float = 0.6) -> Patch:
    """An anti-aliased open polyline ``th`` px thick through ``pts`` on its own patch."""
    pad = th + 3 * blur + 3
    x0, y0 = int(pts[:, 0].min() - pad), int(pts[:, 1].min() - pad)
    w = int(pts[:, 0].max() - x0 + pad) + 2
    h = int(pts[:, 1].max() - y0 + pad) + 2
    m = np.zeros((h, w), np.uint8)
    p = np.round((pts - [x0, y0]) * 4).astype(np.int32)
    cv2.polylines(m, [p], False, 255, max(1, round(th)), cv2.LINE_AA, shift=2)
    return Patch(cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), blur), x0, y0)


def polygon(pts: np.ndarray, blur: float = 0.6) -> Patch:
    """An anti-aliased filled polygon through ``pts`` (n, 2) on its own patch."""
    pad = 3 * blur + 3
    x0, y0 = int(pts[:, 0].min() - pad), int(pts[:, 1].min() - pad)
    w = int(pts[:, 0].max() - x0 + pad) + 2
    h = int(pts[:, 1].max() - y0 + pad) + 2
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.round((pts - [x0, y0]) * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
    a = m.astype(np.float32) / 255.0
    return Patch(cv2.GaussianBlur(a, (0, 0), blur) if blur > 0 else a, x0, y0)
