"""Measurements that cannot flatter a model (issue 11): exact bounds, miss at an over-redaction
budget, budgeted calibration with padding, the operating-point loader, the split-leak refusal,
paired parity. Hand-computed cases throughout."""

import json

import numpy as np
import pytest
from PIL import Image

from figure_ml.classes import CLASS_IDS, CLASS_NAMES
from figure_ml.config import EvalConfig, to_typed
from figure_ml.errors import ConfigError
from figure_ml.eval.bootstrap import Resamples
from figure_ml.eval.budget import GlobalSweep, miss_at_budget
from figure_ml.eval.calibration import allowed_misses, calibrate
from figure_ml.eval.exact import clopper_pearson, upper_bound
from figure_ml.eval.gates import evaluate_gates
from figure_ml.eval.metrics import compute_metrics
from figure_ml.eval.operating_point import OperatingPoint, load_operating_point
from figure_ml.eval.records import Detections, GroundTruth
from figure_ml.eval.run import evaluate

FACE, TEXT = CLASS_IDS["face"], CLASS_IDS["text"]
PAD0 = dict.fromkeys(CLASS_NAMES, 0.0)


def gt(boxes, classes, w=100, h=100):
    return GroundTruth("img", w, h, np.array(boxes, float).reshape(-1, 4), classes)


def det(boxes, scores, classes):
    return Detections(np.array(boxes, float).reshape(-1, 4), scores, classes)


# --- exact bounds ---------------------------------------------------------------------------


def test_clopper_pearson_hand_computed():
    low, high = clopper_pearson(0, 30)
    assert low == 0.0
    assert high == pytest.approx(1 - 0.025 ** (1 / 30), abs=1e-9)  # ≈ 0.1157
    assert high == pytest.approx(0.1157, abs=5e-4)
    low, high = clopper_pearson(3, 100)  # textbook values
    assert low == pytest.approx(0.00622, abs=5e-5) and high == pytest.approx(0.0852, abs=5e-4)
    assert clopper_pearson(1, 1) == (pytest.approx(0.025), 1.0)
    assert all(np.isnan(clopper_pearson(0, 0)))
    with pytest.raises(ValueError):
        clopper_pearson(3, 2)
    assert upper_bound([0.0, 0.0], [0.0, 0.116], None) == 0.116


def test_zero_misses_still_have_a_real_upper_bound():
    # 30 faces, all covered: the bootstrap says [0, 0]; the exact bound does not
    g = [gt([[10, 10, 20, 20]], [FACE]) for _ in range(30)]
    d = [det([[10, 10, 20, 20]], [0.9], [FACE]) for _ in range(30)]
    m = compute_metrics(g, d, dict.fromkeys(CLASS_NAMES, 0.5), PAD0, n_resamples=50, budget=None)
    face = m["per_class"]["face"]
    assert face["miss_rate"] == 0.0 and face["miss_rate_ci"] == [0.0, 0.0]
    assert face["miss_rate_upper"] == pytest.approx(0.1157, abs=5e-4)
    assert m["image_leak_rate_upper"] == pytest.approx(0.1157, abs=5e-4)


def test_one_image_cannot_pass_the_release_gate():
    g = [gt([[10, 10, 20, 20]], [FACE])]
    d = [det([[10, 10, 20, 20]], [0.9], [FACE])]
    m = compute_metrics(g, d, dict.fromkeys(CLASS_NAMES, 0.5), PAD0, n_resamples=50, budget=None)
    gate = {"max_miss_rate": {"face": 0.02}, "max_image_leak_rate": 0.10}
    results = evaluate_gates(m, gate)
    assert [r.passed for r in results] == [False, False, True]  # the last: none skipped
    assert results[0].point == 0.0 and results[0].value == pytest.approx(0.975)


# --- miss at an over-redaction budget -------------------------------------------------------


def test_painting_the_whole_image_is_exposed_at_the_budget():
    # a "model" that hides the whole photo: miss 0 at its operating point, miss 1 at the budget
    g = [gt([[10, 10, 30, 30], [60, 60, 70, 80]], [FACE, TEXT]) for _ in range(5)]
    d = [det([[0, 0, 100, 100]], [0.9], [FACE]) for _ in range(5)]
    m = compute_metrics(g, d, dict.fromkeys(CLASS_NAMES, 0.5), PAD0, n_resamples=50)
    assert m["per_class"]["face"]["miss_rate"] == 0.0 and m["over_redaction"] == 1.0
    assert m["budget"] == 0.05
    assert m["per_class"]["face"]["miss_at_budget"] == 1.0
    assert m["per_class"]["text"]["miss_at_budget"] == 1.0
    assert m["at_budget"]["redacts_nothing"] and m["at_budget"]["over_redaction"] == 0.0
    assert m["per_class"]["face"]["miss_at_budget_upper"] == 1.0
    assert len(m["budget_curve"]["threshold"]) == len(m["budget_curve"]["over_redaction"])


