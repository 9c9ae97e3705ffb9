"""Hostile input to the redactor (issue 12): nothing may switch redaction off, lose a user's
file, hang, or run without bound. Each test is one case of the issue; the fixture model of
``test_redact`` hides ``FACE_RECT`` and ``WRIST_RECT`` of a 128x96 photo.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from figure_ml.errors import BadInputError, ConfigError
from figure_ml.manifest import ManifestError
from figure_ml.redact import Redactor
from figure_ml.redact.__main__ import main
from figure_ml.redact.batch import plan
from figure_ml.tiling import TilingPolicy
from test_redact import CANDIDATES, FACE_RECT, WRIST_RECT, inside, make_manifest, noise_image

HIDDEN = inside(FACE_RECT) | inside(WRIST_RECT)


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    return make_manifest(tmp_path / "model")


def _photo(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(noise_image(seed)).save(path)
    return path


def _edit_manifest(path: Path, edit) -> None:
    """Change the manifest's JSON as a text editor would (NaN written as the token ``NaN``)."""
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, indent=2))  # allow_nan: writes NaN / Infinity tokens


def _images_under(folder: Path) -> list[Path]:
    if not folder.exists():
        return []
    return [p for p in folder.rglob("*") if p.suffix in (".png", ".jpg") and p.is_file()]


def _run(manifest: Path, out: Path, *inputs: Path | str, extra=()) -> int:
    args = ["--manifest", str(manifest), "--out", str(out), *map(str, inputs)]
    return main([*args, *extra, "--no-progress", "-q"])


# --- 1. NaN / Infinity in the manifest ------------------------------------------------------


def _set(section: str, key: str, value: float):
    def edit(d):
        d[section][key] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (_set("padding", "face", float("nan")), "padding/face"),
        (_set("thresholds", "face", float("nan")), "thresholds/face"),
        (_set("thresholds", "wristband", float("inf")), "thresholds/wristband"),
        (_set("padding", "wristband", float("-inf")), "padding/wristband"),
        (_set("tiling", "overlap", float("nan")), "tiling/overlap"),
        (_set("output", "nms_iou", float("nan")), "output/nms_iou"),
        (lambda d: d.__setitem__("kappa", float("nan")), "kappa"),
    ],
)
def test_non_finite_manifest_is_refused_and_leaks_nothing(
    manifest_path, tmp_path, capsys, edit, field
):
    src = _photo(tmp_path / "in" / "a.png")
    _edit_manifest(manifest_path, edit)
    out = tmp_path / "out"
    code = _run(manifest_path, out, src)
    for written in _images_under(out):  # before: an unredacted photo was written, exit 0
        px = np.asarray(Image.open(written))
        assert (px[HIDDEN] == 0).all(), f"PHI left visible in {written.name}"
    assert code == 2
    assert field in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_overflowing_number_is_refused(manifest_path, tmp_path):
    """``1e999`` is valid JSON syntax that Python parses to infinity."""
    text = manifest_path.read_text().replace('"face": 0.125', '"face": 1e999', 1)
    assert "1e999" in text
    manifest_path.write_text(text)
    with pytest.raises(ManifestError, match="padding/face"):
        Redactor.from_manifest(manifest_path)


def test_redactor_refuses_non_finite_settings(manifest_path):
    red = Redactor.from_manifest(manifest_path)
    for key in ("thresholds", "padding"):
        bad = np.array([0.5, np.nan, 0.5, 0.5])
        with pytest.raises(ConfigError, match=key):
            Redactor(red.detector, **{"thresholds": red.thresholds, "padding": red.padding,
                                      key: bad}, policy=red.policy)  # fmt: skip
    with pytest.raises(ConfigError, match="padding"):
        Redactor(red.detector, thresholds=red.thresholds, padding=red.padding * 0 + 2,
                 policy=red.policy)  # fmt: skip


def test_model_output_nan_box_fails_the_file_closed(tmp_path):
    """A model emitting a NaN coordinate for a confident face must not leave it visible."""
    nan_face = [((float("nan"), 24, 16, 16), 0, 0.75), *CANDIDATES[1:]]
    path = make_manifest(tmp_path / "m", candidates=nan_face)
    src = _photo(tmp_path / "in" / "a.png")
    out = tmp_path / "out"
    code = _run(path, out, src)
    for written in _images_under(out):
        px = np.asarray(Image.open(written))
        assert (px[inside(FACE_RECT)] == 0).all(), "face left visible"
    assert code == 1 and not _images_under(out)


