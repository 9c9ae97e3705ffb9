"""The redactor on the inputs phones and scanners make: modes, formats, metadata, styles."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from figure_ml.errors import BadInputError
from figure_ml.redact import Redactor
from figure_ml.redact.__main__ import main
from figure_ml.redact.batch import plan
from figure_ml.redact.encode import check_clean, encode, output_format
from figure_ml.redact.styles import apply_style, pixel_rects
from test_redact import FACE_RECT, TEXT_RECT, WRIST_RECT, H, W, inside, make_manifest, noise_image

HIDDEN = inside(FACE_RECT) | inside(WRIST_RECT)


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    return make_manifest(tmp_path / "model")


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0xA431] = "SERIAL-0042"  # BodySerialNumber
    return exif


def _inputs(folder: Path) -> dict[str, str]:
    """One file per awkward case; value: the output file name expected."""
    folder.mkdir()
    rgb = noise_image(3)
    Image.fromarray(rgb).convert("RGBA").save(folder / "rgba.png")
    Image.fromarray(rgb).convert("P").save(folder / "palette.png")
    Image.fromarray(rgb).convert("L").save(folder / "gray.png")
    g16 = (rgb[:, :, 0].astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(g16).save(folder / "gray16.png")
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg", exif=_exif())
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "MRN 12345")
    Image.fromarray(rgb).save(folder / "text.png", pnginfo=info, exif=_exif())
    Image.fromarray(rgb).save(folder / "phone.webp", exif=_exif(), xmp=b"<x:xmpmeta/>")
    Image.fromarray(rgb).save(folder / "scan.tiff")
    from pillow_heif import from_pillow

    heif = from_pillow(Image.fromarray(rgb))
    heif.save(folder / "iphone.heic", quality=90)
    return {
        "rgba.png": "rgba.png",
        "palette.png": "palette.png",
        "gray.png": "gray.png",
        "gray16.png": "gray16.png",
        "cmyk.jpg": "cmyk.jpg",
        "text.png": "text.png",
        "phone.webp": "phone.webp",
        "scan.tiff": "scan.png",
        "iphone.heic": "iphone.jpg",
    }


def test_every_mode_and_format_is_redacted_without_metadata(manifest_path, tmp_path):
    expected = _inputs(tmp_path / "in")
    out = tmp_path / "out"
    args = ["--manifest", str(manifest_path), "--out", str(out), str(tmp_path / "in")]
    assert main([*args, "--no-progress"]) == 0
    for src, name in expected.items():
        data = (out / name).read_bytes()
        check_clean(data)  # raises on any EXIF, XMP, text chunk, ICC, APPn
        for secret in (b"SERIAL-0042", b"MRN 12345", b"PhoneMaker", b"xmpmeta"):
            assert secret not in data, (src, secret)
        with Image.open(io.BytesIO(data)) as im:
            assert im.mode == "RGB" and im.size == (W, H), src
            px = np.asarray(im).astype(int)
        assert px[HIDDEN].mean() < 3, src  # filled
        assert px[inside(TEXT_RECT)].mean() > 30, src  # left visible
        side_path = out / (Path(name).stem + ".redaction.json")
        side = json.loads(side_path.read_text())
        assert side["source"] == src and side["output"] == name
        assert len(side["detections"]) == 2
        # the owner's only, whatever the umask (pytest's is usually 022)
        assert (out / name).stat().st_mode & 0o777 == side_path.stat().st_mode & 0o777 == 0o600


def test_lossless_outputs_keep_unredacted_pixels(manifest_path, tmp_path):
    """A grayscale PNG stays a (RGB) PNG with the other pixels exactly as they were."""
    src = tmp_path / "g.png"
    gray = noise_image(4)[:, :, 0]
    Image.fromarray(gray).save(src)
    assert main(["--manifest", str(manifest_path), "--out", str(tmp_path / "o"), str(src)]) == 0
    px = np.asarray(Image.open(tmp_path / "o" / "g.png"))
    assert (px[HIDDEN] == 0).all()
    np.testing.assert_array_equal(px[~HIDDEN], np.repeat(gray[..., None], 3, 2)[~HIDDEN])


@pytest.mark.parametrize("style", ["pixelate", "blur"])
def test_other_styles_change_only_the_boxes(manifest_path, style):
    image = noise_image(5)
    red = Redactor.from_manifest(manifest_path, style=style)
    out, det = red.redact(image)
    assert len(det) == 2
    np.testing.assert_array_equal(out[~HIDDEN], image[~HIDDEN])
    changed = (out != image).any(2)
    for rect in (FACE_RECT, WRIST_RECT):
        assert changed[inside(rect)].mean() > 0.9  # noise is replaced almost everywhere
    # neither keeps the noise: a region's spread collapses
    x0, y0, x1, y1 = FACE_RECT
    assert out[y0:y1, x0:x1].std() < image[y0:y1, x0:x1].std() / 2


def test_pixel_rects_cover_every_touched_pixel():
    assert pixel_rects(np.array([[1.5, 2.2, 3.1, 4.0]]), 10, 10) == [(1, 2, 4, 4)]
    assert pixel_rects(np.array([[-5, -5, 0.5, 20]]), 10, 10) == [(0, 0, 1, 10)]
    assert pixel_rects(np.array([[3, 3, 3, 8], [9.9, 0, 15, 1]]), 10, 10) == [(9, 0, 10, 1)]
    with pytest.raises(ValueError, match="style"):
        apply_style(np.zeros((4, 4, 3), np.uint8), np.zeros((0, 4)), "smudge")


def test_check_clean_refuses_metadata():
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG", exif=_exif())
    with pytest.raises(BadInputError, match="metadata"):
        check_clean(buf.getvalue())
    check_clean(encode(np.zeros((8, 8, 3), np.uint8), "JPEG"))
    assert output_format("a.HEIC") == ("JPEG", ".jpg")
    assert output_format("b.JPG") == ("JPEG", ".JPG")
    assert output_format("c.bmp") == ("PNG", ".png")


def test_plan_refuses_collisions_and_skips_its_own_output(tmp_path):
    src = tmp_path / "photos"
    (src / "sub").mkdir(parents=True)
    for name in ("a.jpg", "a.png", "sub/a.jpg", ".hidden.jpg", "notes.txt"):
        Image.new("RGB", (4, 4)).save(src / name, "PNG")
    out = src / "redacted"
    out.mkdir()
    Image.new("RGB", (4, 4)).save(out / "old.jpg", "PNG")  # a previous run's output
    jobs, refused = plan([src], out)
    assert sorted(str(j.image_out.relative_to(out)) for j in jobs) == ["a.jpg", "sub/a.jpg"]
    assert [p.name for p, _ in refused] == ["a.png"]
    assert "collides" in refused[0][1]
    # an output folder *above* the inputs hides nothing
    jobs, _ = plan([src, src / "a.jpg"], tmp_path / "elsewhere")
    assert len(jobs) == 3  # a.jpg named twice counts once
    jobs, _ = plan([src / "sub"], tmp_path)
    assert [j.src.name for j in jobs] == ["a.jpg"]


def test_large_photo_is_tiled_automatically(tmp_path):
    """Above ``min_long_side`` the manifest's policy adds tiles; ``tiles=off`` turns it off."""
    path = make_manifest(tmp_path / "m", min_long_side=150)
    image = noise_image(6, 200, 120)
    on = Redactor.from_manifest(path).redact_full(image)
    off = Redactor.from_manifest(path, tiles="off").redact_full(image)
    assert on.strategy["name"] == "tiled" and on.strategy["tiles"] == 12  # 4 x 3
    assert off.strategy == {"name": "whole"}
    assert len(on.detections) > len(off.detections) == 2


