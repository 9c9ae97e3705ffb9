"""Procedural scene renderers: classes, ownership, reproducibility, scene parameters."""

from __future__ import annotations

import json

import cv2
import faker
import numpy as np
import pytest

from figure_ml.classes import CLASS_NAMES
from figure_ml.data.render.canvas import Canvas
from figure_ml.data.render.document import MIN_CAP_PX, add_document, document_sheet
from figure_ml.data.render.findings import FINDINGS
from figure_ml.data.render.glyphs import font_list
from figure_ml.data.render.options import SceneOptions
from figure_ml.data.render.primitives import Layout
from figure_ml.data.render.scene import render_scene
from figure_ml.data.render.scene_plan import scene_kind
from figure_ml.data.render.text import carrier_centre

SIZES = ((320, 240), (240, 320), (384, 216))


def _render(seed: int, opts: SceneOptions, size: tuple[int, int] | None = None) -> Canvas:
    w, h = size or SIZES[seed % len(SIZES)]
    canvas = Canvas(w, h, np.random.default_rng(seed))
    fk = faker.Faker()
    fk.seed_instance(seed)
    render_scene(canvas, fk, opts)
    return canvas


@pytest.fixture(scope="module")
def scenes() -> list[Canvas]:
    """A handful of default scenes shared by the checks below (rendering is the slow part)."""
    return [_render(seed, SceneOptions(phi_per_image=(2, 6))) for seed in range(14)]


def test_every_class_appears_over_a_few_seeds(scenes: list[Canvas]) -> None:
    seen = {o.label for c in scenes for o in c.objects if o.kind == "phi"}
    assert seen == set(CLASS_NAMES)


@pytest.mark.parametrize(
    "only", [("face",), ("tattoo",), ("wristband",), ("text",), ("face", "text")]
)
def test_only_enabled_classes_appear(only: tuple[str, ...]) -> None:
    opts = SceneOptions(classes=only, phi_per_image=(1, 3))
    seen: set[str] = set()
    for seed in range(5):
        c = _render(seed, opts)
        seen |= {o.label for o in c.objects if o.kind == "phi"}
    assert seen == set(only)


def test_no_classes_gives_no_phi() -> None:
    c = _render(3, SceneOptions(classes=()))
    assert not [o for o in c.objects if o.kind == "phi"]
    assert c.params["planned"] == {}


def test_same_seed_gives_identical_scene() -> None:
    opts = SceneOptions()
    a, b = _render(11, opts), _render(11, opts)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.instances, b.instances)
    assert [(o.label, o.attrs) for o in a.objects] == [(o.label, o.attrs) for o in b.objects]
    assert a.params == b.params
    c = _render(12, opts, size=SIZES[11 % len(SIZES)])
    assert not np.array_equal(a.image, c.image)


def test_findings_are_never_phi(scenes: list[Canvas]) -> None:
    findings = [o for c in scenes for o in c.objects if o.kind == "finding"]
    assert findings, "no finding rendered over the seeds"
    for o in findings:
        assert o.label in FINDINGS
        assert o.label not in CLASS_NAMES
    for c in scenes:
        for o in c.objects:
            assert o.kind in ("phi", "finding")
            if o.kind == "phi":
                assert o.label in CLASS_NAMES


def test_registered_objects_own_pixels(scenes: list[Canvas]) -> None:
    total = empty = 0
    for c in scenes:
        counts = np.bincount(c.instances.ravel(), minlength=len(c.objects) + 1)
        assert counts.shape[0] == len(c.objects) + 1, "instance id without an object"
        for o in c.objects:
            total += 1
            empty += counts[o.instance_id] == 0
    assert total > 30
    # a small object now and then ends fully covered by a later one (labels come from pixels, so
    # it gets no box): 4-5 of ~300 objects over 60 seeds, so 14 scenes allow 3%, not a sliver
    assert empty <= 0.03 * total


def test_phi_keeps_most_of_its_pixels(scenes: list[Canvas]) -> None:
    shares = [o.attrs["visible_share"] for c in scenes for o in c.objects if o.kind == "phi"]
    assert shares and min(shares) >= 0.0 and max(shares) <= 1.0
    # occluders are rejected when they would hide more than 60% of an object
    assert np.median(shares) > 0.9


