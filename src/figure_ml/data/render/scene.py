"""Compose one synthetic clinical photo: background, patient skin, PHI, findings, clutter, light.

The order of painting is the order of depth: what is painted later hides what was painted
earlier, and :meth:`Canvas.paint` keeps the instance map in step, so occlusion of PHI by gauze,
gloves, drapes or sleeves is real occlusion in the labels too. All randomness comes from
``canvas.rng`` and the caller-seeded ``faker``, so a seed gives a byte-identical scene.

A scene is built in stages (:func:`render_scene` lists them), each a small function over one
:class:`_Scene`. A PHI-free scene (``phi_free``) plans no PHI and more hard negatives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import faker as faker_mod
import numpy as np

from figure_ml.classes import CLASS_NAMES
from figure_ml.data.render.back_of_head import head_from_behind
from figure_ml.data.render.body_parts import add_closeup, add_limb, add_torso
from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.cloth import paint_background
from figure_ml.data.render.clutter import foreground_clutter
from figure_ml.data.render.document import add_document
from figure_ml.data.render.face import add_face
from figure_ml.data.render.findings import add_finding
from figure_ml.data.render.glyphs import font_list, log_uniform
from figure_ml.data.render.interior import room_surroundings
from figure_ml.data.render.negatives import add_hard_negatives, mannequin
from figure_ml.data.render.options import SceneOptions
from figure_ml.data.render.primitives import Layout
from figure_ml.data.render.scene_plan import (
    auto_exposure,
    lighting,
    place_faces,
    plan_counts,
    scene_kind,
)
from figure_ml.data.render.skin import SkinRegion
from figure_ml.data.render.surface import surface_grain
from figure_ml.data.render.tattoo import add_tattoo
from figure_ml.data.render.text import add_printed, skin_marking
from figure_ml.data.render.wristband import add_wristband

#: share of scenes that show some of the room around the patient (see :mod:`interior`)
ROOM_SHARE = 0.6
#: clutter that is also a hard negative (see :mod:`negatives`)
NEGATIVE_CLUTTER = ("ruler", "glove")


@dataclass
class _Scene:
    """What the stages of one scene share."""

    canvas: Canvas
    faker: faker_mod.Faker
    opts: SceneOptions
    plan: dict[str, int]
    fitz: int
    kind: str
    layout: Layout
    regions: list[SkinRegion] = field(default_factory=list)
    made: list = field(default_factory=list)  # PHI objects
    findings: list = field(default_factory=list)
    full: dict[int, int] = field(default_factory=dict)  # PHI pixels right after painting
    negatives: list[str] = field(default_factory=list)
    clutter: list[str] = field(default_factory=list)

    @property
    def rng(self) -> np.random.Generator:
        return self.canvas.rng

    @property
    def unit(self) -> float:
        return float(min(self.canvas.width, self.canvas.height))

    def track(self, objs: list) -> None:
        """Record each new object's pixel count as painted, before anything later hides it."""
        self.full.update(self.canvas.pixels([o.instance_id for o in objs]))
        self.made += objs


def _arm(sc: _Scene, lo: float = 0.04) -> None:
    reg = add_limb(sc.canvas, sc.fitz, "arm", sc.unit * sc.rng.uniform(lo, 0.13))
    sc.regions += [reg] if reg else []


def _add_regions(sc: _Scene) -> None:
    """The patient's skin: a close-up, a trunk, limbs; every planned band needs a wrist."""
    rng, kind = sc.rng, sc.kind
    if kind == "closeup":
        sc.regions.append(add_closeup(sc.canvas, sc.fitz))
    elif kind == "torso":
        reg = add_torso(sc.canvas, sc.fitz)
        sc.regions += [reg] if reg else []
    if kind in ("limb", "bedside") or (kind in ("torso", "portrait") and rng.random() < 0.4):
        for _ in range(int(rng.integers(1, 3)) if kind == "limb" else 1):
            limb = "leg" if kind == "limb" and rng.random() < 0.25 else "arm"
            reg = add_limb(sc.canvas, sc.fitz, limb, sc.unit * rng.uniform(0.04, 0.13))
            sc.regions += [reg] if reg else []
    bands = sc.plan.get("wristband", 0)
    need = bands - sum(r.wrist is not None for r in sc.regions)
    for _ in range(max(0, need) * 3):
        if sum(r.wrist is not None for r in sc.regions) >= bands:
            break
        _arm(sc)
    if sc.plan.get("tattoo", 0) and not sc.regions:
        _arm(sc, 0.05)