def test_sidecar_is_strict_json(manifest_path, tmp_path):
    src = _photo(tmp_path / "a.png")
    out = tmp_path / "out"
    assert _run(manifest_path, out, src) == 0
    text = (out / "a.redaction.json").read_text()

    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    json.loads(text, parse_constant=refuse)


# --- 2. never replace a file the run did not write ------------------------------------------


def test_heic_into_its_own_folder_keeps_the_users_jpeg(manifest_path, tmp_path):
    from pillow_heif import from_pillow

    folder = tmp_path / "photos"
    folder.mkdir()
    from_pillow(Image.fromarray(noise_image(1))).save(folder / "IMG_0001.HEIC", quality=90)
    original = _photo(folder / "IMG_0001.jpg", seed=2).read_bytes()
    assert _run(manifest_path, folder, folder / "IMG_0001.HEIC") == 1
    assert (folder / "IMG_0001.jpg").read_bytes() == original
    # --overwrite with the folder as input: the JPEG is an input, never an output
    assert _run(manifest_path, folder, folder, extra=["--overwrite"]) == 1
    assert (folder / "IMG_0001.jpg").read_bytes() == original


def test_tif_does_not_replace_an_existing_png(manifest_path, tmp_path):
    folder = tmp_path / "scans"
    _photo(folder / "scan.tif")
    png = _photo(folder / "scan.png", seed=3).read_bytes()
    assert _run(manifest_path, folder, folder / "scan.tif") == 1
    assert (folder / "scan.png").read_bytes() == png


def test_sidecar_never_takes_a_users_json(manifest_path, tmp_path):
    folder = tmp_path / "in"
    _photo(folder / "scan.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "scan.json").write_text('{"mine": true}')
    assert _run(manifest_path, out, folder) == 0
    assert (out / "scan.json").read_text() == '{"mine": true}'
    side = json.loads((out / "scan.redaction.json").read_text())
    assert side["output"] == "scan.png" and len(side["detections"]) == 2


def test_second_run_does_not_replace_the_first_unless_told(manifest_path, tmp_path):
    src = _photo(tmp_path / "in" / "a.png")
    out = tmp_path / "out"
    assert _run(manifest_path, out, src) == 0
    first = (out / "a.png").read_bytes(), (out / "a.redaction.json").read_bytes()
    _photo(src, seed=9)
    assert _run(manifest_path, out, src) == 1
    assert ((out / "a.png").read_bytes(), (out / "a.redaction.json").read_bytes()) == first
    assert _run(manifest_path, out, src, extra=["--overwrite"]) == 0
    assert (out / "a.png").read_bytes() != first[0]


@pytest.mark.parametrize("kind", ["hardlink", "symlink"])
def test_overwrite_never_replaces_an_input_by_another_name(manifest_path, tmp_path, kind):
    src = _photo(tmp_path / "in" / "a.png")
    before = src.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    (os.link if kind == "hardlink" else os.symlink)(src, out / "a.png")
    assert _run(manifest_path, out, src, extra=["--overwrite"]) == 1
    assert src.read_bytes() == before
    assert (out / "a.png").read_bytes() == before


# --- 3. options checked before anything is read ---------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("--tile", "0", "32"),
        ("--tile", "-5", "32"),
        ("--overlap", "1", "0.5"),
        ("--overlap", "-0.1", "0.5"),
        ("--overlap", "nan", "0.5"),
        ("--min-long-side", "-1", ">= 0"),
        ("--threads", "0", "[1, 1024]"),
        ("--max-megapixels", "0", "> 0"),
        ("--max-megapixels", "inf", "> 0"),
    ],
)
def test_bad_option_is_a_usage_error_before_any_file(tmp_path, capsys, option, value, allowed):
    # the manifest does not exist: a check made after reading it would complain about that
    argv = ["--manifest", str(tmp_path / "none.json"), "--out", str(tmp_path / "o"), "x.png"]
    with pytest.raises(SystemExit) as exc:
        main([*argv, option, value])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert option in err and allowed in err and "no such manifest" not in err