def test_budget_threshold_hand_computed():
    # 100x100 image, one face GT [0,0,10,10] (outside area 9900). Predictions:
    #   exact face box, score 0.3  -> covers the face, no over-redaction
    #   [50,50,60,80] score 0.2    -> 300 px outside GT  = 3.03%
    #   [20,20,60,60] score 0.1    -> 1600 px outside GT = 16.2% (+3.03% = 19.2%, overlap 100)
    g = [gt([[0, 0, 10, 10]], [FACE])]
    d = [det([[0, 0, 10, 10], [50, 50, 60, 80], [20, 20, 60, 60]], [0.3, 0.2, 0.1], [0, 3, 3])]
    sweep = GlobalSweep(g, d, np.zeros(4))
    assert sweep.over_redaction(0.1) == pytest.approx((1600 + 300 - 100) / 9900)
    assert sweep.over_redaction(0.2) == pytest.approx(300 / 9900)
    assert sweep.lowest_within(0.05) == pytest.approx(0.2)
    assert sweep.lowest_within(0.01) == pytest.approx(0.3)
    assert sweep.lowest_within(0.5) == pytest.approx(0.1)
    at = miss_at_budget(sweep, Resamples.draw(1, 20), 0.01)
    assert at["threshold"] == pytest.approx(0.3) and at["per_class"]["face"]["miss_rate"] == 0.0
    # a padding that spills the face box over its surroundings costs budget too
    padded = GlobalSweep(g, d, np.full(4, 0.5))
    assert padded.over_redaction(0.3) == pytest.approx((15 * 15 - 100) / 9900)


def _few_big_false_positives():
    """20 photos of 100x100 px, a face [0,0,10,10] in each (9,900 px outside it, 198,000 in
    all) found exactly at 0.9; a 10x10 px text false positive at 0.2 in every photo and a
    40x40 px one at 0.3 in 4 of them. Pooled over-redaction: (2,000 + 6,400) / 198,000 = 4.24%
    for t <= 0.2, 6,400 / 198,000 = 3.23% for t in (0.2, 0.3], 0 above."""
    g = [gt([[0, 0, 10, 10]], [FACE]) for _ in range(20)]
    d = [
        det(
            [[0, 0, 10, 10], [80, 10, 90, 20], *([[20, 40, 60, 80]] if i < 4 else [])],
            [0.9, 0.2, *([0.3] if i < 4 else [])],
            [FACE, TEXT, *([TEXT] if i < 4 else [])],
        )
        for i in range(20)
    ]
    return g, d


def test_the_budget_bound_holds_the_upper_95_bound_to_the_budget():
    # the point estimate takes t = 0.2 (4.24% <= 5%). The big false positives sit in 4 photos
    # of 20: a resample holds 7 or more of them with probability ~9% (binomial 20, 0.2), so
    # the upper end of the 95% interval is at least 7 x 1,600 / 198,000 = 5.66% > 5% at 0.2
    # and at 0.3 alike; only above 0.3 (the face's 0.9) is the bound within the budget
    g, d = _few_big_false_positives()
    sweep = GlobalSweep(g, d, np.zeros(4))
    rs = Resamples.draw(20, 1000, 0)
    assert sweep.over_redaction(0.2) == pytest.approx(8400 / 198000)
    assert sweep.lowest_within(0.05) == pytest.approx(0.2)
    assert sweep.over_redaction_upper(0.3, rs) >= 7 * 1600 / 198000 - 1e-9
    assert sweep.over_redaction_upper(0.9, rs) == 0.0
    assert sweep.lowest_within(0.05, rs) == pytest.approx(0.9)
    targets = {**dict.fromkeys(CLASS_NAMES, 0.03), "face": 0.0}
    point = calibrate(g, d, targets, [0.0], max_over_redaction=0.05)
    upper = calibrate(g, d, targets, [0.0], max_over_redaction=0.05, budget_resamples=rs)
    # text has no GT, so the budget binds it: the point ships it at 0.2 and hides the false
    # positives; the bound ships it at 0.9, and the face is still hidden at its own 0.9
    assert point["thresholds"]["text"] == pytest.approx(0.2)
    assert point["budget"]["bound"] == "point" and point["budget"]["met"] is True
    assert point["budget"]["over_redaction"] == pytest.approx(8400 / 198000)
    assert upper["thresholds"]["text"] == pytest.approx(0.9)
    assert upper["thresholds"]["face"] == pytest.approx(0.9) and upper["met"]["face"]
    b = upper["budget"]
    assert (b["bound"], b["resamples"], b["over_redaction"], b["met"]) == ("upper", 1000, 0.0, True)
    assert b["over_redaction_ci"] == [0.0, 0.0]


def test_a_point_whose_upper_bound_exceeds_the_budget_is_not_met():
    # every threshold leaves the false positives (all score 1.0): the point estimate 4.24% is
    # within 5%, its upper bound is not, so under the bound no class counts as met
    g, d = _few_big_false_positives()
    d = [det(x.boxes, np.where(x.classes == TEXT, 1.0, x.scores), x.classes) for x in d]
    targets = {**dict.fromkeys(CLASS_NAMES, 0.03), "face": 0.0}
    rs = Resamples.draw(20, 1000, 0)
    point = calibrate(g, d, targets, [0.0], max_over_redaction=0.05)
    upper = calibrate(g, d, targets, [0.0], max_over_redaction=0.05, budget_resamples=rs)
    assert point["budget"]["met"] is True and point["met"]["face"] is True
    b = upper["budget"]
    assert b["over_redaction"] == pytest.approx(8400 / 198000) and b["over_redaction_ci"][1] > 0.05
    assert b["met"] is False and upper["met"]["face"] is False
    assert upper["details"]["face"]["over_budget"] is True