def test_scene_params_are_recorded_and_serialisable(scenes: list[Canvas]) -> None:
    for c in scenes:
        assert c.params["skin_tone"] in range(1, 7)
        assert isinstance(c.params["background"], str)
        assert isinstance(c.params["lighting"], str)
        json.dumps(c.params)
        for o in c.objects:
            json.dumps(o.attrs)
    assert len({c.params["skin_tone"] for c in scenes}) >= 4


def test_image_is_valid_and_not_flat(scenes: list[Canvas]) -> None:
    for c in scenes:
        assert c.image.dtype == np.float32
        assert np.isfinite(c.image).all()
        assert c.image.min() >= 0.0 and c.image.max() <= 1.0
        assert c.to_uint8().std() > 10


def test_text_objects_are_line_bands_not_carrier(scenes: list[Canvas]) -> None:
    """A printed line owns its line band (DESIGN §4, docs/design.md §3): a level line fills its
    box, which is about 1.3 capitals tall, not the label or page it is printed on."""
    level = []
    for c in scenes:
        for o in c.objects:
            if o.label != "text" or o.attrs.get("content") in ("barcode", "qr"):
                continue
            if abs(o.attrs.get("rotation_deg", 90.0)) > 2 or o.attrs.get("carrier") == "skin":
                continue
            ys, xs = np.nonzero(c.instances == o.instance_id)
            if len(xs) < 30:
                continue
            h = ys.max() - ys.min() + 1
            level.append((len(xs) / ((xs.max() - xs.min() + 1) * h), h / o.attrs["char_px"]))
    assert len(level) >= 5
    fill, tall = np.array(level).T
    assert np.median(fill) > 0.75  # a band, not ink (ink fills about a third of its box)
    assert 1.1 < np.median(tall) < 1.7  # capitals to the descender line, not a whole label


def test_a_line_is_as_tall_as_its_type_whatever_its_letters() -> None:
    """text_line: "DOE, JANE" (no descender) gets the band of "Jagger" (descender, ascender)
    in the same font and size; the ink lies inside the band; the band is capitals to the
    descender line, 1.1-1.5 nominal capital heights in the bundled fonts."""
    from figure_ml.data.render.glyphs import HERSHEY, font_list, hershey_line, text_line

    for font in font_list(()):
        bands = []
        for text in ("DOE, JANE", "Jagger", "mrn 0042"):
            ink, band = text_line(text, font, 20.0)
            assert ink.shape == band.shape
            assert ink[band == 0].max(initial=0.0) < 0.05  # no ink outside the band
            rows = np.flatnonzero(band.any(axis=1))
            bands.append(len(rows))
        assert max(bands) - min(bands) <= 1, (font, bands)
        assert 1.1 * 20 <= bands[0] <= 1.5 * 20, (font, bands)
    for face in HERSHEY:  # the band comes from the font's own glyphs, whatever OpenCV says
        bands = []
        for text in ("SMITH", "DOE, JANE", "Jagger"):
            ink, band = hershey_line(text, face, 30.0, 3.0)
            assert ink[band == 0].max(initial=0.0) < 0.05
            rows = np.flatnonzero(band.any(axis=1))
            bands.append((rows.min(), rows.max()))
            if text == "SMITH":  # capitals only: the band starts at their top
                assert rows.min() == np.flatnonzero((ink > 0.05).any(axis=1)).min()
        assert max(b[1] - b[0] for b in bands) - min(b[1] - b[0] for b in bands) <= 1, bands


def test_skin_writing_owns_its_band_on_bare_skin_only() -> None:
    """Marker writing over a lesion takes the lesion's pixels under its ink, as before, but not
    those in the gaps between its letters: the band is the line's box on bare skin, not paint."""
    from figure_ml.data.render.skin import SkinRegion
    from figure_ml.data.render.text import skin_marking

    written = 0
    for seed in range(8):
        c = Canvas(200, 120, np.random.default_rng(seed))
        c.image[:] = 0.8
        region = SkinRegion("forearm", 0, 0, np.ones((120, 200), np.float32), 3, c.image[0, 0], 4)
        lesion = c.new_object("finding", "lesion")
        c.paint(0, 0, np.ones((120, 200), np.float32), (0.9, 0.75, 0.75), lesion)  # everywhere
        before = c.image.copy()
        fk = faker.Faker()
        fk.seed_instance(seed)
        objs = skin_marking(c, fk, region, Layout(200, 120))
        if not objs:
            continue
        written += 1
        mine = c.instances == objs[0].instance_id
        inked = np.abs(c.image - before).max(axis=2) > 0.02
        assert mine.sum() > 20
        assert (mine & ~inked).sum() <= 0.05 * mine.sum()  # the ink's, none of the gaps
    assert written >= 4