def _add_room(sc: _Scene) -> None:
    """The room at the frame's edges in about 60% of scenes (:mod:`interior`): hard negatives
    recorded as ``room_<kind>``."""
    if sc.rng.random() < ROOM_SHARE:
        kinds = room_surroundings(sc.canvas, int(sc.rng.integers(1, 4)))
        sc.negatives += [f"room_{k}" for k in kinds]


def _add_faces(sc: _Scene) -> None:
    """Place the planned faces (see :func:`place_faces`), far (small) ones painted first."""
    w, h = sc.canvas.width, sc.canvas.height
    placed = place_faces(sc.rng, sc.plan, sc.kind, sc.fitz, sc.layout, sc.regions, w, h)
    for size, tone, cx, cy, roll, lying in placed[::-1]:
        sc.track(
            add_face(
                sc.canvas, tone, size, cx, cy, sc.layout, roll, lying=lying, regions=sc.regions
            )
        )


def _band_wrists(sc: _Scene) -> list[SkinRegion]:
    return [r for r in sc.regions if r.wrist is not None][: sc.plan.get("wristband", 0)]


def _add_wristbands(sc: _Scene) -> None:
    """Bands (and the sleeves or gloves over them) first: later findings and tattoos avoid them."""
    wrists = _band_wrists(sc)
    for reg in wrists:
        wx, wy, _, _, rr = reg.wrist  # type: ignore[misc]
        sc.layout.reserve((wx - 2.5 * rr, wy - 2.5 * rr, wx + 2.5 * rr, wy + 2.5 * rr))
    for reg in wrists:
        sc.track(
            add_wristband(
                sc.canvas, sc.faker, font_list(sc.opts.font_paths), reg, sc.layout, sc.regions
            )
        )


def _keep_visible(sc: _Scene, paint, min_share: float = 0.4):
    """Run ``paint()``; undo it when it left a PHI object under ``min_share`` of its pixels.

    An occluder may hide part of a PHI object but never (almost) all of it: a label for an
    invisible object would teach the detector to hallucinate. Returns paint's result or None.
    """
    ids = [o.instance_id for o in sc.made]
    if not ids:
        return paint()
    before = sc.canvas.pixels(ids)
    sc.canvas.checkpoint()
    out = paint()
    now = sc.canvas.pixels(ids)
    if any(now[i] < min_share * n for i, n in before.items() if n):
        sc.canvas.rollback()
        return None
    sc.canvas.commit()
    return out


def _early_negatives(sc: _Scene, phi_free: bool) -> tuple[int, bool]:
    """Things that look like PHI and are not (see :mod:`negatives`); more in PHI-free scenes.

    A shot framed for a face that holds none shows a face-like arrangement instead; a headless
    mannequin or a head seen from behind is painted before any PHI (it stands behind), the
    rest after faces and bands (:func:`_late_negatives`): returns how many are left to paint
    and whether a face-like one is still owed.
    """
    rng = sc.rng
    count = int(rng.integers(2, 5)) if phi_free else int(rng.integers(0, 3))
    face_like = sc.kind in ("portrait", "bedside") and not sc.plan.get("face", 0)
    if face_like and rng.random() < 0.5:  # one that stands behind the patient
        if rng.random() < 0.5:
            kind, ok = "mannequin", mannequin(sc.canvas, sc.regions)
        else:
            kind, ok = "head_back", head_from_behind(sc.canvas, sc.layout, sc.regions)
        sc.negatives += [kind] if ok else []
        face_like, count = False, count - 1
    return count, face_like


def _late_negatives(sc: _Scene, count: int, face_like: bool) -> None:
    band = {id(r) for r in _band_wrists(sc)}
    free = [r for r in sc.regions if r.wrist is not None and id(r) not in band]
    got = _keep_visible(
        sc, lambda: add_hard_negatives(sc.canvas, sc.regions, sc.layout, count, face_like, free)
    )
    sc.negatives += got or []


def _add_findings(sc: _Scene) -> None:
    lo, hi = sc.opts.findings_per_image
    for _ in range(int(sc.rng.integers(lo, hi + 1))):
        if sc.regions:
            reg = sc.regions[int(sc.rng.integers(len(sc.regions)))]
            sc.findings += add_finding(sc.canvas, reg, sc.layout)