def test_out_that_is_a_file_is_a_usage_error(manifest_path, tmp_path, capsys):
    src = _photo(tmp_path / "a.png")
    (tmp_path / "out").write_text("a user's file")
    assert _run(manifest_path, tmp_path / "out", src) == 2
    assert "not a folder" in capsys.readouterr().err
    assert (tmp_path / "out").read_text() == "a user's file"


def test_tiling_policy_refuses_impossible_values(manifest_path):
    for bad in ({"tile": 0}, {"overlap": 1.0}, {"overlap": float("nan")}, {"mode": "x"},
                {"min_long_side": -1}, {"merge_iou": 2.0}, {"tile_long_side": -1},
                {"tile_long_side": 1.5}):  # fmt: skip
        with pytest.raises(ConfigError):
            TilingPolicy(**bad)
    with pytest.raises(ConfigError, match="tile"):
        Redactor.from_manifest(manifest_path, tile=0)
    # settings first: a missing manifest is not even looked for
    for bad in ({"overlap": 0.75}, {"max_megapixels": float("nan")}, {"threads": 0}):
        with pytest.raises(ConfigError):
            Redactor.from_manifest(manifest_path.parent / "missing.json", **bad)


# --- 4. only regular files ------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_fifo_is_refused_not_waited_on(manifest_path, tmp_path, capsys):
    folder = tmp_path / "in"
    _photo(folder / "a.png")
    os.mkfifo(folder / "pipe.jpg")
    out = tmp_path / "out"
    code = main(["--manifest", str(manifest_path), "--out", str(out), str(folder / "pipe.jpg"),
                 str(folder / "a.png"), "/dev/null", "--no-progress"])  # fmt: skip
    summary = capsys.readouterr().out
    assert code == 1 and (out / "a.png").is_file()
    assert "pipe.jpg" in summary and "not a regular file" in summary
    # inside a folder walk a FIFO is skipped like any other non-image entry
    assert _run(manifest_path, tmp_path / "out2", folder) == 0
    assert sorted(p.name for p in (tmp_path / "out2").iterdir()) == ["a.png", "a.redaction.json"]


def test_folder_walk_skips_symlinks_and_hidden_files_and_reads_jfif(tmp_path):
    src = tmp_path / "photos"
    (src / ".cache").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("a.jpg", "b.JFIF", ".hidden.jpg", ".cache/c.jpg"):
        Image.new("RGB", (4, 4)).save(src / name, "JPEG")
    Image.new("RGB", (4, 4)).save(elsewhere / "d.jpg", "JPEG")
    os.symlink(elsewhere / "d.jpg", src / "link.jpg")
    os.symlink(elsewhere, src / "linkdir")
    jobs, refused = plan([src], tmp_path / "out")
    assert sorted(j.src.name for j in jobs) == ["a.jpg", "b.JFIF"] and not refused
    assert [j.image_out.name for j in jobs if j.src.name == "b.JFIF"] == ["b.JFIF"]
    # a symlink named on the command line is the user's explicit choice: followed
    jobs, _ = plan([src / "link.jpg"], tmp_path / "out")
    assert [j.src.name for j in jobs] == ["link.jpg"]


# --- 5. model and manifest must agree at load -----------------------------------------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["output"].__setitem__("layout", "end2end"), "layout"),
        (lambda d: d["input"].__setitem__("size", 128), "128"),
        (lambda d: d["input"].__setitem__("dtype", "float16"), "float16"),
    ],
)
def test_manifest_disagreeing_with_the_graph_is_refused_at_load(
    manifest_path, tmp_path, capsys, edit, message
):
    _edit_manifest(manifest_path, edit)
    with pytest.raises(ManifestError, match=message):
        Redactor.from_manifest(manifest_path)
    src = _photo(tmp_path / "a.png")
    assert _run(manifest_path, tmp_path / "out", src) == 2
    assert message in capsys.readouterr().err