def test_paint_composites_each_channel() -> None:
    c = Canvas(4, 3, np.random.default_rng(0))
    c.image[:] = 0.8
    obj = c.new_object("phi", "text")
    a = np.full((3, 4), 0.25, np.float32)
    a[0, 0] = 0.75
    c.paint(0, 0, a, (0.2, 0.4, 1.0), obj)
    np.testing.assert_allclose(c.image[1, 1], [0.65, 0.7, 0.85], rtol=1e-6)
    np.testing.assert_allclose(c.image[0, 0], [0.35, 0.5, 0.95], rtol=1e-6)
    assert (c.instances == obj.instance_id).sum() == 1  # only alpha >= claim (0.5) is owned
    c.paint(0, 0, np.full((3, 4), 0.5, np.float32), (0.5, 0.5, 0.5), mode="multiply", occlude=False)
    np.testing.assert_allclose(c.image[1, 1], [0.4875, 0.525, 0.6375], rtol=1e-6)
    assert (c.instances == obj.instance_id).sum() == 1  # shading leaves ownership alone


def test_overlapping_body_parts_are_filled_not_cut_out() -> None:
    from figure_ml.data.render.face import _union_alpha

    sq = np.array([[2, 2], [12, 2], [12, 12], [2, 12]], np.float64)
    a = _union_alpha(16, 20, [sq, sq + np.array([5.0, 0.0])], 0.0)
    assert a[7, 9] == 1.0  # inside both squares
    assert a[7, 4] == 1.0 and a[7, 15] == 1.0 and a[7, 19] == 0.0


def test_faces_are_placed_clear_of_limbs() -> None:
    from figure_ml.data.render.scene_plan import limb_share as _limb_share
    from figure_ml.data.render.skin import SkinRegion

    alpha = np.zeros((100, 100), np.float32)
    alpha[:, :50] = 1.0  # a limb over the left half of the frame
    limb = SkinRegion("arm", 0, 0, alpha, 3, np.ones(3, np.float32), 1.0)
    assert _limb_share([limb], 25, 50, 20) == 1.0
    assert _limb_share([limb], 80, 50, 20) == 0.0
    assert abs(_limb_share([limb], 50, 50, 20) - 0.5) < 0.05


def test_cloth_has_a_weave_and_walls_do_not() -> None:
    from figure_ml.data.render.cloth import fabric

    base = np.array((0.8, 0.8, 0.8), np.float32)
    threads = []
    for weave in (0.0, 1.0):
        img = fabric(np.random.default_rng(3), 120, 160, base, 0.05, weave)[..., 0]
        fine = img - cv2.GaussianBlur(img, (0, 0), 3)
        # weft threads run across the whole width: row means keep them, pixel noise averages out
        threads.append(float(fine.mean(axis=1).std()))
    assert threads[1] > 3 * threads[0]


def test_phi_lines_are_single_lines() -> None:
    """en_GB prints some street addresses on two lines; a label line must stay one line."""
    from figure_ml.data.render.glyphs import DEFAULT_FONTS, font_list, text_alpha
    from figure_ml.data.render.phi_content import phi_line

    fk = faker.Faker("en_GB")
    rng = np.random.default_rng(0)
    lines = []
    for seed in range(60):
        fk.seed_instance(seed)
        lines.append(phi_line(fk, rng, "address"))
    assert not [t for t in lines if "\n" in t]
    assert any(", " in t for t in lines)  # the joined two-line addresses
    mono = font_list(())[DEFAULT_FONTS.index("cmtt10")]
    assert text_alpha(max(lines, key=len), mono, 8.5).max() > 0.5