def test_the_budget_bound_of_photos_that_are_all_phi_is_zero():
    # a face filling the photo leaves no area that could be over-redacted: the point estimate
    # is 0, and so is its bound (not NaN, which no budget would accept)
    g = [gt([[0, 0, 100, 100]], [FACE])]
    d = [det([[0, 0, 100, 100]], [0.9], [FACE])]
    targets = {**dict.fromkeys(CLASS_NAMES, 0.03), "face": 0.0}
    rs = Resamples.draw(1, 200, 0)
    cal = calibrate(g, d, targets, [0.0], max_over_redaction=0.05, budget_resamples=rs)
    assert cal["budget"]["over_redaction_ci"] == [0.0, 0.0]
    assert cal["budget"]["met"] is True and cal["met"]["face"] is True


def test_the_budget_bound_is_a_checked_setting():
    base = {"data": {"path": "x"}, "weights": "w.pt"}
    for bad, match in (({"budget_bound": "mean"}, "budget_bound"),
                       ({"target_bound": "mean"}, "target_bound"),
                       ({"budget_resamples": 20}, "budget_resamples")):  # fmt: skip
        with pytest.raises(ConfigError, match=match):
            to_typed({**base, "calibration": bad}, EvalConfig)
    cfg = to_typed(base, EvalConfig)
    assert cfg.calibration.budget_bound == "upper" and cfg.calibration.budget_resamples == 1000
    assert cfg.calibration.target_bound == "point"


def test_over_redaction_by_class_hand_computed():
    # 100x100 image, face GT [0,0,10,10] (outside area 9900); a face false positive
    # [80,0,100,10] (200 px), two text false positives [50,50,60,80] (300 px) and
    # [20,20,60,60] (1600 px) that overlap on [50,50,60,60] (100 px): text alone hides 1800 px
    g = [gt([[0, 0, 10, 10]], [FACE])]
    boxes = [[0, 0, 10, 10], [80, 0, 100, 10], [50, 50, 60, 80], [20, 20, 60, 60]]
    d = [det(boxes, [0.3, 0.4, 0.2, 0.1], [FACE, FACE, TEXT, TEXT])]
    m = compute_metrics(g, d, dict.fromkeys(CLASS_NAMES, 0.05), PAD0, n_resamples=20, budget=None)
    by = m["over_redaction_by_class"]
    assert by["face"]["value"] == pytest.approx(200 / 9900)
    assert by["text"]["value"] == pytest.approx(1800 / 9900)
    assert by["tattoo"]["value"] == 0.0 and by["wristband"]["value"] == 0.0
    assert m["over_redaction"] == pytest.approx(2000 / 9900)  # no overlap across classes here
    # a detector set: channel 4 + TEXT is a teacher's text; the model's text boxes are off
    # (threshold 1), the teacher's [20,20,60,60] at 0.1 counts as text
    from figure_ml.eval.over_redaction import over_redaction_by_class

    ch = [det([[80, 0, 100, 10], [20, 20, 60, 60]], [0.4, 0.1], [FACE, 4 + TEXT])]
    thr = np.array([0.05, 1, 1, 1, 1, 1, 1, 0.05])
    by = over_redaction_by_class(g, ch, thr, np.zeros(8), Resamples.draw(1, 20))
    assert by["face"]["value"] == pytest.approx(200 / 9900)
    assert by["text"]["value"] == pytest.approx(1600 / 9900)


def test_over_redaction_splits_margin_at_phi_from_stray_false_alarms():
    # 100x100 image, face GT [0,0,10,10] (outside area 9900). A face box [0,0,20,10] overruns
    # the face by 100 px (margin: it touches the GT box); a face box [80,0,100,10] (200 px) and a
    # text box [50,50,60,60] (100 px) touch no GT box (stray); a text box [5,5,15,25] touches the
    # face and hides 200 - 25 = 175 px outside it, of which [10,5,15,10] (25 px) the wide face
    # box already hides
    from figure_ml.eval.report import render_report

    g = [gt([[0, 0, 10, 10]], [FACE])]
    boxes = [[0, 0, 20, 10], [80, 0, 100, 10], [50, 50, 60, 60], [5, 5, 15, 25]]
    d = [det(boxes, [0.9, 0.9, 0.9, 0.9], [FACE, FACE, TEXT, TEXT])]
    m = compute_metrics(g, d, dict.fromkeys(CLASS_NAMES, 0.5), PAD0, n_resamples=20, budget=None)
    c = m["over_redaction_by_contact"]
    assert c["at_phi"]["value"] == pytest.approx((100 + 175 - 25) / 9900)
    assert c["stray"]["value"] == pytest.approx(300 / 9900)
    assert c["at_phi"]["by_class"]["face"]["value"] == pytest.approx(100 / 9900)
    assert c["at_phi"]["by_class"]["text"]["value"] == pytest.approx(175 / 9900)
    assert c["stray"]["by_class"]["face"]["value"] == pytest.approx(200 / 9900)
    assert c["stray"]["by_class"]["text"]["value"] == pytest.approx(100 / 9900)
    assert c["stray"]["by_class"]["tattoo"]["value"] == 0.0
    assert m["over_redaction"] == pytest.approx(550 / 9900)  # the two kinds do not overlap here
    assert "| face | 3.03% |" in render_report(m, title="t")


