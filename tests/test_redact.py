"""End to end tests of the reference redactor on a fixture ONNX model with known boxes.

The fixture graph ignores its input (it consumes it through a ``ReduceMean * 0`` so that
onnxruntime accepts it) and outputs three fixed candidates in the ``yolo_raw`` layout, so every
redacted pixel is known in advance:

- a face scored 0.75 (threshold 0.5, padding 0.125),
- a wristband scored exactly 0.5 (threshold 0.5: ``>=`` keeps it; padding 0),
- a text box scored 0.25 (threshold 0.5: not hidden).

On a 128x96 photo the 64 px model input is letterboxed with scale 0.5 and 8 px of padding
above, so the hidden rectangles are face ``[12, 12, 52, 52]`` and wristband
``[80, 64, 112, 80]`` in photo pixels.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from figure_ml import manifest as mf
from figure_ml.classes import CLASS_NAMES
from figure_ml.manifest import ManifestError
from figure_ml.redact import Redactor
from figure_ml.redact.__main__ import main

S = 64  # model input size
# (cx, cy, w, h) in model input px, class, score
CANDIDATES = [
    ((16, 24, 16, 16), 0, 0.75),  # face
    ((48, 44, 16, 8), 2, 0.5),  # wristband
    ((48, 20, 16, 8), 3, 0.25),  # text, under its threshold
]
THRESHOLDS = {"face": 0.5, "tattoo": 0.5, "wristband": 0.5, "text": 0.5}
PADDING = {"face": 0.125, "tattoo": 0.0, "wristband": 0.0, "text": 0.0}
FACE_RECT = (12, 12, 52, 52)
WRIST_RECT = (80, 64, 112, 80)
TEXT_RECT = (80, 16, 112, 32)  # detected under threshold: must stay visible
W, H = 128, 96


def make_onnx(path: Path, candidates=CANDIDATES, size: int = S, nc: int = len(CLASS_NAMES)) -> Path:
    """A graph with input ``images`` (1, 3, size, size) and a constant (1, 8, N) output."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    raw = np.zeros((1, 4 + nc, len(candidates)), np.float32)
    for j, (box, c, s) in enumerate(candidates):
        raw[0, :4, j] = box
        raw[0, 4 + c, j] = s
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["raw", "z"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fixture",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(raw.shape))],
        initializer=[
            numpy_helper.from_array(raw, "raw"),
            numpy_helper.from_array(np.zeros(1, np.float32), "zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def make_manifest(
    folder: Path,
    candidates=CANDIDATES,
    nc: int = len(CLASS_NAMES),
    output: dict | None = None,
    **tiling,
) -> Path:
    """A fixture model and a valid manifest naming it, in ``folder`` (``output``: fields
    that replace the default output block's)."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = make_onnx(folder / "model.onnx", candidates, nc=nc)
    data = {
        "name": "fixture",
        "created_at": "2026-01-01T00:00:00Z",
        "classes": [{"id": i, "name": n} for i, n in enumerate(CLASS_NAMES)],
        "input": {
            "size": S,
            "letterbox": True,
            "pad_value": 114,
            "normalisation": "divide_by_255",
            "channel_order": "RGB",
            "layout": "NCHW",
            "dtype": "float32",
            "exif_orientation": True,
        },
        "output": {
            "layout": "yolo_raw",
            "nms_in_graph": False,
            "nms_iou": 0.7,
            "max_det": 300,
            **(output or {}),
        },
        "thresholds": THRESHOLDS,
        "padding": PADDING,
        "kappa": 0.95,
        "tiling": {
            "mode": "auto",
            "tile": S,
            "overlap": 0.2,
            "min_long_side": 1600,
            "merge_iou": 0.5,
            **tiling,
        },
        "artifacts": [mf.artifact_entry(onnx_path, name="fp32", fmt="onnx", precision="fp32")],
        "training": {},
        "datasets": {},
        "git_commit": "fixture",
        "packages": {},
    }
    return mf.write(folder, data)


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    return make_manifest(tmp_path / "model")


def noise_image(seed: int = 0, w: int = W, h: int = H) -> np.ndarray:
    # values kept away from 0 so that a filled (black) pixel is never confused with the photo
    return np.random.default_rng(seed).integers(40, 230, (h, w, 3), dtype=np.uint8)


def inside(rect, w: int = W, h: int = H) -> np.ndarray:
    m = np.zeros((h, w), bool)
    x0, y0, x1, y1 = rect
    m[y0:y1, x0:x1] = True
    return m


def exif_with_gps_and_thumbnail(thumbnail: bytes, orientation: int = 6) -> bytes:
    """Raw EXIF APP1 payload: IFD0 (orientation, GPS pointer), GPS IFD, IFD1 thumbnail."""

    def ifd(entries, next_off):
        out = struct.pack("<H", len(entries))
        for tag, typ, count, value in entries:
            out += struct.pack("<HHI", tag, typ, count) + value
        return out + struct.pack("<I", next_off)

    gps_off, ifd1_off = 38, 92
    ifd0 = ifd(
        [
            (0x0112, 3, 1, struct.pack("<HH", orientation, 0)),
            (0x8825, 4, 1, struct.pack("<I", gps_off)),
        ],
        ifd1_off,
    )
    gps = ifd([(1, 2, 2, b"N\0\0\0"), (2, 5, 3, struct.pack("<I", 68))], 0)
    lat = struct.pack("<6I", 48, 1, 51, 1, 2956, 100)
    thumb_off = ifd1_off + 30
    ifd1 = ifd(
        [
            (0x0201, 4, 1, struct.pack("<I", thumb_off)),
            (0x0202, 4, 1, struct.pack("<I", len(thumbnail))),
        ],
        0,
    )
    tiff = b"II*\0" + struct.pack("<I", 8) + ifd0 + gps + lat + ifd1 + thumbnail
    assert len(b"II*\0") + 4 + len(ifd0) == gps_off and thumb_off == 122
    return b"Exif\0\0" + tiff


def phone_jpeg(oriented: np.ndarray) -> bytes:
    """A JPEG as a phone writes a portrait shot: pixels stored rotated, orientation 6, GPS,
    and an EXIF thumbnail of the (unredacted) photo."""
    stored = np.rot90(oriented, k=1)  # orientation 6 = rotate the stored pixels 90° clockwise
    tb = io.BytesIO()
    Image.fromarray(oriented).resize((32, 24)).save(tb, "JPEG", quality=90)
    buf = io.BytesIO()
    exif = exif_with_gps_and_thumbnail(tb.getvalue())
    Image.fromarray(np.ascontiguousarray(stored)).save(
        buf, "JPEG", quality=98, subsampling=0, exif=exif, comment=b"patient 1234"
    )
    return buf.getvalue()


def test_redact_hides_exactly_the_thresholded_padded_boxes(manifest_path: Path):
    image = noise_image()
    red = Redactor.from_manifest(manifest_path)
    out, det = red.redact(image)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert [CLASS_NAMES[c] for c in det.classes] == ["face", "wristband"]
    np.testing.assert_allclose(det.boxes, [[16, 16, 48, 48], [80, 64, 112, 80]])
    hidden = inside(FACE_RECT) | inside(WRIST_RECT)
    assert (out[hidden] == 0).all()  # solid fill, irreversible
    np.testing.assert_array_equal(out[~hidden], image[~hidden])  # every other pixel untouched
    assert not (out[inside(TEXT_RECT)] == 0).any()  # under threshold: left visible
    assert (image[hidden] != 0).all()  # the check above could fail


def test_mirrored_pass_hides_the_mirror_image_of_each_box_too(tmp_path: Path):
    """``output.flip_tta``: the fixture's boxes do not depend on the pixels, so the mirrored
    pass finds them at the same input positions, which are the mirror image of the first
    pass's in the photo: face ``[16, 16, 48, 48]`` and wristband ``[80, 64, 112, 80]`` come back
    at ``[128 - 48, 16, 128 - 16, 48]`` and ``[128 - 112, 64, 128 - 80, 80]``."""
    from figure_ml.eval.shipped import manifest_predictor

    path = make_manifest(tmp_path / "m", output={"flip_tta": True})
    image = noise_image()
    out, det = Redactor.from_manifest(path).redact(image)
    order = lambda r: r[np.lexsort(r.T[::-1])]  # noqa: E731
    want = np.array([[16, 16, 48, 48], [80, 16, 112, 48], [80, 64, 112, 80], [16, 64, 48, 80]])
    np.testing.assert_allclose(order(det.boxes), order(want.astype(float)))
    assert sorted(CLASS_NAMES[c] for c in det.classes) == ["face", "face", "wristband", "wristband"]
    hidden = inside(FACE_RECT) | inside((76, 12, 116, 52)) | inside(WRIST_RECT)
    hidden |= inside((16, 64, 48, 80))
    assert (out[hidden] == 0).all()
    np.testing.assert_array_equal(out[~hidden], image[~hidden])
    # the evaluator loads the same manifest into the same two passes
    pred, _, info = manifest_predictor(path)
    got = pred.predict(image)
    keep = got.scores >= 0.5
    np.testing.assert_allclose(order(got.boxes[keep]), order(want.astype(float)))
    assert info["flip_tta"] is True
    # without the field (a manifest from before it): one pass, as before
    _, det1 = Redactor.from_manifest(make_manifest(tmp_path / "one")).redact(image)
    assert len(det1.boxes) == 2


def test_redactor_mask_is_the_evaluators(manifest_path: Path):
    """Same detections and same rectangles as the evaluator's OnnxPredictor (+ tiling)."""
    from figure_ml.eval.predictors import OnnxPredictor
    from figure_ml.eval.tiling import TiledPredictor

    image = noise_image(1, 200, 150)
    red = Redactor.from_manifest(manifest_path, tiles="on")
    result = red.redact_full(image)
    assert result.strategy["name"] == "tiled" and result.strategy["tiles"] == 12
    pred = TiledPredictor(OnnxPredictor(manifest_path.parent / "model.onnx"), red.policy)
    det = pred.predict(image)
    # DESIGN §4 written out by hand (not redaction_mask): keep score >= its class threshold,
    # grow each side by padding x the box's width/height, clip to the 200x150 image
    rects = []
    for (x0, y0, x1, y1), score, c in zip(det.boxes, det.scores, det.classes, strict=True):
        if score < red.thresholds[c]:
            continue
        dx, dy = red.padding[c] * (x1 - x0), red.padding[c] * (y1 - y0)
        rects.append([max(x0 - dx, 0), max(y0 - dy, 0), min(x1 + dx, 200), min(y1 + dy, 150)])
    rects = np.array(rects).reshape(-1, 4)
    order = lambda r: r[np.lexsort(r.T[::-1])]  # noqa: E731
    np.testing.assert_allclose(order(result.rects), order(rects))
    assert len(rects) > 2  # the tiles found boxes of their own


def test_mirrored_tiled_redaction_is_the_evaluators(tmp_path: Path):
    """With the mirrored pass and tiles on a portrait photo (letterbox padding left and right,
    tiles of several widths): the redactor's boxes are the evaluator's, box for box."""
    from figure_ml.eval.predictors import OnnxPredictor
    from figure_ml.eval.tiling import TiledPredictor

    path = make_manifest(tmp_path / "m", output={"flip_tta": True})
    image = noise_image(2, 150, 203)
    red = Redactor.from_manifest(path, tiles="on")
    det, strategy = red.detect(image)
    assert strategy["name"] == "tiled" and strategy["mirror"] is True  # the sidecar says so
    pred = TiledPredictor(OnnxPredictor(path.parent / "model.onnx", iou=0.7, flip=True), red.policy)
    want = pred.predict(image)
    keep = want.scores >= red.thresholds[want.classes]
    order = lambda r: r[np.lexsort(r.T[::-1])]  # noqa: E731
    np.testing.assert_allclose(order(det.boxes), order(want.boxes[keep]))
    one = TiledPredictor(OnnxPredictor(path.parent / "model.onnx", iou=0.7), red.policy)
    assert len(det.boxes) > (one.predict(image).scores >= 0.5).sum()  # the mirror added boxes


def test_cli_strips_metadata_and_applies_orientation(manifest_path: Path, tmp_path: Path):
    oriented = np.full((H, W, 3), 150, np.uint8)
    oriented[:, :, 1] = np.linspace(60, 220, W, dtype=np.uint8)[None]
    src = tmp_path / "in" / "IMG_0001.JPG"
    src.parent.mkdir()
    data = phone_jpeg(oriented)
    src.write_bytes(data)
    with Image.open(src) as im:  # the input really has what must be removed
        exif = im.getexif()
        assert exif[0x0112] == 6 and exif.get_ifd(0x8825)
        assert im.size == (H, W) and im.info.get("comment") == b"patient 1234"
    thumb = data[data.index(b"Exif") + 6 + 122 :]  # the embedded thumbnail JPEG starts here
    assert thumb.startswith(b"\xff\xd8")

    out = tmp_path / "out"
    assert main(["--manifest", str(manifest_path), "--out", str(out), str(src.parent)]) == 0
    out_img = out / "IMG_0001.JPG"
    sidecar = json.loads((out / "IMG_0001.redaction.json").read_text())
    raw = out_img.read_bytes()
    assert b"Exif" not in raw and b"patient 1234" not in raw and b"http://ns.adobe" not in raw
    assert raw.count(b"\xff\xd8") == 1  # one JPEG: no embedded thumbnail
    with Image.open(out_img) as im:
        assert im.size == (W, H)  # orientation baked into the pixels
        assert not len(im.getexif()) and "comment" not in im.info and "icc_profile" not in im.info
        assert [m for m, _ in im.applist] == ["APP0"]
        px = np.asarray(im.convert("RGB")).astype(int)
    hidden = inside(FACE_RECT) | inside(WRIST_RECT)
    assert px[hidden].mean() < 2  # filled black; JPEG only rings along the edges
    near = np.zeros((H, W), bool)  # the fill's edges and a 3 px band around them
    for x0, y0, x1, y1 in (FACE_RECT, WRIST_RECT):
        assert px[y0 + 3 : y1 - 3, x0 + 3 : x1 - 3].max() <= 8  # photo values are >= 60
        near[max(0, y0 - 3) : y1 + 3, max(0, x0 - 3) : x1 + 3] = True
    # everywhere else the photo is the oriented original (to JPEG precision)
    assert np.abs(px[~near] - oriented.astype(int)[~near]).mean() < 2.0
    assert sidecar["strategy"]["name"] == "whole"
    assert sidecar["model"]["sha256"] == mf.sha256_file(manifest_path.parent / "model.onnx")
    assert [d["class"] for d in sidecar["detections"]] == ["face", "wristband"]
    assert sidecar["detections"][0]["box"] == [16, 16, 48, 48]
    assert sidecar["detections"][0]["redacted_box"] == list(FACE_RECT)
    assert (sidecar["width"], sidecar["height"]) == (W, H)


def test_truncated_file_fails_others_written(manifest_path: Path, tmp_path: Path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        Image.fromarray(noise_image(i)).save(src / f"good{i}.jpg", quality=90)
    whole = (src / "good0.jpg").read_bytes()
    (src / "broken.jpg").write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "out"
    code = main(["--manifest", str(manifest_path), "--out", str(out), str(src), "--no-progress"])
    assert code == 1
    for i in range(2):
        assert (out / f"good{i}.jpg").is_file() and (out / f"good{i}.redaction.json").is_file()
    assert not (out / "broken.jpg").exists() and not (out / "broken.redaction.json").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left
    summary = capsys.readouterr().out
    assert "redacted 2 file(s)" in summary and "1 failed" in summary and "broken.jpg" in summary


def test_manifest_hash_mismatch_is_refused(manifest_path: Path, tmp_path: Path, capsys):
    model = manifest_path.parent / "model.onnx"
    blob = bytearray(model.read_bytes())
    blob[-1] ^= 0xFF  # same size, other bytes
    model.write_bytes(bytes(blob))
    with pytest.raises(ManifestError, match="sha256"):
        Redactor.from_manifest(manifest_path)
    src = tmp_path / "a.png"
    Image.fromarray(noise_image()).save(src)
    out = tmp_path / "out"
    assert main(["--manifest", str(manifest_path), "--out", str(out), str(src)]) == 2
    assert "does not match" in capsys.readouterr().err and not out.exists()


def test_never_overwrites_an_input(manifest_path: Path, tmp_path: Path):
    src = tmp_path / "a.png"
    Image.fromarray(noise_image()).save(src)
    before = src.read_bytes()
    args = ["--manifest", str(manifest_path), "--out", str(tmp_path), str(src)]
    assert main([*args, "--no-progress"]) == 1
    assert src.read_bytes() == before and not (tmp_path / "a.redaction.json").exists()
    assert main([*args, "--overwrite", "--no-progress"]) == 1  # not even when told
    assert src.read_bytes() == before and not (tmp_path / "a.redaction.json").exists()


def test_redactor_imports_no_torch(manifest_path: Path, tmp_path: Path):
    """A fresh interpreter runs the whole CLI without importing torch or ultralytics."""
    src = tmp_path / "a.png"
    Image.fromarray(noise_image()).save(src)
    code = f"""
import sys, runpy
sys.argv = ["redact", "--manifest", {str(manifest_path)!r}, "--out", {str(tmp_path / "o")!r},
            {str(src)!r}, "--no-progress", "-q"]
try:
    runpy.run_module("figure_ml.redact", run_name="__main__")
except SystemExit as e:
    assert e.code == 0, e.code
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "ultralytics", "torchvision"))
assert not bad, bad
print("clean")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "clean" in r.stdout and (tmp_path / "o" / "a.png").is_file()
