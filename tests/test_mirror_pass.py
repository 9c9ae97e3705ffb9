"""The mirrored pass (``output.flip_tta``) and the class-aware NMS that merges passes,
checked against boxes worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from figure_ml.onnx_detect import class_aware_nms, merge_passes, mirror_boxes, with_mirror


def test_mirror_boxes_swaps_and_reflects_the_x_edges():
    got = mirror_boxes(np.array([[10.0, 20, 30, 40], [0, 0, 100, 5]]), 100)
    np.testing.assert_allclose(got, [[70, 20, 90, 40], [0, 0, 100, 5]])


def test_class_aware_nms_suppresses_within_a_class_only():
    boxes = np.array([[0.0, 0, 10, 10], [0, 0, 10, 9], [0, 0, 10, 9], [-11, -11, -1, -1]])
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    classes = np.array([0, 0, 1, 1])
    # box 1 overlaps box 0 at IoU 0.9: dropped at 0.85, kept at 0.95; box 2 is another class.
    # Box 3 (class 1, negative coordinates as a decoded box beyond the letterbox can have)
    # would land on box 0 if class 1 were shifted by only the largest coordinate + 1 (11):
    # it must survive
    assert class_aware_nms(boxes, scores, classes, 0.85).tolist() == [0, 2, 3]
    assert class_aware_nms(boxes, scores, classes, 0.95).tolist() == [0, 1, 2, 3]
    assert class_aware_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int), 0.5).tolist() == []


def test_class_aware_nms_order_and_a_non_finite_box():
    """Kept boxes come in descending score, ties by index, as one greedy pass over all boxes
    orders them; a NaN box of one class leaves the other classes' suppression as it was."""
    boxes = np.array([[0.0, 0, 10, 10], [50, 50, 60, 60], [0, 0, 10, 10], [np.nan, 0, 1, 1]])
    scores = np.array([0.5, 0.5, 0.9, 0.7])
    classes = np.array([1, 0, 1, 2])
    assert class_aware_nms(boxes, scores, classes, 0.5).tolist() == [2, 3, 1]


def test_merge_passes_keeps_the_best_of_near_duplicates_and_caps_the_count():
    a = (np.array([[0.0, 0, 10, 10]]), np.array([0.6]), np.array([3]))
    b = (np.array([[0.0, 0, 10, 10], [20, 0, 30, 10]]), np.array([0.7, 0.5]), np.array([3, 3]))
    boxes, scores, classes = merge_passes([a, b], iou=0.9, max_det=300)
    np.testing.assert_allclose(boxes, [[0, 0, 10, 10], [20, 0, 30, 10]])
    assert scores.tolist() == [0.7, 0.5] and classes.tolist() == [3, 3]
    boxes, scores, _ = merge_passes([a, b], iou=0.9, max_det=1)
    assert scores.tolist() == [0.7]