def test_over_redaction_counts_the_pixels_the_redactor_hides():
    # a PHI-free 100x100 photo with one false positive [10.5,10.5,20.5,20.5]: the redactor
    # fills every pixel it touches, 10..21 x 10..21 = 121 px, not the continuous 100 px; a
    # finding under it is occluded by those pixels too. A face [30,30,40,40] predicted as
    # [30.5,30.5,40,40] is covered 90.25% (continuous), not 100% (its snapped pixels): coverage
    # never counts more than the box itself, so it reads missed at kappa 0.95.
    from figure_ml.eval.redaction import redaction_stats

    free = GroundTruth("free", 100, 100, np.zeros((0, 4)), [], [[10.0, 10.0, 11.0, 11.0]])
    face = gt([[30, 30, 40, 40]], [FACE])
    d = [det([[10.5, 10.5, 20.5, 20.5]], [0.9], [TEXT]), det([[30.5, 30.5, 40, 40]], [0.9], [FACE])]
    stats = redaction_stats([free, face], d, np.full(len(CLASS_NAMES), 0.5), np.zeros(4))
    assert stats.mask_outside_gt[0] == pytest.approx(121.0)
    assert stats.findings_masked[0] == pytest.approx(1.0)  # the half-touched pixel is hidden
    assert stats.mask_outside_gt[1] == pytest.approx(0.0)  # 30..40 snapped: inside the GT
    assert not stats.gt_covered[0]


def test_half_hidden_thumbnails_show_beside_the_pooled_ratio():
    # a PHI-free 100x100 photo half hidden and a PHI-free 1000x1000 photo 1% hidden: pooled
    # (15,000 of 1,010,000 px) reads 1.49%, the per-image mean 25.5% and the worst 50%
    small = GroundTruth("small", 100, 100, np.zeros((0, 4)), [])
    large = GroundTruth("large", 1000, 1000, np.zeros((0, 4)), [])
    d = [det([[0, 0, 100, 50]], [0.9], [TEXT]), det([[0, 0, 100, 100]], [0.9], [TEXT])]
    m = compute_metrics([small, large], d, dict.fromkeys(CLASS_NAMES, 0.5), PAD0, budget=None)
    assert m["over_redaction"] == pytest.approx(15_000 / 1_010_000)
    spread = m["over_redaction_per_image"]
    assert spread["mean"] == pytest.approx(0.255) and spread["max"] == pytest.approx(0.5)
    assert spread["p90"] == pytest.approx(0.01 + 0.9 * 0.49)  # numpy's linear interpolation


def test_restraint_slices_over_redaction_of_phi_free_photos_by_hard_negative():
    # three 100x100 photos: PHI-free with a ruler (a 20x10 false positive: 2%), PHI-free with a
    # ruler and a glove (nothing predicted), and one with a face and a ruler (not PHI-free, so
    # not in the slice whatever it shows)
    from figure_ml.eval.report import render_report

    none = np.zeros((0, 4))
    ruler = GroundTruth("a", 100, 100, none, [], hard_negatives=("ruler",))
    both = GroundTruth("b", 100, 100, none, [], hard_negatives=("glove", "ruler"))
    face = GroundTruth("c", 100, 100, [[0, 0, 10, 10]], [FACE], hard_negatives=("ruler",))
    d = [
        det([[0, 0, 20, 10]], [0.9], [TEXT]),
        det(none, [], []),
        det([[0, 0, 10, 10], [50, 50, 100, 100]], [0.9, 0.9], [FACE, FACE]),
    ]
    m = compute_metrics([ruler, both, face], d, dict.fromkeys(CLASS_NAMES, 0.5), PAD0, budget=None)
    r = m["slices"]["restraint"]
    assert set(r) == {"glove", "ruler"}
    assert r["ruler"]["n_images"] == 2 and r["ruler"]["value"] == pytest.approx(200 / 20_000)
    assert r["glove"]["n_images"] == 1 and r["glove"]["value"] == 0.0
    # by class: the ruler's false positive is text, not face (the face photo is not PHI-free)
    by = r["ruler"]["by_class"]
    assert by["text"]["value"] == pytest.approx(200 / 20_000)
    assert by["face"]["value"] == 0.0 and by["tattoo"]["value"] == 0.0
    assert r["glove"]["by_class"]["text"]["value"] == 0.0
    report = render_report(m, title="t")
    assert "Restraint: photos without PHI, by hard negative" in report
    assert (
        "| ruler | 2 | 1.00% | [0.00%, 2.00%] | 0.00% | 0.00% | 0.00% | 1.00% |" in report
        and "| face | tattoo | wristband | text |" in report
    )