# ---------------------------------------------------------------- box conventions (DESIGN §4)
@pytest.mark.parametrize("style", ["short", "long", "curly", "bald", "bun", "buzz"])
@pytest.mark.parametrize("wear", ["none", "cap", "mask"])
def test_face_mask_runs_hairline_to_chin_and_ear_to_ear(style: str, wear: str) -> None:
    """A frontal head's face mask: chin at the oval's lower end (0.5 face heights below the face
    centre), ear to ear at the tragus — the ears sit 1.1 half widths (0.37 face heights) out and
    are face only up to half their own half width (0.065) inward of their centre, so the oval
    (0.37 out) is the wider and the box spans 0.74 face heights — top at the hairline (never
    above the oval's top, 0.5 above the centre)."""
    from figure_ml.data.render.head import FACE_Y, compose_head

    hh = 100
    hd = compose_head(np.random.default_rng(4), 3, hh, 0.0, style, {wear: True})
    face = hd.face >= 0.5
    ys, xs = np.nonzero(face)
    cx, cy = hd.size / 2, FACE_Y * hh
    # chin (a mask reaching below it is cut there)
    assert abs((ys.max() + 1) - (cy + 0.5 * hh)) <= 2
    # to the tragus: max(2 * 0.37, 2 * (1.1 * 0.37 - 0.5 * 0.065)) = 0.75 face heights
    assert abs((xs.max() + 1 - xs.min()) - 0.75 * hh) <= 3
    # the outer ear is painted but is not face
    ear = (hd.alpha >= 0.5) & ~face & (np.abs(np.arange(hd.size) - cx) > 0.42 * hh)[None, :]
    assert ear[int(cy - 0.1 * hh) : int(cy + 0.05 * hh)].any()
    assert abs((xs.min() + xs.max() + 1) / 2 - cx) <= 2
    # hair is never face; the cranium (up to 0.79 above the centre), a bun or a cap's crown
    # never reach into the box
    assert not (face & (hd.hair >= 0.5)).any()
    assert ys.min() >= cy - 0.5 * hh - 1
    column = hd.hair[:, int(cx)] >= 0.5
    if wear == "cap":  # the cap's lower edge hides the hairline: the box starts below it
        assert abs(ys.min() - (cy - 0.32 * hh)) <= 3
    elif column.any():  # the box starts where the scalp hair ends (stray curls aside)
        first = np.nonzero(column)[0].min()
        hairline = first + np.nonzero(~column[first:])[0].min()
        assert abs(ys.min() - hairline) <= 3
    else:  # bald: the forehead's top
        assert abs(ys.min() - (cy - 0.5 * hh)) <= 2


def test_a_surgical_mask_is_lit_and_pleated_like_cloth() -> None:
    """The mask takes the face's key light (its lit side brighter than its far side), folds into
    three pleats, each lit brighter toward its lower lip, and darkens under the chin; a flat tint
    with hairline pleats read as a sticker to CenterFace (43 against 38 of 59 masked faces
    found on 600 test images of seed 205 once shaded)."""
    from figure_ml.data.render.headwear import _mask_shading

    hh = 200
    u = np.linspace(-1, 1, 101, dtype=np.float32)[None, :]
    depth = np.arange(0, int(0.55 * hh), dtype=np.float32)[:, None]
    lit_right = _mask_shading(u, depth, hh, light=0.8)
    assert lit_right[10, 90] > lit_right[10, 10] + 0.1
    lit_left = _mask_shading(u, depth, hh, light=-0.8)
    assert lit_left[10, 10] > lit_left[10, 90] + 0.1
    # down the middle: three crease shadows between the hem and the chin, none below them
    column = _mask_shading(np.zeros((1, 1), np.float32), depth, hh, 0.0)[:, 0]
    # a fold is a sharp drop from one pixel row to the next (the hem and the chin fade): each
    # pleat starts in the shade of the fold above it and brightens down to its own lip, so
    # three pleats give four folds, all between the hem and 0.07 + 3 * 0.085 face heights
    creases = np.flatnonzero(np.diff(column) < -0.05)
    assert len(creases) == 4
    assert all(0.07 * hh <= depth[c + 1, 0] <= 0.07 * hh + 3 * 0.085 * hh + 1 for c in creases)
    hem = int(0.035 * hh)
    assert column[hem] < column[0] - 0.05  # the stitched hem under the nose wire
    assert column[-1] < column[int(0.3 * hh)]  # under the chin