def _add_tattoos(sc: _Scene) -> None:
    rng, regions = sc.rng, sc.regions
    areas = np.array([r.area for r in regions], np.float64)
    fonts = font_list(sc.opts.font_paths)
    for _ in range(sc.plan.get("tattoo", 0)):
        if not regions or areas.sum() <= 0:
            break
        reg = regions[int(rng.choice(len(regions), p=areas / areas.sum()))]
        size = log_uniform(rng, 0.04, 0.45) * sc.unit
        if reg.kind in ("arm", "leg"):
            size = min(size, reg.scale * 25 * 2.2)
        sc.track(add_tattoo(sc.canvas, sc.faker, fonts, reg, sc.layout, size))


def _add_text(sc: _Scene) -> None:
    rng, n_text = sc.rng, sc.plan.get("text", 0)
    if n_text and sc.regions and rng.random() < 0.25:
        reg = sc.regions[int(rng.integers(len(sc.regions)))]
        got = skin_marking(sc.canvas, sc.faker, reg, sc.layout)
        sc.track(got)
        n_text -= len(got)
    if n_text > 0:
        fonts = font_list(sc.opts.font_paths)
        if sc.kind == "document":  # the page is the shot; it holds more lines than planned
            lines = add_document(sc.canvas, sc.faker, fonts, sc.layout)
            sc.track(lines)
            if lines:
                return
        sc.track(add_printed(sc.canvas, sc.faker, fonts, sc.layout, n_text))


def _add_clutter(sc: _Scene) -> None:
    """Gauze, gloves, rulers, tubes, drapes: gathered around PHI and findings, never hiding
    (almost) all of a PHI object."""
    near = [
        ((x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) / 2)
        for x0, y0, x1, y1 in sc.layout.boxes
    ]
    lo, hi = sc.opts.negatives_per_image
    for _ in range(int(sc.rng.integers(lo, hi + 1))):
        sc.clutter += _keep_visible(sc, lambda: foreground_clutter(sc.canvas, 1, near)) or []


def _finish(sc: _Scene) -> None:
    """Visible share of each PHI object and the scene parameters."""
    canvas = sc.canvas
    final = canvas.pixels([o.instance_id for o in sc.made])
    for obj in sc.made:
        n = sc.full.get(obj.instance_id, 0)
        obj.attrs["full_px"] = n
        obj.attrs["visible_share"] = round(min(final[obj.instance_id] / n, 1.0), 3) if n else 0.0
    negatives = sc.negatives + [c for c in sc.clutter if c in NEGATIVE_CLUTTER]
    negatives += ["skin"] if sc.regions else []
    negatives += ["finding"] if sc.findings else []
    canvas.params.update(
        {
            "scene": sc.kind,
            "skin_tone": sc.fitz,
            "clutter": sc.clutter,
            "hard_negatives": sorted(set(negatives)),
            "regions": [r.kind for r in sc.regions],
            "planned": {k: int(v) for k, v in sc.plan.items()},
        }
    )


def render_scene(
    canvas: Canvas, faker: faker_mod.Faker, opts: SceneOptions, phi_free: bool = False
) -> None:
    """Render a whole scene into ``canvas`` and record its parameters in ``canvas.params``.

    ``phi_free`` plans no PHI at all (a negative image) and paints more hard negatives.
    """
    rng = canvas.rng
    classes = [c for c in CLASS_NAMES if c in opts.classes]
    lo, hi = opts.phi_per_image
    n_phi = int(rng.integers(lo, hi + 1)) if classes else 0
    plan = plan_counts(rng, classes, 0 if phi_free else n_phi)
    fitz = int(rng.integers(1, 7))
    kind = scene_kind(rng, plan)
    sc = _Scene(canvas, faker, opts, plan, fitz, kind, Layout(canvas.width, canvas.height))
    canvas.params["background"] = paint_background(canvas)
    _add_room(sc)
    _add_regions(sc)
    count, face_like = _early_negatives(sc, phi_free)
    _add_faces(sc)
    _add_wristbands(sc)
    _late_negatives(sc, count, face_like)
    _add_findings(sc)
    _add_tattoos(sc)
    _add_text(sc)
    _add_clutter(sc)
    canvas.params["grain"] = surface_grain(canvas)
    canvas.params["lighting"] = lighting(canvas)
    faces = [o.instance_id for o in sc.made if o.kind == "phi" and o.label == "face"]
    canvas.params["exposure_gain"] = auto_exposure(canvas, faces)
    np.clip(canvas.image, 0.0, 1.0, out=canvas.image)  # shading and light may overshoot
    _finish(sc)