def test_photo_size_slices_split_over_redaction_by_the_photos_long_side():
    # a 1,024 px frame (band edge: <=1024px) hiding 1% of its non-PHI area and a 4,032 px
    # phone frame hiding 1,000x1,200 px of its own; pooled by pixels the phone frame dominates
    # (DESIGN §4), and the slices say what each size of photo got
    from figure_ml.eval.report import render_report
    from figure_ml.export.card import _photo_size_lines
    from figure_ml.export.contents import by_photo_size
    from figure_ml.sizes import TILED_ABOVE, photo_band_ids
    from figure_ml.tiling import TilingPolicy

    assert photo_band_ids([1024, 1025, 1600, 1601, 4032]).tolist() == [0, 1, 1, 2, 2]
    # the top band is what the redactor tiles by default
    assert TilingPolicy().min_long_side == TILED_ABOVE == 1600
    assert TilingPolicy().applies(1601, 900) and not TilingPolicy().applies(1600, 900)
    none = np.zeros((0, 4))
    small = GroundTruth("s", 1024, 800, none, [])
    phone = GroundTruth("p", 4032, 3024, [[0, 0, 100, 100]], [FACE])
    phone_out = 4032 * 3024 - 100 * 100
    d = [
        det([[0, 0, 1024, 8]], [0.9], [TEXT]),  # 8 of 800 rows: 1%
        det([[0, 0, 100, 100], [200, 200, 1200, 1400]], [0.9] * 2, [FACE] * 2),
    ]
    m = compute_metrics([small, phone], d, dict.fromkeys(CLASS_NAMES, 0.5), PAD0, budget=None)
    bands = m["slices"]["photo_size"]
    assert list(bands) == ["<=1024px", ">1600px"]
    assert bands["<=1024px"]["n_images"] == 1 and bands[">1600px"]["n_images"] == 1
    assert bands["<=1024px"]["over_redaction"] == pytest.approx(0.01)
    assert bands[">1600px"]["over_redaction"] == pytest.approx(1_200_000 / phone_out)  # 9.85%
    assert bands[">1600px"]["n_gt"] == 1 and bands[">1600px"]["miss_rate"] == 0.0
    pooled = (8 * 1024 + 1_200_000) / (1024 * 800 + phone_out)
    assert m["over_redaction"] == pytest.approx(pooled)
    report = render_report(m, title="t")
    assert "## Slices by photo size (long side)" in report
    assert "| >1600px | 1 | 1 | 0.00% | [0.00%, 0.00%] | 9.85% |" in report
    assert "| <=1024px | 1 | 0 |" in report
    summary = by_photo_size(m)
    assert summary[">1600px"]["over_redaction"] == pytest.approx(1_200_000 / phone_out)
    assert set(summary["<=1024px"]) == {
        "n_images",
        "over_redaction",
        "over_redaction_ci",
        "n_gt",
        "n_missed",
        "miss_rate",
        "miss_rate_ci",
        "miss_rate_ci_exact",
    }
    # the card gives each band's misses with their interval, and says whose figures they are
    card = _photo_size_lines(summary, "artifact fp32")
    assert "## Over-redaction by photo size (long side; artifact fp32)" in card
    assert "| >1600px | 1 | 9.85% | [9.85%, 9.85%] | 1 | 0 | 0.00% | [0.00%, 0.00%] |" in card
    # ... and says so when every evaluated photo was of one size, naming what is missing only
    # when it is (a split of phone originals alone lacks the small frames, not the phones)
    one = " ".join(_photo_size_lines({"<=1024px": summary["<=1024px"]}, "x"))
    assert "Measured on <=1024px photos only. Phone originals" in one
    phones = " ".join(_photo_size_lines({">1600px": summary[">1600px"]}, "x"))
    assert "Measured on >1600px photos only." in phones and "Phone originals" not in phones
    assert not any("only" in line for line in _photo_size_lines(summary, "x"))
    # the report says whether the top band was tiled as the redactor tiles it
    whole = render_report(m | {"model": {"tiling": None}}, title="t")
    assert "one whole-image pass, but the redactor tiles photos above 1,600 px" in whole
    tiled = render_report(
        m | {"model": {"tiling": {"mode": "auto", "min_long_side": 1600}}}, title="t"
    )
    assert "Photos above 1600 px ran through tiles as well." in tiled
    assert "whole-image pass" not in tiled and "through tiles" not in report
    assert _photo_size_lines({}, "x") == []


# --- budgeted calibration with padding ------------------------------------------------------


