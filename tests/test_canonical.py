"""The canonical dataset: schema validation, digest, reading back."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from figure_ml.data.canonical import CanonicalWriter, normalise_sample, open_dataset
from figure_ml.data.schema import validate_sample
from figure_ml.errors import DatasetError


def _jpeg(w=64, h=48, value=128):
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), value, np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def _sample(i=0, split="train", objects=None, findings=None, w=64, h=48):
    return {
        "id": f"s{i}",
        "image": _jpeg(w, h, 10 + i),
        "width": w,
        "height": h,
        "objects": objects
        if objects is not None
        else [{"bbox_xyxy": [1, 2, 30, 40], "category": 3, "attrs": "{}"}],
        "findings": findings or [],
        "meta": {"source": "unit", "licence": "CC0", "split": split, "skin_tone": 3},
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"objects": [{"bbox_xyxy": [0, 0, 70, 10], "category": 0, "attrs": "{}"}]}, "outside"),
        ({"objects": [{"bbox_xyxy": [5, 5, 5, 10], "category": 0, "attrs": "{}"}]}, "empty"),
        ({"objects": [{"bbox_xyxy": [0, 0, 10, 10], "category": 7, "attrs": "{}"}]}, "class id 7"),
        ({"findings": [{"bbox_xyxy": [0, 0, 10, 10], "kind": "tumour?"}]}, "finding kind"),
        ({"width": 0}, "size"),
        ({"image": b""}, "empty image"),
    ],
)
def test_schema_rejects_broken_samples(change, message):
    s = normalise_sample({**_sample(), **change})
    with pytest.raises(DatasetError, match=message):
        validate_sample(s)


def test_write_read_roundtrip_and_digest(tmp_path):
    w = CanonicalWriter(tmp_path / "d", shard_size=2)
    samples = [_sample(i, split) for i, split in enumerate(["train"] * 3 + ["val", "test"])]
    for s in samples:
        w.add(s)
    info = w.finish({"synthetic": True, "sources": {"unit": {"licence": "CC0"}}})
    ds = open_dataset(tmp_path / "d")
    assert ds.digest == info["digest"] == (tmp_path / "d" / "DIGEST").read_text().strip()
    assert ds.splits == ("train", "val", "test")
    assert len(info["splits"]["train"]["shards"]) == 2  # 3 rows with shard_size 2
    rows = list(ds.iter_samples("train"))
    assert [r["id"] for r in rows] == ["s0", "s1", "s2"]
    assert rows[0]["objects"][0]["bbox_xyxy"] == [1.0, 2.0, 30.0, 40.0]
    assert rows[0]["image"] == samples[0]["image"]
    assert ds.split("val").num_rows == 1
    assert ds.verify() == ds.digest
    assert ds.licences == {"unit": "CC0"}


def test_digest_changes_with_any_annotation(tmp_path):
    digests = []
    for x1 in (30, 31):
        w = CanonicalWriter(tmp_path / f"d{x1}")
        w.add(_sample(objects=[{"bbox_xyxy": [1, 2, x1, 40], "category": 3, "attrs": "{}"}]))
        digests.append(w.finish({})["digest"])
    assert digests[0] != digests[1]


def test_tampered_info_is_detected(tmp_path):
    w = CanonicalWriter(tmp_path / "d")
    w.add(_sample())
    w.finish({})
    info_path = tmp_path / "d" / "dataset_info.json"
    info = json.loads(info_path.read_text())
    info["digest"] = "0" * 64
    info_path.write_text(json.dumps(info))
    with pytest.raises(DatasetError, match="digest"):
        open_dataset(tmp_path / "d").verify()


def test_open_rejects_missing_and_foreign_folders(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        open_dataset(tmp_path / "nope")
    (tmp_path / "other").mkdir()
    with pytest.raises(DatasetError, match="not a canonical dataset"):
        open_dataset(tmp_path / "other")
    w = CanonicalWriter(tmp_path / "d")
    w.add(_sample())
    w.finish({})
    info_path = tmp_path / "d" / "dataset_info.json"
    info = json.loads(info_path.read_text())
    info["classes"] = ["face", "text"]
    info_path.write_text(json.dumps(info))
    with pytest.raises(DatasetError, match="classes"):
        open_dataset(tmp_path / "d")