def test_tiles_from_a_shrunk_copy_when_the_manifest_says_so(tmp_path):
    """``tiling.tile_long_side`` (or ``--tile-long-side``): tiles are cut from the photo shrunk
    to that long side: 200 x 120 shrunk to 100 x 60 needs 2 tiles of 64 px, not 12."""
    path = make_manifest(tmp_path / "m", min_long_side=150, tile_long_side=100)
    image = noise_image(6, 200, 120)
    shrunk = Redactor.from_manifest(path).redact_full(image)
    assert shrunk.strategy["tiles"] == 2 and shrunk.strategy["tile_long_side"] == 100
    full = Redactor.from_manifest(path, tile_long_side=0).redact_full(image)
    assert full.strategy["tiles"] == 12 and "tile_long_side" not in full.strategy
    with pytest.raises(SystemExit) as exc:  # argparse: a usage error before anything runs
        main(["--manifest", str(path), "--out", str(tmp_path / "o"), "--tile-long-side", "-1",
              str(tmp_path)])  # fmt: skip
    assert exc.value.code == 2 and not (tmp_path / "o").exists()


def test_tile_box_filters_of_the_manifest_are_applied_and_reported(tmp_path):
    """``tiling.max_box_fraction`` / ``drop_cut_boxes``: the redactor filters each tile's boxes
    as the manifest says, reports it in the strategy, and never drops a whole-image box."""
    image = noise_image(6, 200, 120)
    plain = Redactor.from_manifest(make_manifest(tmp_path / "a", min_long_side=150))
    filtered = Redactor.from_manifest(
        make_manifest(tmp_path / "b", min_long_side=150, max_box_fraction=0.05, drop_cut_boxes=True)
    )
    a, b = plain.redact_full(image), filtered.redact_full(image)
    assert "max_box_fraction" not in a.strategy and "drop_cut_boxes" not in a.strategy
    assert b.strategy["max_box_fraction"] == 0.05 and b.strategy["drop_cut_boxes"] is True
    assert b.strategy["tiles"] == a.strategy["tiles"] == 12
    # no box of a 64 px tile is at most 3.2 px long: only the whole-image pass's boxes remain
    whole = Redactor.from_manifest(make_manifest(tmp_path / "c"), tiles="off").redact_full(image)
    assert len(b.detections) == len(whole.detections) < len(a.detections)


def test_library_refuses_non_rgb_arrays(manifest_path):
    red = Redactor.from_manifest(manifest_path)
    with pytest.raises(BadInputError, match="uint8 RGB"):
        red.redact(np.zeros((10, 10), np.uint8))


def test_an_unexpected_error_skips_one_file_only(manifest_path, tmp_path, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(noise_image()).save(src / name)
    real = Redactor.redact_encoded

    def flaky(self, data, name="x"):
        if name == "a.png":
            raise RuntimeError("decoder bug")
        return real(self, data, name)

    monkeypatch.setattr(Redactor, "redact_encoded", flaky)
    out = tmp_path / "out"
    assert main(["--manifest", str(manifest_path), "--out", str(out), str(src), "-q"]) == 1
    assert (out / "b.png").is_file() and not (out / "a.png").exists()


def test_model_with_other_classes_is_refused(tmp_path):
    """An ONNX file scoring 80 classes cannot be run with the 4 per-class thresholds."""
    from figure_ml.manifest import ManifestError

    path = make_manifest(tmp_path / "m", nc=80)
    with pytest.raises(ManifestError, match="80 class scores"):
        Redactor.from_manifest(path)