def test_calibration_chooses_padding_and_respects_the_budget():
    # faces predicted 1 px too tight on every side: at padding 0 each covers 64% (< 0.95);
    # padding 0.15 of an 8 px box adds 1.2 px per side and covers them
    faces = [[10, 10, 20, 20], [40, 40, 50, 50], [70, 10, 80, 20]]
    tight = [[x0 + 1, y0 + 1, x1 - 1, y1 - 1] for x0, y0, x1, y1 in faces]
    g = [gt(faces, [FACE] * 3)]
    # plus a big false positive at 0.4: below the budget only if the threshold is above 0.4
    d = [det([*tight, [50, 60, 100, 100]], [0.9, 0.8, 0.7, 0.4], [FACE] * 4)]
    targets = dict.fromkeys(CLASS_NAMES, 0.0)
    cal = calibrate(g, d, targets, [0.0, 0.15, 0.3], max_over_redaction=0.05)
    assert cal["padding"]["face"] == pytest.approx(0.15)  # 0.0 misses all; 0.3 spills more
    assert cal["thresholds"]["face"] == pytest.approx(0.7)  # all three covered, FP excluded
    assert cal["met"]["face"] and cal["budget"]["over_redaction"] <= 0.05
    # classes without any GT cannot show their target is met
    assert cal["met"]["text"] is False


def test_calibration_marks_an_unreachable_target_not_met():
    # two faces; only one is ever predicted: a 0% target cannot be met at any padding
    g = [gt([[10, 10, 20, 20], [60, 60, 70, 70]], [FACE, FACE])]
    d = [det([[10, 10, 20, 20]], [0.9], [FACE])]
    cal = calibrate(g, d, {**dict.fromkeys(CLASS_NAMES, 0.0)}, [0.05, 0.1])
    assert cal["met"]["face"] is False and not cal["details"]["face"]["target_met"]
    assert cal["details"]["face"]["class_aware_miss_rate"] == 0.5


def test_allowed_misses_hand_computed():
    # point: floor(target * n)
    assert allowed_misses(150, 0.03) == 4 and allowed_misses(100, 0.03) == 3
    # upper: the exact upper 95% bound of 0 of n is 1 - 0.025 ** (1 / n); within 1% only from
    # n = 368 (ln 0.025 / ln 0.99 = 367.04), so below that a 1% target cannot be shown
    assert allowed_misses(367, 0.01, "upper") == -1
    assert allowed_misses(368, 0.01, "upper") == 0
    # 0 of 150 is within 3% (2.43%), 1 of 150 is not (3.66%)
    assert allowed_misses(150, 0.03, "upper") == 0
    k = allowed_misses(400, 0.03, "upper")
    assert clopper_pearson(k, 400)[1] <= 0.03 < clopper_pearson(k + 1, 400)[1] and k == 5
    assert allowed_misses(3, 1.0, "upper") == 3  # a target of 100% allows every miss
    with pytest.raises(ValueError, match="target bound"):
        allowed_misses(10, 0.1, "mean")


def test_calibration_can_hold_the_upper_bound_of_the_miss_rate_to_the_target():
    # 40 photos with one face each, predicted exactly at scores 0.05, 0.0725, ..., 0.9275:
    # a face's cover threshold is its score. Target 10%: the point estimate allows
    # floor(4) = 4 misses, so the threshold is the 5th lowest score; the exact upper bound of
    # 0 of 40 is 8.8% and of 1 of 40 13.2%, so "upper" allows none: the lowest score
    scores = 0.05 + 0.0225 * np.arange(40)
    g = [gt([[10, 10, 30, 30]], [FACE]) for _ in scores]
    d = [det([[10, 10, 30, 30]], [s], [FACE]) for s in scores]
    targets = {**dict.fromkeys(CLASS_NAMES, 0.03), "face": 0.10}
    point = calibrate(g, d, targets, [0.0], max_over_redaction=1.0)
    upper = calibrate(g, d, targets, [0.0], max_over_redaction=1.0, target_bound="upper")
    assert point["thresholds"]["face"] == pytest.approx(scores[4])
    assert upper["thresholds"]["face"] == pytest.approx(scores[0])
    assert point["met"]["face"] and upper["met"]["face"]
    assert (point["budget"]["target_bound"], upper["budget"]["target_bound"]) == ("point", "upper")
    # 5%: the point estimate allows 2 misses; no count is within 5% on 40 boxes (8.8% > 5%), so
    # "upper" cannot meet it: the class ships at the budget's threshold and says so
    targets["face"] = 0.05
    assert calibrate(g, d, targets, [0.0], max_over_redaction=1.0)["met"]["face"]
    upper = calibrate(g, d, targets, [0.0], max_over_redaction=1.0, target_bound="upper")
    assert upper["met"]["face"] is False and upper["details"]["face"]["budget_bound"]
    assert upper["thresholds"]["face"] == pytest.approx(upper["budget"]["global_threshold"])


def test_budget_raises_thresholds_and_says_so():
    # the face is only covered by a huge low-score box: meeting the target needs t <= 0.2,
    # but that box hides most of the photo, so the budget lifts the threshold above it
    g = [gt([[10, 10, 20, 20]], [FACE])]
    d = [det([[0, 0, 90, 90]], [0.2], [FACE])]
    cal = calibrate(g, d, dict.fromkeys(CLASS_NAMES, 0.0), [0.0], max_over_redaction=0.10)
    assert cal["thresholds"]["face"] > 0.2 and cal["met"]["face"] is False
    assert cal["details"]["face"]["raised_by_budget"]


