"""Compose one synthetic clinical photo: background, patient skin, PHI, findings, clutter, light.

The order of painting is the order of depth: what is painted later hides what was painted
earlier, and :meth:`Canvas.paint` keeps the instance map in step, so occlusion of PHI by gauze,
gloves, drapes or sleeves is real occlusion in the labels too. All randomness comes from
``canvas.rng`` and the caller-seeded ``faker``, so a seed gives a byte-identical scene.
"""

from __future__ import annotations

import cv2
import faker as faker_mod
import numpy as np

from figure_ml.classes import CLASS_NAMES
from figure_ml.data.render.body_parts import add_closeup, add_limb, add_torso
from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.cloth import paint_background
from figure_ml.data.render.clutter import foreground_clutter
from figure_ml.data.render.face import add_face
from figure_ml.data.render.findings import add_finding
from figure_ml.data.render.glyphs import font_list, log_uniform
from figure_ml.data.render.options import SceneOptions
from figure_ml.data.render.primitives import Layout, smooth_noise
from figure_ml.data.render.skin import SkinRegion
from figure_ml.data.render.tattoo import add_tattoo
from figure_ml.data.render.text import add_printed, skin_marking
from figure_ml.data.render.wristband import add_wristband

SCENES = ("limb", "closeup", "torso", "portrait", "bedside")
LIGHTING = ("even", "directional", "flash", "window")


def _plan(rng: np.random.Generator, classes: list[str], n: int) -> dict[str, int]:
    """How many objects of each enabled class: round-robin from a random start, so even."""
    counts = dict.fromkeys(classes, 0)
    if not classes:
        return counts
    order = [classes[i] for i in rng.permutation(len(classes))]
    for i in range(n):
        counts[order[i % len(order)]] += 1
    return counts


def _count(canvas: Canvas, obj_ids: list[int]) -> dict[int, int]:
    ids = np.bincount(canvas.instances.ravel(), minlength=len(canvas.objects) + 1)
    return {i: int(ids[i]) for i in obj_ids}


def _track(canvas: Canvas, full: dict[int, int], objs: list) -> list:
    """Record each new object's pixel count as painted, before anything later hides it."""
    full.update(_count(canvas, [o.instance_id for o in objs]))
    return objs


def _lighting(canvas: Canvas) -> str:
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
    canvas.image *= field[..., None]
    return kind


def _face_box(cx: float, cy: float, size: float, roll: float | None) -> tuple[float, ...]:
    """Box around a head and the start of its body (which runs 'down' the rolled head)."""
    r = np.radians(roll or 0.0)
    bx, by = cx + np.sin(r) * 2.5 * size, cy + np.cos(r) * 2.5 * size
    return (
        min(cx, bx) - 1.3 * size,
        min(cy, by) - 1.3 * size,
        max(cx, bx) + 1.3 * size,
        max(cy, by) + 1.3 * size,
    )


def _limb_share(limbs: list[SkinRegion], cx: float, cy: float, size: float) -> float:
    """Share of a head's square (about hairline to chin and ear to ear) that limbs cover.

    Limbs are painted before heads, so one there would seem to run behind or through the head.
    """
    r = 0.7 * size
    x0, y0, n = int(cx - r), int(cy - r), max(2, int(2 * r))
    cover = np.zeros((n, n), np.float32)
    for reg in limbs:
        np.maximum(cover, reg.alpha_at(x0, y0, n, n), out=cover)
    return float(cover.mean())


def _scene_kind(rng: np.random.Generator, plan: dict[str, int]) -> str:
    """Pick the shot, and move planned faces to other classes where a face cannot be.

    Close-ups of skin and trunk shots hold no face; portraits and bedside shots hold at least
    one when faces are enabled. Totals per class stay balanced on average.
    """
    others = [c for c in plan if c != "face"]
    kinds = ["limb", "closeup", "torso", "portrait", "bedside"]
    p = [0.3, 0.15, 0.15, 0.2, 0.2]
    if not others:  # faces only: a shot that can hold one
        kinds, p = kinds[:1] + kinds[3:], [0.3, 0.35, 0.35]
    kind = str(rng.choice(kinds, p=np.array(p) / sum(p)))
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