def test_dynamic_output_shape_is_checked_on_a_blank_run(tmp_path):
    """Declared dims ``(b, c, n)`` say nothing; the graph's real (1, 8, 3) is not end2end."""
    import onnx

    from figure_ml import manifest as mf

    path = make_manifest(tmp_path / "m")
    model = onnx.load(path.parent / "model.onnx")
    for dim, name in zip(model.graph.output[0].type.tensor_type.shape.dim, "bcn", strict=True):
        dim.dim_param = name
    onnx.save(model, path.parent / "model.onnx")
    data = json.loads(path.read_text())
    data["artifacts"] = [
        mf.artifact_entry(path.parent / "model.onnx", name="fp32", fmt="onnx", precision="fp32")
    ]
    mf.write(path.parent, data)
    assert len(Redactor.from_manifest(path).redact(noise_image())[1]) == 2  # yolo_raw: fine
    data["output"]["layout"] = "end2end"
    mf.write(path.parent, data)
    with pytest.raises(ManifestError, match=r"end2end needs \(1, K, 6\).*\[1, 8, 3\]"):
        Redactor.from_manifest(path)


# --- 6. library API: empty and wrong arrays -------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((0, 10, 3), np.uint8),
        np.zeros((10, 0, 3), np.uint8),
        np.zeros((10, 10, 3), np.float32),
        np.zeros((10, 10, 3), bool),
        np.zeros((10, 10, 4), np.uint8),
        np.zeros((10, 10, 3, 1), np.uint8),
    ],
    ids=["0x0", "0xW", "Hx0", "float32", "bool", "rgba", "4d"],
)
def test_library_refuses_empty_and_wrong_arrays(manifest_path, array):
    red = Redactor.from_manifest(manifest_path)
    with pytest.raises(BadInputError):
        red.redact(array)


def test_one_pixel_image_is_redacted(manifest_path):
    out, _ = Redactor.from_manifest(manifest_path).redact(np.full((1, 1, 3), 99, np.uint8))
    assert out.shape == (1, 1, 3)


# --- 7. pixel cap, from the header ----------------------------------------------------------


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width x height`` and whose data is a few bytes: a decoder
    that trusted it would allocate ``3 * width * height`` bytes before noticing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


@pytest.mark.parametrize("side", [12000, 20000])
def test_pixel_cap_refuses_from_the_header(manifest_path, tmp_path, capsys, side):
    src = _png_header_only(tmp_path / "huge.png", side, side)
    pillow_limit = Image.MAX_IMAGE_PIXELS
    code = main(["--manifest", str(manifest_path), "--out", str(tmp_path / "o"), str(src),
                 "--no-progress"])  # fmt: skip
    summary = capsys.readouterr().out
    assert code == 1 and f"{side}x{side}" in summary and "--max-megapixels 100" in summary
    assert pillow_limit == Image.MAX_IMAGE_PIXELS  # the CLI's change does not outlive it


def test_pixel_cap_is_an_option(manifest_path, tmp_path):
    src = _photo(tmp_path / "a.png")  # 128 x 96 = 0.0123 MP
    assert _run(manifest_path, tmp_path / "o1", src, extra=["--max-megapixels", "0.012"]) == 1
    assert _run(manifest_path, tmp_path / "o2", src, extra=["--max-megapixels", "0.0123"]) == 0
    red = Redactor.from_manifest(manifest_path, max_megapixels=0.01)
    with pytest.raises(BadInputError, match="128x96"):
        red.redact_encoded(src.read_bytes(), "a.png")


# --- 8. names that carry a patient's name ---------------------------------------------------


def test_names_hash_keeps_the_file_name_out(manifest_path, tmp_path):
    folder = tmp_path / "smith_john"
    src = _photo(folder / "IMG_smith_john.jpg")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    out = tmp_path / "out"
    assert _run(manifest_path, out, folder, extra=["--names", "hash"]) == 0
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert names == [f"{digest[:16]}.jpg", f"{digest[:16]}.redaction.json"]
    text = (out / f"{digest[:16]}.redaction.json").read_text()
    assert "smith" not in text.lower() and "IMG" not in text
    side = json.loads(text)
    assert "source" not in side and side["source_sha256"] == digest
    assert side["output"] == f"{digest[:16]}.jpg" and len(side["detections"]) == 2
    px = np.asarray(Image.open(out / f"{digest[:16]}.jpg")).astype(int)
    assert px[HIDDEN].mean() < 3
    # default: names kept, sidecar says where it came from
    assert _run(manifest_path, tmp_path / "kept", folder) == 0
    side = json.loads((tmp_path / "kept" / "IMG_smith_john.redaction.json").read_text())
    assert side["source"] == "IMG_smith_john.jpg"