def test_a_budget_bound_class_gets_the_padding_that_misses_least_at_its_own_budget_threshold():
    # four faces (100x100 photo, 9,600 px outside GT), budget 1%; over-redaction counts the
    # pixels the redactor hides (every pixel a padded box touches):
    #   A, B: predicted 1 px too tight (8 px) at 0.9 and 0.3 -> covered from padding 0.15
    #   D: predicted 1.5 px too tight (7 px) at 0.9 -> covered only at padding 0.3
    #   C: never predicted, so the 0% target is out of reach: face is budget-bound
    #   a 20 px false positive at 0.2
    # padding 0.15: A, B hide 12x12 px (9.8..20.2 -> 9..21), 44 px outside GT each; D hides
    #   exactly its GT; t_B = 0.3 (88 px, 0.92%; 0.2 adds the FP's 676 px) -> A, B covered,
    #   miss 2/4
    # padding 0.3: A, B spill 96 px each, D 44 px: at 0.9 already 1.46% > 1%, so t_B lies
    #   above every score and nothing is hidden -> miss 4/4. At the t_B of 0.15 (0.3) this
    #   padding would look best (1/4 missed): the old rule's trap
    # padding 0.0: nothing covered, 4/4
    faces = [[10, 10, 20, 20], [60, 60, 70, 70], [80, 10, 90, 20], [10, 60, 20, 70]]
    g = [gt(faces, [FACE] * 4)]
    d = [
        det(
            [[11, 11, 19, 19], [61, 61, 69, 69], [11.5, 61.5, 18.5, 68.5], [30, 30, 50, 50]],
            [0.9, 0.3, 0.9, 0.2],
            [FACE] * 4,
        )
    ]
    cal = calibrate(
        g, d, dict.fromkeys(CLASS_NAMES, 0.0), [0.0, 0.15, 0.3], max_over_redaction=0.01
    )
    assert cal["padding"]["face"] == pytest.approx(0.15)
    assert cal["thresholds"]["face"] == pytest.approx(0.3)
    assert cal["details"]["face"]["class_aware_miss_rate"] == pytest.approx(0.5)
    assert cal["budget"]["over_redaction"] == pytest.approx(88 / 9600)
    assert cal["met"]["face"] is False
    assert cal["details"]["face"]["budget_bound"]
    # classes without GT are budget-bound too and share the padding (nothing else to choose by)
    assert cal["padding"]["text"] == pytest.approx(0.15)


# --- the operating-point loader -------------------------------------------------------------


def _op_file(tmp_path, **changes):
    op = OperatingPoint(
        dict.fromkeys(CLASS_NAMES, 0.3),
        dict.fromkeys(CLASS_NAMES, 0.1),
        0.95,
        met=dict.fromkeys(CLASS_NAMES, True),
        weights_sha256="a" * 64,
    ).to_json()
    op.update(changes)
    p = tmp_path / "thresholds.json"
    p.write_text(json.dumps(op))
    return p


def test_operating_point_loader_checks_what_it_is_given(tmp_path):
    op = load_operating_point(_op_file(tmp_path), kappa=0.95, weights_sha256="a" * 64)
    assert op.padding["face"] == 0.1 and op.not_met() == []
    with pytest.raises(ConfigError, match="kappa"):
        load_operating_point(_op_file(tmp_path), kappa=0.9)
    with pytest.raises(ConfigError, match="weights_sha256"):
        load_operating_point(_op_file(tmp_path), weights_sha256="b" * 64)
    with pytest.raises(ConfigError, match="thresholds must name the classes"):
        load_operating_point(_op_file(tmp_path, thresholds={"face": 0.3}))
    with pytest.raises(ConfigError, match=r"padding\.text"):
        load_operating_point(
            _op_file(tmp_path, padding={**dict.fromkeys(CLASS_NAMES, 0.1), "text": 3})
        )
    p = _op_file(tmp_path)
    p.write_text(p.read_text().replace('"face": 0.3', '"face": NaN', 1))
    with pytest.raises(ConfigError, match="NaN"):
        load_operating_point(p)


# --- the split-leak refusal -----------------------------------------------------------------


class _Everything:
    imgsz = 64
    description = "everything"

    def predict(self, image):
        h, w = image.shape[:2]
        return Detections(np.array([[0, 0, w, h]]), np.array([0.9]), np.array([0]))


def test_calibrating_on_the_scored_images_is_refused(tmp_path):
    # a flat YOLO folder resolves every split to images/: calibrating there would score the
    # calibration images themselves
    root = tmp_path / "flat"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    Image.new("RGB", (64, 48)).save(root / "images" / "a.png")
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    weights = tmp_path / "m.onnx"
    weights.write_bytes(b"x")
    cfg = to_typed(
        {
            "weights": str(weights),
            "data": {"path": str(root), "format": "yolo"},
            "calibrate": True,
            "out_dir": str(tmp_path / "e"),
            "tracking": {"backend": "none"},
        },
        EvalConfig,
    )
    with pytest.raises(ConfigError, match=r"calibration split .*images.* scored split"):
        evaluate(cfg, predictor=_Everything())
    assert not (tmp_path / "e").exists()