def test_with_mirror_finds_what_a_one_sided_detector_sees_only_in_the_mirror():
    """A detector that sees only the left half of its image: on a 40 px wide image with one
    bright square on each side, the first pass finds the left square and the mirrored pass the
    right one, reported at its place in the unmirrored image."""
    image = np.zeros((10, 40, 3), np.uint8)
    image[2:6, 3:7] = 255  # left square: x 3..7
    image[4:8, 30:36] = 255  # right square: x 30..36, seen as x 4..10 in the mirror

    def left_half_only(img):
        ys, xs = np.nonzero(img[:, : img.shape[1] // 2, 0])
        box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        return np.array([box], np.float64), np.array([0.8]), np.array([0])

    boxes, scores, classes = with_mirror(left_half_only, image, iou=0.9, max_det=300)
    order = np.lexsort(boxes.T[::-1])
    np.testing.assert_allclose(boxes[order], [[3, 2, 7, 6], [30, 4, 36, 8]])
    assert scores.tolist() == [0.8, 0.8] and classes.tolist() == [0, 0]


def _val_split():
    """Two 100x100 photos, one face each, at x 10..30 (left) and x 70..90 (right)."""
    from figure_ml.eval.data import EvalData, EvalItem
    from figure_ml.eval.records import GroundTruth

    def item(i, box):
        gt = GroundTruth(f"v{i}", 100, 100, np.array([box], float), np.array([0]))
        return EvalItem(f"v{i}", lambda: (np.zeros((100, 100, 3), np.uint8), gt))

    return EvalData(
        [item(0, [10, 40, 30, 60]), item(1, [70, 40, 90, 60])], None, True, "two photos"
    )


class _OneSided:
    """Finds the left face only; with ``flip`` the mirrored pass also finds the right one.
    ``noise``: a false box of the same score in every pass (over-redaction the mirror doubles)."""

    imgsz, description = 100, "one-sided"

    def __init__(self, flip, noise=False):
        self.flip, self.noise = flip, noise

    def predict(self, image):
        from figure_ml.eval.records import Detections

        boxes = [[10, 40, 30, 60]] + ([[70, 40, 90, 60]] if self.flip else [])
        if self.noise:  # 40% of a photo, at the same score: over any budget in one pass
            boxes += [[0, 0, 100, 40]] + ([[0, 60, 100, 100]] if self.flip else [])
        n = len(boxes)
        return Detections(np.array(boxes, float), np.full(n, 0.9), np.zeros(n, int))


def _left_faces(n, faces=True):
    """``n`` 100x100 photos, one face each at x 10..30 (none without ``faces``)."""
    from figure_ml.eval.data import EvalData, EvalItem
    from figure_ml.eval.records import GroundTruth

    box = [[10, 40, 30, 60]] if faces else np.zeros((0, 4))

    def item(i):
        gt = GroundTruth(f"f{i}", 100, 100, np.array(box, float), np.array([0] * len(box)))
        return EvalItem(f"f{i}", lambda: (np.zeros((100, 100, 3), np.uint8), gt))

    return EvalData([item(i) for i in range(n)], None, True, f"{n} photos")


class _NoisyMirror:
    """Finds the face at score 0.5 either way; the mirrored pass adds a false box over 40% of
    the photo at 0.9, so within a 5% budget its threshold passes neither box."""

    imgsz, description = 100, "noisy mirror"

    def __init__(self, flip):
        self.flip = flip

    def predict(self, image):
        from figure_ml.eval.records import Detections

        boxes = [[10, 40, 30, 60]] + ([[0, 60, 100, 100]] if self.flip else [])
        scores = [0.5] + ([0.9] if self.flip else [])
        return Detections(np.array(boxes, float), np.array(scores), np.zeros(len(boxes), int))


def test_auto_keeps_the_mirrored_pass_unless_it_misses_more_beyond_noise():
    from figure_ml.classes import CLASS_NAMES
    from figure_ml.eval.operating_point import OperatingPoint
    from figure_ml.export.mirror_choice import choose

    seen = []

    def calibrate(gts, dets):
        seen.append(sum(len(d.boxes) for d in dets))  # whose predictions it was given
        return OperatingPoint({c: 0.5 for c in CLASS_NAMES}, {c: 0.0 for c in CLASS_NAMES}, 0.95)

    # photo 0's face is on the left (found by one pass), photo 1's on the right (found only
    # by the mirrored pass): 1 missed against 0
    kw = {"budget": 0.05, "paddings": [0.1, 0.0], "kappa": 0.95, "split": "val"}
    got = choose(lambda f: _OneSided(f), _val_split(), calibrate, **kw)
    assert got.flip is True
    # 1 discordant box, the one pass's: Clopper-Pearson of 0 of 1 is [0, 0.975], so the
    # interval of (0 - 1) / 2 boxes is [1 * (2 * 0 - 1) / 2, 1 * (2 * 0.975 - 1) / 2]
    lo, hi = got.record.pop("difference_ci")
    assert (lo, hi) == (-0.5, pytest.approx(0.475))
    assert got.record == {
        "chosen": True,
        "split": "val",
        "budget": 0.05,
        "n_gt": 2,
        "missed_one_pass": 1,
        "padding_one_pass": 0.0,  # a tie between paddings: the smaller
        "missed_mirrored": 0,
        "padding_mirrored": 0.0,
        "missed_only_mirrored": 0,
        "missed_only_one_pass": 1,
    }
    assert seen == [4]  # fitted on the mirrored way's boxes: 2 a photo, not 1
    # with a false box each pass, no threshold keeps any box within the budget: both miss
    # both faces, and a tie keeps the mirror (dropping it needs evidence)
    got = choose(lambda f: _OneSided(f, noise=True), _val_split(), calibrate, **kw)
    assert got.flip is True and seen[-1] == 8  # the mirrored way's boxes: 4 a photo
    assert (got.record["missed_one_pass"], got.record["missed_mirrored"]) == (2, 2)
    assert got.record["difference_ci"] == [0.0, 0.0]  # no discordant box
    # the mirror misses every face one pass finds. With 5 such boxes that is still noise:
    # 5 of 5 has the Clopper-Pearson lower end 0.025 ** (1 / 5) = 0.478, below one half; with
    # 6 it is 0.025 ** (1 / 6) = 0.541, and the mirror is dropped
    got = choose(_NoisyMirror, _left_faces(5), calibrate, **kw)
    assert got.flip is True and got.record["missed_only_mirrored"] == 5
    assert got.record["difference_ci"][0] == pytest.approx(2 * 0.025 ** (1 / 5) - 1)
    got = choose(_NoisyMirror, _left_faces(6), calibrate, **kw)
    assert got.flip is False and seen[-1] == 6  # fitted on one pass's boxes
    assert (got.record["missed_one_pass"], got.record["missed_mirrored"]) == (0, 6)
    assert got.record["difference_ci"][0] == pytest.approx(2 * 0.025 ** (1 / 6) - 1)
    assert got.record["difference_ci"][0] > 0
    # a calibration split without PHI boxes gives no evidence: the mirror stays, and the
    # manifest records no interval (null, not NaN: strict JSON)
    got = choose(_NoisyMirror, _left_faces(3, faces=False), None, **kw)
    assert got.flip is True and got.record["n_gt"] == 0 and got.record["difference_ci"] is None


def test_the_card_and_latency_say_how_many_passes_run(tmp_path):
    """The model card names the mirrored pass and the val counts that chose it; latency is
    timed per photo over every model run."""
    from figure_ml import manifest as mf
    from figure_ml.export.card import render_model_card
    from figure_ml.export.latency import measure
    from test_redact import make_manifest

    data = mf.load(make_manifest(tmp_path / "m", output={"flip_tta": True})).data
    data["calibration"] = {
        "split": "val",
        "mirror_choice": {
            "chosen": True,
            "split": "val",
            "budget": 0.05,
            "n_gt": 810,
            "missed_one_pass": 18,
            "padding_one_pass": 0.1,
            "missed_mirrored": 10,
            "padding_mirrored": 0.05,
        },
    }
    card = render_model_card(data)
    assert (
        "The model also runs on the photo mirrored left to right; both passes' boxes are merged: "
        "on the val split the model missed 10 of 810 PHI boxes at the 5.00% budget with the "
        "mirrored pass and 18 without" in card
    )
    # a manifest of the rule before the paired evidence says which rule chose it
    assert "(`flip_tta=auto` kept it only when it missed fewer)." in card
    ch = data["calibration"]["mirror_choice"]
    ch |= {"missed_only_mirrored": 3, "missed_only_one_pass": 11, "difference_ci": [-0.0163, 0]}
    assert (
        "each at its best padding for every class; 3 were missed only with it and 11 only "
        "without (exact 95% interval of the difference -1.63 to +0.00 points). `flip_tta=auto` "
        "drops the mirrored pass only when it misses more beyond noise (the interval above 0)."
    ) in render_model_card(data)
    ch |= {"n_gt": 0, "missed_mirrored": 0, "missed_one_pass": 0, "difference_ci": None}
    assert "(no PHI boxes to judge it by, so `flip_tta=auto` kept it)." in render_model_card(data)
    one = render_model_card({**data, "output": {**data["output"], "flip_tta": False}})
    assert "The model runs once per photo (no mirrored pass)" in one
    lat = measure(tmp_path / "m" / "model.onnx", 64, runs=2, warmup=1, passes=2)
    assert lat["passes"] == 2 and lat["runs"] == 2
    # the card's latency line says how many model runs each photo's figure holds
    timed = {**data, "artifacts": [{**data["artifacts"][0], "latency": lat}]}
    assert (
        f"Latency: model run only, 2 runs per photo, batch 1, onnxruntime CPU on {lat['cpu']}."
        in (render_model_card(timed))
    )
    lat1 = {**lat, "passes": 1}
    once = render_model_card({**data, "artifacts": [{**data["artifacts"][0], "latency": lat1}]})
    assert f"Latency: model run only, batch 1, onnxruntime CPU on {lat['cpu']}." in once


def test_flip_tta_accepts_auto_true_false_only():
    from figure_ml.config import ExportConfig
    from figure_ml.errors import ConfigError

    for value, mode in (("auto", "auto"), (True, "true"), ("False", "false")):
        assert ExportConfig(weights="w.pt", out_dir="x", flip_tta=value).flip_mode == mode
    cfg = ExportConfig(weights="w.pt", out_dir="x", flip_tta="yes")
    cfg.data.path = "d"
    with pytest.raises(ConfigError, match="flip_tta must be auto, true or false, got 'yes'"):
        cfg.validate()


def test_a_shared_memo_runs_each_view_once_and_changes_no_box(tmp_path):
    """Export's mirror choice predicts val one way, then both ways; with a memo shared by the
    two detectors the second run computes only the mirrored view, and gives the boxes a fresh
    mirrored detector gives."""
    from figure_ml.onnx_detect import OnnxDetector
    from test_redact import make_onnx

    path = str(make_onnx(tmp_path / "m.onnx"))
    memo: dict = {}
    one, both = OnnxDetector(path, memo=memo), OnnxDetector(path, flip=True, memo=memo)
    fresh = OnnxDetector(path, flip=True)

    class Counting:
        def __init__(self, session):
            self.session, self.calls = session, 0

        def run(self, *args):
            self.calls += 1
            return self.session.run(*args)

    one.session, both.session = Counting(one.session), Counting(both.session)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (48, 80, 3), np.uint8) for _ in range(3)]
    first = [one.detect(im) for im in images]
    merged = [both.detect(im) for im in images]
    assert (one.session.calls, both.session.calls) == (3, 3)  # the mirrored views only
    for got, want in zip(merged, [fresh.detect(im) for im in images], strict=True):
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
    assert len(merged[0][0]) > len(first[0][0])  # the mirrored boxes are in
    # what the memo hands out is a copy: a caller shifting its boxes changes nothing kept
    first[0][0][:] += 1000
    np.testing.assert_array_equal(one.detect(images[0])[0], first[0][0] - 1000)
    assert one.session.calls == 3
