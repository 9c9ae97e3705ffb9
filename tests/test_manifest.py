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
        ({"schema_version": 2}, "schema_version"),
    ],
)
def test_schema_violations_are_named(tmp_path, change, message):
    data = {"schema_version": 1, **_data(tmp_path), **change}
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=message):
        manifest.load(tmp_path)


def test_write_refuses_an_invalid_manifest_and_leaves_the_old_one(tmp_path):
    manifest.write(tmp_path, _data(tmp_path))
    before = (tmp_path / "manifest.json").read_text()
    with pytest.raises(ManifestError):
        manifest.write(tmp_path, _data(tmp_path, padding={"face": 0.1}))
    assert (tmp_path / "manifest.json").read_text() == before