def test_eval_config_needs_exactly_one_subject():
    with pytest.raises(ConfigError, match="exactly one"):
        to_typed({}, EvalConfig).validate()
    with pytest.raises(ConfigError, match="exactly one"):
        to_typed({"weights": "a.pt", "manifest": "m.json"}, EvalConfig).validate()
    with pytest.raises(ConfigError, match="manifest= scores"):
        to_typed({"manifest": "m.json", "calibrate": True}, EvalConfig).validate()


def test_eval_refuses_settings_its_subject_would_ignore():
    """manifest= runs the manifest's predictor, thresholds and padding, and teacher= its
    teachers at their thresholds: changing one of those used to be accepted and ignored, so
    the figures looked as if it had applied. The eval config as Hydra composes it passes."""
    from hydra import compose, initialize_config_dir

    from figure_ml.cli import CONFIG_DIR

    for subject in ("manifest=m.json", "teacher=centerface", "weights=a.pt"):
        with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
            composed = compose("eval", overrides=[subject])
        to_typed(composed, EvalConfig, drop=("paths",)).validate()
    flip = {"manifest": "m.json", "predictor": {"flip": True}}
    with pytest.raises(ConfigError, match=r"^manifest= does not use predictor\.flip: it scores"):
        to_typed(flip, EvalConfig).validate()
    tiled = {
        "manifest": "m.json",
        "predictor": {"tiling": {"mode": "on"}},
        "padding": {"face": 0.2},
    }
    with pytest.raises(ConfigError, match=r"predictor\.tiling\.mode, padding\.face:"):
        to_typed(tiled, EvalConfig).validate()
    with pytest.raises(ConfigError, match=r"^teacher= does not use predictor\.strategy, thresh"):
        to_typed(
            {
                "teacher": "centerface",
                "predictor": {"strategy": "tiled"},
                "thresholds": {"text": 0.5},
            },
            EvalConfig,
        ).validate()
    with pytest.raises(ConfigError, match=r"^weights= does not use manifest_artifact: "):
        to_typed({"weights": "a.pt", "manifest_artifact": "int8"}, EvalConfig).validate()
    # a teacher baseline's padding is applied; a research run uses every setting
    to_typed({"teacher": "centerface", "padding": {"face": 0.2}}, EvalConfig).validate()
    to_typed(
        {"weights": "a.pt", "predictor": {"flip": True, "strategy": "tiled"}}, EvalConfig
    ).validate()


def test_calibration_targets_sit_below_the_release_maxima():
    import yaml

    from figure_ml.cli import CONFIG_DIR
    from figure_ml.config import CalibrationConfig

    release = yaml.safe_load((CONFIG_DIR / "gates" / "release.yaml").read_text())
    for name, target in CalibrationConfig().targets.items():
        assert target < release["max_miss_rate"][name], name


def test_a_size_mismatch_is_skipped_with_skip_bad():
    from figure_ml.errors import DatasetError
    from figure_ml.eval.data import EvalData, EvalItem
    from figure_ml.eval.run import predict_split

    def good():
        return np.zeros((8, 8, 3), np.uint8), gt([[1, 1, 4, 4]], [FACE], 8, 8)

    def mismatched():
        raise DatasetError("s1: decoded size 8x8 differs from recorded 9x9")

    data = EvalData([EvalItem("s0", good), EvalItem("s1", mismatched)], None, False, "two")
    with pytest.raises(DatasetError, match="skip_bad"):
        predict_split(_Everything(), data, skip_bad=False)
    gts, _dets, skipped = predict_split(_Everything(), data, skip_bad=True)
    assert len(gts) == 1 and len(skipped) == 1 and "9x9" in skipped[0]


def test_summary_table_shows_a_class_without_data_as_a_dash():
    from figure_ml.pipeline_summary import miss_table

    pc = {
        c: {
            "n_gt": 0,
            "miss_rate": None,
            "miss_rate_ci": [None, None],
            "miss_at_budget": None,
            "miss_at_budget_ci": [None, None],
        }
        for c in CLASS_NAMES
    }
    pc["face"] = {
        "n_gt": 19,
        "miss_rate": 0.5,
        "miss_rate_ci": [0.25, 0.75],
        "miss_at_budget": 0.9,
        "miss_at_budget_ci": [0.7, 1.0],
    }
    m = {
        "per_class": pc,
        "thresholds": dict.fromkeys(CLASS_NAMES, 0.2),
        "padding": dict.fromkeys(CLASS_NAMES, 0.1),
        "budget": 0.05,
        "at_budget": {"over_redaction": 0.04, "over_redaction_ci": [0.03, 0.05]},
        "over_redaction": 0.2,
        "over_redaction_ci": [0.1, 0.3],
    }
    table = miss_table(m, [])
    face = next(r for r in table.splitlines() if r.startswith("face"))
    tattoo = next(r for r in table.splitlines() if r.startswith("tattoo"))
    assert (
        "50.0%" in face and "[25.0, 75.0]" in face and "90.0%" in face and "[70.0, 100.0]" in face
    )
    assert tattoo.split()[1:3] == ["0", "-"]