def render_scene(canvas: Canvas, faker: faker_mod.Faker, opts: SceneOptions) -> None:
    """Render a whole scene into ``canvas`` and record its parameters in ``canvas.params``."""
    rng = canvas.rng
    w, h = canvas.width, canvas.height
    unit = float(min(w, h))
    fonts = font_list(opts.font_paths)
    classes = [c for c in CLASS_NAMES if c in opts.classes]
    n_phi = int(rng.integers(opts.phi_per_image[0], opts.phi_per_image[1] + 1)) if classes else 0
    plan = _plan(rng, classes, n_phi)
    fitz = int(rng.integers(1, 7))
    kind = _scene_kind(rng, plan)
    layout = Layout(w, h)
    background = paint_background(canvas)

    regions: list[SkinRegion] = []
    if kind == "closeup":
        regions.append(add_closeup(canvas, fitz))
    elif kind == "torso":
        reg = add_torso(canvas, fitz)
        regions += [reg] if reg else []
    if kind in ("limb", "bedside") or (kind in ("torso", "portrait") and rng.random() < 0.4):
        for _ in range(int(rng.integers(1, 3)) if kind == "limb" else 1):
            limb = "leg" if kind == "limb" and rng.random() < 0.25 else "arm"
            reg = add_limb(canvas, fitz, limb, unit * rng.uniform(0.04, 0.13))
            regions += [reg] if reg else []
    # every planned wristband needs a wrist, every tattoo some skin
    need = plan.get("wristband", 0) - sum(r.wrist is not None for r in regions)
    for _ in range(max(0, need) * 3):
        if sum(r.wrist is not None for r in regions) >= plan.get("wristband", 0):
            break
        reg = add_limb(canvas, fitz, "arm", unit * rng.uniform(0.04, 0.13))
        regions += [reg] if reg else []
    if plan.get("tattoo", 0) and not regions:
        reg = add_limb(canvas, fitz, "arm", unit * rng.uniform(0.05, 0.13))
        regions += [reg] if reg else []

    made: list = []
    full: dict[int, int] = {}  # pixels of each PHI object right after it was painted
    findings: list = []
    specs = []
    for i in range(plan.get("face", 0)):
        roll, lying = None, False
        if i == 0 and kind == "portrait":
            size = unit * rng.uniform(0.25, 0.7)
            cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.35, 0.6)
        elif i == 0 and kind == "bedside":
            size = unit * rng.uniform(0.15, 0.45)
            cx, cy = w * rng.uniform(0.2, 0.8), h * rng.uniform(0.2, 0.8)
            roll = float(rng.choice([0.0, 90.0, -90.0, 180.0]) + rng.normal(0, 15))
            lying = True
        else:  # a bystander, a second patient, or the patient at the frame edge
            size = log_uniform(rng, 12, unit * 0.35)
            edge = rng.random() < 0.2
            cx = w * (rng.choice([0.0, 1.0]) if edge else rng.uniform(0.05, 0.95))
            cy = h * rng.uniform(0.05, 0.95)
        tone = fitz if i == 0 else int(rng.integers(1, 7))
        specs.append((size, tone, cx, cy, roll, lying))
    # place near (large) faces first so bystanders keep clear of their head and body, then
    # paint far (small) ones first: a body painted later hides whatever lies under it
    placed = []
    limbs = [r for r in regions if r.kind in ("arm", "leg")]
    for size, tone, cx, cy, roll, lying in sorted(specs, key=lambda sp: -sp[0]):
        best = None  # a free spot, preferably one no limb runs through (painted before the head)
        for _ in range(12):
            if layout.overlap(_face_box(cx, cy, size, roll)) < 0.05:
                crossing = _limb_share(limbs, cx, cy, size)
                if best is None or crossing < best[0]:
                    best = (crossing, cx, cy)
                if crossing < 0.02:
                    break
            cx, cy = w * rng.uniform(0.05, 0.95), h * rng.uniform(0.05, 0.95)
        if best is None:
            continue  # no room left for another head: a hidden face is no training signal
        _, cx, cy = best
        layout.reserve(_face_box(cx, cy, size, roll))
        placed.append((size, tone, cx, cy, roll, lying))
    for size, tone, cx, cy, roll, lying in placed[::-1]:
        made += _track(
            canvas,
            full,
            add_face(canvas, tone, size, cx, cy, layout, roll, lying=lying, regions=regions),
        )

    wrists = [r for r in regions if r.wrist is not None][: plan.get("wristband", 0)]
    for reg in wrists:  # keep tattoos and findings off the band painted later
        wx, wy, _, _, rr = reg.wrist  # type: ignore[misc]
        layout.reserve((wx - 2.5 * rr, wy - 2.5 * rr, wx + 2.5 * rr, wy + 2.5 * rr))

    # bands (and the sleeves or gloves over them) first: later findings and tattoos avoid them
    for reg in wrists:
        made += _track(
            canvas, full, add_wristband(canvas, faker, fonts, reg, layout, regions=regions)
        )

    for _ in range(int(rng.integers(opts.findings_per_image[0], opts.findings_per_image[1] + 1))):
        if regions:
            findings += add_finding(canvas, regions[int(rng.integers(len(regions)))], layout)

    areas = np.array([r.area for r in regions], np.float64)
    for _ in range(plan.get("tattoo", 0)):
        if not regions or areas.sum() <= 0:
            break
        reg = regions[int(rng.choice(len(regions), p=areas / areas.sum()))]
        size = log_uniform(rng, 0.04, 0.45) * unit
        if reg.kind in ("arm", "leg"):
            size = min(size, reg.scale * 25 * 2.2)
        made += _track(canvas, full, add_tattoo(canvas, faker, fonts, reg, layout, size))

    n_text = plan.get("text", 0)
    if n_text and regions and rng.random() < 0.25:
        got = skin_marking(canvas, faker, regions[int(rng.integers(len(regions)))], layout)
        made += _track(canvas, full, got)
        n_text -= len(got)
    if n_text > 0:
        made += _track(canvas, full, add_printed(canvas, faker, fonts, layout, n_text))

    painted = _count(canvas, [o.instance_id for o in made + findings])
    near = [
        ((x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) / 2) for x0, y0, x1, y1 in layout.boxes
    ]
    n_neg = int(rng.integers(opts.negatives_per_image[0], opts.negatives_per_image[1] + 1))
    clutter: list[str] = []
    for _ in range(n_neg):
        # an occluder may hide part of a PHI object but never (almost) all of it: a label for
        # an invisible object would teach the detector to hallucinate
        if not painted:
            clutter += foreground_clutter(canvas, 1, near)
            continue
        saved = (canvas.image.copy(), canvas.instances.copy())
        names = foreground_clutter(canvas, 1, near)
        now = _count(canvas, list(painted))
        if any(now[i] < 0.4 * n for i, n in painted.items() if n):
            canvas.image, canvas.instances = saved
        else:
            clutter += names
    lighting = _lighting(canvas)
    np.clip(canvas.image, 0.0, 1.0, out=canvas.image)  # shading and light may overshoot

    final = _count(canvas, [o.instance_id for o in made])
    for obj in made:
        n = full.get(obj.instance_id, 0)
        obj.attrs["full_px"] = n
        obj.attrs["visible_share"] = round(min(final[obj.instance_id] / n, 1.0), 3) if n else 0.0
    canvas.params.update(
        {
            "scene": kind,
            "skin_tone": fitz,
            "background": background,
            "lighting": lighting,
            "clutter": clutter,
            "regions": [r.kind for r in regions],
            "planned": {k: int(v) for k, v in plan.items()},
        }
    )
