"""Scene planning: how many PHI objects of each class, which shot, where heads may go, light.

Pure functions of the scene's ``rng`` (and of what is already painted), used by
:func:`figure_ml.data.render.scene.render_scene`.
"""

from __future__ import annotations

import cv2
import numpy as np

from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.glyphs import log_uniform
from figure_ml.data.render.primitives import Layout, smooth_noise
from figure_ml.data.render.skin import SkinRegion

SCENES = ("limb", "closeup", "torso", "portrait", "bedside", "document")
#: weight of the document shot beside the others' 1.0 in all (when text is planned). A page
#: holds 10-40 lines, so even this share makes pages half to two thirds of all text lines
#: (seed 204: 180 of 421 val lines, 462 of 700 test lines).
DOCUMENT_SHARE = 0.04
LIGHTING = ("even", "directional", "flash", "window")


def plan_counts(rng: np.random.Generator, classes: list[str], n: int) -> dict[str, int]:
    """How many objects of each enabled class: round-robin from a random start, so even."""
    counts = dict.fromkeys(classes, 0)
    if not classes:
        return counts
    order = [classes[i] for i in rng.permutation(len(classes))]
    for i in range(n):
        counts[order[i % len(order)]] += 1
    return counts


def lighting(canvas: Canvas) -> str:
    """A gentle low-frequency illumination field (uneven room light / phone flash falloff)."""
    rng = canvas.rng
    kind = str(rng.choice(LIGHTING, p=[0.25, 0.3, 0.25, 0.2]))
    if kind == "even":
        return kind
    sh, sw = max(2, canvas.height // 16), max(2, canvas.width // 16)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    xx, yy = xx / sw - 0.5, yy / sh - 0.5
    if kind == "directional":
        ang = rng.uniform(0, 2 * np.pi)
        field = 1.0 + rng.uniform(0.2, 0.5) * (xx * np.cos(ang) + yy * np.sin(ang))
    elif kind == "flash":  # bright centre, falling off towards the corners
        cx, cy = rng.uniform(-0.15, 0.15, 2)
        field = 1.12 - rng.uniform(0.4, 0.9) * ((xx - cx) ** 2 + (yy - cy) ** 2)
    else:
        field = 1.0 + 0.2 * smooth_noise(rng, sh, sw, max(sh, sw) / 2)
    field = cv2.resize(
        field.astype(np.float32), (canvas.width, canvas.height), interpolation=cv2.INTER_CUBIC
    )
    for k in range(3):  # channel by channel (see Canvas.paint)
        canvas.image[..., k] *= field
    return kind


def auto_exposure(canvas: Canvas, face_ids: list[int]) -> float:
    """A phone's face-priority auto exposure: scale the lit scene so its faces (or, without one,
    the whole frame) come out near mid-grey, before anything clips; returns the gain.

    Phones meter on the faces they detect, so a fair face under a flash is not blown out and a
    deeply pigmented face in a dim room keeps visible eyes, brows and lips. The correction is
    partial (square root of the ratio, within 0.8-1.8), as real exposure compromises between
    face and scene and dark skin stays darker than fair skin.
    """
    img = canvas.image
    sel = np.isin(canvas.instances, face_ids) if face_ids else None
    px = img[sel] if sel is not None and sel.sum() >= 16 else img[::4, ::4].reshape(-1, 3)
    luma = float(px.mean(axis=0) @ np.array([0.299, 0.587, 0.114], np.float32))
    target = 0.5 * float(canvas.rng.uniform(0.85, 1.1))
    gain = float(np.clip((target / max(luma, 0.02)) ** 0.5, 0.8, 1.8))
    img *= np.float32(gain)
    return round(gain, 3)


def face_box(cx: float, cy: float, size: float, roll: float | None) -> tuple[float, ...]:
    """Box around a head and the start of its body (which runs 'down' the rolled head)."""
    r = np.radians(roll or 0.0)
    bx, by = cx + np.sin(r) * 2.5 * size, cy + np.cos(r) * 2.5 * size
    return (
        min(cx, bx) - 1.3 * size,
        min(cy, by) - 1.3 * size,
        max(cx, bx) + 1.3 * size,
        max(cy, by) + 1.3 * size,
    )


def limb_share(limbs: list[SkinRegion], cx: float, cy: float, size: float) -> float:
    """Share of a head's square (about hairline to chin and ear to ear) that limbs cover.

    Limbs are painted before heads, so one there would seem to run behind or through the head.
    """
    r = 0.7 * size
    x0, y0, n = int(cx - r), int(cy - r), max(2, int(2 * r))
    cover = np.zeros((n, n), np.float32)
    for reg in limbs:
        np.maximum(cover, reg.alpha_at(x0, y0, n, n), out=cover)
    return float(cover.mean())


def scene_kind(rng: np.random.Generator, plan: dict[str, int]) -> str:
    """Pick the shot, and move planned faces to other classes where a face cannot be.

    Close-ups of skin and trunk shots hold no face; portraits and bedside shots hold at least
    one when faces are enabled; a document shot (a photographed page, :mod:`document`) holds
    text only. Totals per class stay balanced on average, except that a page adds many lines.
    """
    others = [c for c in plan if c != "face"]
    kinds = ["limb", "closeup", "torso", "portrait", "bedside", "document"]
    paper = DOCUMENT_SHARE if "text" in plan and sum(plan.values()) else 0.0
    p = [0.3, 0.15, 0.15, 0.2, 0.2, paper]
    if not others:  # faces only: a shot that can hold one
        kinds, p = ["limb", "portrait", "bedside"], [0.3, 0.35, 0.35]
    kind = str(rng.choice(kinds, p=np.array(p) / sum(p)))
    if kind == "document":  # a page holds only text: every planned object becomes a line
        total = sum(plan.values())
        plan.update(dict.fromkeys(plan, 0), text=total)
        return kind
    n_face = plan.get("face", 0)
    if kind in ("closeup", "torso") and n_face:
        for _ in range(n_face):
            plan[others[int(rng.integers(len(others)))]] += 1
        plan["face"] = 0
    elif kind in ("portrait", "bedside") and "face" in plan and not n_face:
        donors = [c for c in others if plan[c] > 0]
        if donors:  # take one object from the most planned class
            plan[max(donors, key=lambda c: plan[c])] -= 1
            plan["face"] = 1
    return kind


def _face_spot(
    rng: np.random.Generator, i: int, kind: str, size: float, w: int, h: int
) -> tuple[float, float]:
    """Where face ``i`` of a ``kind`` shot is centred: the first face of a portrait near the
    middle, of a bedside shot anywhere but the margins; a bystander anywhere, 20% of them cut
    by the frame's left or right edge."""
    if i == 0 and kind == "portrait":
        return w * rng.uniform(0.35, 0.65), h * rng.uniform(0.35, 0.6)
    if i == 0 and kind == "bedside":
        return w * rng.uniform(0.2, 0.8), h * rng.uniform(0.2, 0.8)
    edge = rng.random() < 0.2
    cx = w * (rng.choice([0.0, 1.0]) if edge else rng.uniform(0.05, 0.95))
    return cx, h * rng.uniform(0.05, 0.95)


def _face_specs(
    rng: np.random.Generator, plan: dict[str, int], kind: str, fitz: int, w: int, h: int
) -> list[tuple]:
    """Size, tone, centre, roll, lying and shot role (index) of each planned face, before
    placement."""
    unit = float(min(w, h))
    specs = []
    for i in range(plan.get("face", 0)):
        roll, lying = None, False
        if i == 0 and kind == "portrait":
            size = unit * rng.uniform(0.25, 0.7)
        elif i == 0 and kind == "bedside":
            size = unit * rng.uniform(0.15, 0.45)
            roll = float(rng.choice([0.0, 90.0, -90.0, 180.0]) + rng.normal(0, 15))
            lying = True
        else:  # a bystander, a second patient, or the patient at the frame edge
            size = log_uniform(rng, 12, unit * 0.35)
        cx, cy = _face_spot(rng, i, kind, size, w, h)
        tone = fitz if i == 0 else int(rng.integers(1, 7))
        specs.append((size, tone, cx, cy, roll, lying, i))
    return specs


def place_faces(
    rng: np.random.Generator,
    plan: dict[str, int],
    kind: str,
    fitz: int,
    layout: Layout,
    regions: list[SkinRegion],
    w: int,
    h: int,
) -> list[tuple]:
    """Where each planned face goes: ``(size, tone, cx, cy, roll, lying)``, largest first.

    Near (large) faces are placed first so bystanders keep clear of their head and body; the
    caller paints far (small) ones first, since a body painted later hides what lies under it.
    """
    placed = []
    limbs = [r for r in regions if r.kind in ("arm", "leg")]
    specs = _face_specs(rng, plan, kind, fitz, w, h)
    for size, tone, cx, cy, roll, lying, i in sorted(specs, key=lambda sp: -sp[0]):
        best = None  # a free spot, preferably one no limb runs through (painted before the head)
        for _ in range(12):
            if layout.overlap(face_box(cx, cy, size, roll)) < 0.05:
                crossing = limb_share(limbs, cx, cy, size)
                if best is None or crossing < best[0]:
                    best = (crossing, cx, cy)
                if crossing < 0.02:
                    break
            # a new spot from the same distribution: a uniform one over the frame would favour
            # spots whose head-and-body box lies mostly outside it (nothing reserved there), and
            # so pushed a third of all faces against the frame edge
            cx, cy = _face_spot(rng, i, kind, size, w, h)
        if best is None:
            continue  # no room left for another head: a hidden face is no training signal
        _, cx, cy = best
        layout.reserve(face_box(cx, cy, size, roll))
        placed.append((size, tone, cx, cy, roll, lying))
    return placed