def test_face_box_turns_with_a_lying_head() -> None:
    """Lying on its side (roll 90), the face box is as wide as a face is tall (hairline to chin)
    and as tall as it is wide (to the tragus); the gown, pillow and sheet are not face."""
    from figure_ml.data.render.face import add_face
    from figure_ml.data.render.primitives import Layout

    boxes = {}
    for roll in (0.0, 90.0):
        for seed in range(12):
            c = Canvas(400, 400, np.random.default_rng(seed))
            (obj,) = add_face(c, 2, 120, 200, 160, Layout(400, 400), roll=roll)
            if abs(obj.attrs["yaw_deg"]) < 8 and not obj.attrs["wearing"]:
                break
        if obj.attrs["occluded"] != "none":
            continue
        ys, xs = np.nonzero(c.instances == obj.instance_id)
        boxes[roll] = (xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
    assert set(boxes) == {0.0, 90.0}
    (w0, h0), (w90, h90) = boxes[0.0], boxes[90.0]
    assert 0.8 * 120 <= h0 <= 1.02 * 120 and abs(w0 - 0.75 * 120) <= 6
    assert abs(w90 - h0) <= 4 and abs(h90 - w0) <= 4


# ---------------------------------------------------------------- negatives
def test_every_room_element_is_an_image_of_its_region_without_owner() -> None:
    from figure_ml.data.render.interior import ROOM, ROOM_KINDS, room_surroundings

    assert set(ROOM) == set(ROOM_KINDS)
    rng = np.random.default_rng(0)
    for kind, paint in ROOM.items():
        for h, w in ((37, 90), (120, 41)):
            img = paint(rng, h, w, 240.0)
            assert img.shape == (h, w, 3) and img.dtype == np.float32, kind
            assert np.isfinite(img).all() and img.min() >= 0 and img.max() <= 1, kind
            assert img.std() > 0.005, kind  # a texture, not a flat fill
    c = Canvas(200, 150, np.random.default_rng(1))
    before = c.image.copy()
    kinds = room_surroundings(c, 3)
    assert kinds and set(kinds) <= set(ROOM_KINDS)
    assert not np.array_equal(before, c.image) and not c.instances.any() and not c.objects


def test_scenes_show_the_room_and_record_it_as_hard_negatives() -> None:
    seen: set[str] = set()
    for seed in range(10):
        c = Canvas(240, 180, np.random.default_rng(seed))
        fk = faker.Faker()
        fk.seed_instance(seed)
        render_scene(c, fk, SceneOptions(), phi_free=seed % 2 == 0)
        seen |= {k for k in c.params["hard_negatives"] if k.startswith("room_")}
    assert len(seen) >= 3, seen


def test_phi_free_scenes_hold_every_kind_of_hard_negative() -> None:
    from figure_ml.data.render.negatives import KINDS

    seen: set[str] = set()
    for seed in range(16):
        c = Canvas(320, 240, np.random.default_rng(seed))
        fk = faker.Faker()
        fk.seed_instance(seed)
        render_scene(c, fk, SceneOptions(), phi_free=True)
        assert not [o for o in c.objects if o.kind == "phi"]
        assert c.params["planned"] == dict.fromkeys(CLASS_NAMES, 0)
        assert set(c.params["hard_negatives"]) - {"skin", "finding"}, c.params
        seen |= set(c.params["hard_negatives"])
    assert set(KINDS) | {"ruler", "glove", "skin", "finding"} <= seen


def test_pixel_counts_follow_the_instance_map(scenes: list[Canvas]) -> None:
    for c in scenes:
        ids = list(range(len(c.objects) + 1))
        counts = np.bincount(c.instances.ravel(), minlength=len(ids))
        assert c.pixels(ids) == {i: int(counts[i]) for i in ids}


def test_rollback_restores_image_instances_and_counts() -> None:
    c = Canvas(40, 30, np.random.default_rng(0))
    c.image[:] = 0.5
    obj = c.new_object("phi", "tattoo")
    c.paint(5, 5, np.ones((10, 10), np.float32), (0.1, 0.2, 0.3), obj)
    image, inst = c.image.copy(), c.instances.copy()
    c.checkpoint()
    c.paint(0, 0, np.ones((12, 12), np.float32), (0.9, 0.9, 0.9), None)  # hides 7x7 of it
    # a shadow over the rest changes colour, not ownership
    c.paint(8, 8, np.full((20, 20), 0.5, np.float32), (0, 0, 0), mode="multiply", occlude=False)
    assert c.pixels([obj.instance_id]) == {obj.instance_id: 100 - 49}
    assert not np.array_equal(c.image, image)
    c.rollback()
    assert np.array_equal(c.image, image) and np.array_equal(c.instances, inst)
    assert c.pixels([0, obj.instance_id]) == {0: 40 * 30 - 100, obj.instance_id: 100}


def test_claim_gives_pixels_without_painting_and_rolls_back() -> None:
    c = Canvas(40, 30, np.random.default_rng(0))
    c.image[:] = 0.5
    line = c.new_object("phi", "text")
    image = c.image.copy()
    c.checkpoint()
    band = np.zeros((6, 20), bool)
    band[1:5, 2:18] = True
    c.claim(30, 2, band, line)  # the right part lies outside the canvas: clipped
    assert np.array_equal(c.image, image)  # nothing painted
    assert c.pixels([line.instance_id]) == {line.instance_id: 4 * 8}
    assert (c.instances[3:7, 32:40] == line.instance_id).all()
    c.rollback()
    assert c.pixels([line.instance_id]) == {line.instance_id: 0}
    assert not c.instances.any()


@pytest.mark.parametrize("rot", [0.0, 30.0, 90.0, 170.0])
def test_framed_carriers_stay_inside_the_frame(rot: float) -> None:
    """A carrier not chosen to run off the frame keeps its turned bounding box inside it."""
    rng = np.random.default_rng(0)
    w, h, sw, sh = 640, 480, 200.0, 60.0
    c, s = abs(np.cos(np.radians(rot))), abs(np.sin(np.radians(rot)))
    half_w, half_h = (c * sw + s * sh) / 2, (s * sw + c * sh) / 2
    for _ in range(200):
        cx, cy = carrier_centre(rng, w, h, sw, sh, rot, may_cut=False)
        assert half_w <= cx <= w - half_w and half_h <= cy <= h - half_h
    # wider than the frame: centred on that axis rather than thrown anywhere
    cx, _ = carrier_centre(rng, w, h, 900.0, 60.0, 0.0, may_cut=False)
    assert cx == w / 2


def test_few_printed_text_lines_are_cut_by_the_edge() -> None:
    """Carriers land whole in the frame unless one in five is chosen to run off it: over 30
    text-only scenes 16 of 170 printed lines touch the border (9%); centred anywhere, as before
    2026-12, 75 of 164 did (46%)."""
    cut = n = 0
    for seed in range(30):
        c = _render(seed, SceneOptions(classes=("text",), phi_per_image=(3, 6)))
        h, w = c.instances.shape
        for o in c.objects:
            ys, xs = np.nonzero(c.instances == o.instance_id)
            if o.kind != "phi" or o.attrs.get("carrier") == "skin" or not len(xs):
                continue
            n += 1
            cut += xs.min() == 0 or ys.min() == 0 or xs.max() == w - 1 or ys.max() == h - 1
    assert n > 100 and cut <= 0.2 * n


def test_head_from_behind_covers_the_face_and_paints_no_phi() -> None:
    """DESIGN §4: hair and the back of the head are not face. The negative's hair must cover
    what would have been face, and nothing it paints may be labelled."""
    from figure_ml.data.render.back_of_head import _BARE, _hair_over_face, head_from_behind
    from figure_ml.data.render.head import compose_head
    from figure_ml.data.render.primitives import Layout

    for style in ("short", "long", "curly", "bun"):
        hd = compose_head(np.random.default_rng(1), 3, 96, 0.0, style, dict(_BARE))
        before = float(hd.face.sum())
        _hair_over_face(np.random.default_rng(2), hd, 3, style, 96)
        assert float(hd.face.sum()) < 0.2 * before, style  # at most a sliver of jaw shows
    c = Canvas(320, 240, np.random.default_rng(5))
    c.image[:] = 0.5
    layout = Layout(320, 240)
    assert head_from_behind(c, layout, [])
    assert not c.objects and not c.instances.any()
    assert (np.abs(c.image - 0.5).max(axis=2) > 0.05).mean() > 0.02  # a head and body painted
    assert len(layout.boxes) == 1  # later PHI keeps clear of it


def test_surface_grain_textures_every_surface_but_keeps_light_and_labels() -> None:
    from figure_ml.data.render.surface import surface_grain

    for seed in range(20):
        c = Canvas(200, 150, np.random.default_rng(seed))
        c.image[:] = 0.5
        c.instances[40:80, 50:90] = 1
        params = surface_grain(c)
        if params is None:  # a scene left smooth: untouched
            assert (c.image == 0.5).all()
            continue
        assert (c.instances[40:80, 50:90] == 1).all() and c.instances.sum() == 40 * 40
        assert abs(float(c.image.mean()) - 0.5) < 0.01  # texture, not a change of exposure
        fine = c.image[..., 0] - cv2.GaussianBlur(c.image[..., 0], (0, 0), 3)
        assert float(fine.std()) > 0.001 and float(c.image.std()) > 0.004, params
        assert np.allclose(c.image[..., 0], c.image[..., 1])  # luminance, no colour noise


def test_document_page_labels_every_legible_line_and_no_paper() -> None:
    """A photographed page (render/document.py): every line is its own text object, legible in
    the frame, with the patient block present; the blank paper is not labelled."""
    fk = faker.Faker()
    for seed in range(4):
        c = Canvas(640, 480, np.random.default_rng(seed))
        c.image[:] = 0.3
        fk.seed_instance(seed)
        layout = Layout(640, 480)
        objs = add_document(c, fk, font_list(()), layout)
        assert len(objs) >= 8, seed  # letterhead, patient details and body text
        assert {o.label for o in objs} == {"text"} and len(layout.boxes) == 1
        assert {o.attrs["carrier"] for o in objs} == {"document"}
        assert min(o.attrs["char_px"] for o in objs) >= MIN_CAP_PX
        assert any(o.attrs["content"] == "name" for o in objs)  # the patient block
        # the paper itself belongs to nobody: labelled pixels are line bands, a small share
        labelled = c.instances > 0
        assert 0.01 < labelled.mean() < 0.35


def test_document_sheet_boxes_each_line_alone() -> None:
    """On the flat page, before any turn: each item is one line and no two lines share a row
    (DESIGN §4: one box per line)."""
    fk = faker.Faker()
    fk.seed_instance(3)
    sheet = document_sheet(fk, np.random.default_rng(9), font_list(()), 400, 560, 8.0)
    rects = [
        cv2.boundingRect((sheet.idx == i).astype(np.uint8)) for i in range(1, 1 + len(sheet.items))
    ]
    assert len(rects) >= 15
    for i, (x, y, w, h) in enumerate(rects):
        assert h < 3 * 8.0  # one line of 8 px capitals with its descenders
        for x2, y2, w2, h2 in rects[i + 1 :]:
            assert min(x + w, x2 + w2) <= max(x, x2) or min(y + h, y2 + h2) <= max(y, y2)


def test_document_lines_keep_whole_bands() -> None:
    """No line's band is overwritten by another's (a two-column form's left item once ran
    under the right one): each item's pixels on the flat page are a whole rectangle."""
    fk = faker.Faker()
    broken = 0
    for seed in range(60):  # a narrow page: long details reach the right column (7 broken)
        fk.seed_instance(seed)
        sheet = document_sheet(fk, np.random.default_rng(seed), font_list(()), 240, 560, 8.0)
        for i in range(1, 1 + len(sheet.items)):
            sel = (sheet.idx == i).astype(np.uint8)
            _, _, w, h = cv2.boundingRect(sel)
            broken += int(sel.sum()) != w * h
    assert broken == 0


def test_a_document_shot_holds_text_only() -> None:
    seen = 0
    for seed in range(400):
        plan = {"face": 1, "tattoo": 1, "wristband": 1, "text": 1}
        kind = scene_kind(np.random.default_rng(seed), plan)
        if kind == "document":
            seen += 1
            assert plan == {"face": 0, "tattoo": 0, "wristband": 0, "text": 4}
    assert 2 <= seen <= 40  # a few percent of shots
    plan = {"face": 0, "tattoo": 2, "wristband": 1}  # no text enabled: never a page
    assert all(scene_kind(np.random.default_rng(s), dict(plan)) != "document" for s in range(400))
