"""The images that chose an operating point are never scored with it, within a run or across."""

import pytest

from figure_ml.errors import ConfigError
from figure_ml.eval.data import EvalData, EvalItem
from figure_ml.eval.overlap import (
    FINGERPRINT_HEX,
    calibration_record,
    image_fingerprints,
    refuse_overlap,
    refuse_scoring_calibration_images,
)


def _split(digest, split, ids):
    items = [EvalItem(i, lambda: None) for i in ids]
    return EvalData(items, digest, True, f"canonical d [{split}]")


def test_fingerprints_name_no_file_and_depend_on_the_dataset():
    val = _split("abc", "val", ["val-000001", "val-000002"])
    prints = image_fingerprints(val)
    assert len(prints) == 2 and all(len(p) == FINGERPRINT_HEX for p in prints)
    assert not any("val" in p for p in prints) and prints == sorted(prints)
    # the same ids in another dataset are other images
    other = _split("xyz", "val", [i.name for i in val.items])
    assert set(prints).isdisjoint(image_fingerprints(other))


def test_an_operating_point_refuses_the_images_it_was_calibrated_on():
    val = _split("abc", "val", ["val-000001", "val-000002", "val-000003"])
    test = _split("abc", "test", ["test-000001", "test-000002"])
    record = calibration_record("val", val)
    assert record["split"] == "val" and record["dataset_digest"] == "abc"
    refuse_scoring_calibration_images(record, test, "manifest m.json")  # other images: fine
    with pytest.raises(ConfigError, match=r"manifest m.json was calibrated on 3 of the images"):
        refuse_scoring_calibration_images(record, val, "manifest m.json")
    # a subset that shares one image is refused too
    some = _split("abc", "val", ["val-000002", "val-000009"])
    with pytest.raises(ConfigError, match="calibrated on 1 of the images"):
        refuse_scoring_calibration_images(record, some, "thresholds_file t.json")
    # a record from before fingerprints: the same dataset and split name is refused
    old = {"split": "val", "dataset_digest": "abc"}
    with pytest.raises(ConfigError, match="calibrated on 3 of the images"):
        refuse_scoring_calibration_images(old, val, "thresholds_file t.json")
    refuse_scoring_calibration_images(old, test, "thresholds_file t.json")
    refuse_scoring_calibration_images({}, val, "config thresholds")  # nothing recorded
    with pytest.raises(ConfigError, match="share 3 of their images"):
        refuse_overlap(val, val)


def test_yolo_folders_are_keyed_by_resolved_path(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    here = EvalData([EvalItem(str(tmp_path / "a.jpg"), lambda: None)], None, False, "yolo [val]")
    record = calibration_record("val", here)
    with pytest.raises(ConfigError, match="calibrated on 1 of the images"):
        refuse_scoring_calibration_images(record, here, "manifest m.json")


def test_the_same_photos_in_another_dataset_or_a_copied_folder_are_refused(tmp_path):
    """Re-packing the calibration images into a rebuilt dataset (new digest, new ids) or copying
    a YOLO folder elsewhere must not open a way to score them: their bytes are recognised."""
    photos = {f"val-{i:06d}": f"jpeg bytes {i}".encode() for i in range(3)}

    def split(digest, ids_to_bytes, name):
        items = [EvalItem(i, lambda: None, (lambda b=b: b)) for i, b in ids_to_bytes.items()]
        return EvalData(items, digest, True, f"canonical {name} [val]")

    record = calibration_record("val", split("d1", photos, "d1"))
    assert len(record["image_content_fingerprints"]) == 3
    rebuilt = dict(zip(["val-000101", "val-000102", "val-000103"], photos.values(), strict=True))
    with pytest.raises(ConfigError, match="calibrated on 3 of the images"):
        refuse_scoring_calibration_images(record, split("d2", rebuilt, "d2"), "manifest m.json")
    other = {k: v + b"!" for k, v in rebuilt.items()}
    refuse_scoring_calibration_images(record, split("d2", other, "d2"), "manifest m.json")

    src, copy = tmp_path / "a", tmp_path / "b"
    for d in (src, copy):
        d.mkdir()
        (d / "x.jpg").write_bytes(b"the same photo")
    f_src, f_copy = src / "x.jpg", copy / "x.jpg"
    here = EvalData([EvalItem(str(f_src), lambda: None, f_src.read_bytes)], None, False, "yolo")
    there = EvalData([EvalItem(str(f_copy), lambda: None, f_copy.read_bytes)], None, False, "y")
    with pytest.raises(ConfigError, match="calibrated on 1 of the images"):
        refuse_scoring_calibration_images(calibration_record("val", here), there, "manifest m")


def test_one_photo_in_both_splits_under_two_ids_is_refused_within_a_run():
    """A mix renames a colliding id (``wider-000123@b``): the ids differ, the bytes do not."""

    def split(ids_to_bytes, name):
        items = [EvalItem(i, lambda: None, (lambda b=b: b)) for i, b in ids_to_bytes.items()]
        return EvalData(items, "d", True, f"canonical d [{name}]")

    val = split({"wider-000123": b"same jpeg", "wider-000124": b"other"}, "val")
    test = split({"wider-000123@b": b"same jpeg", "x-1": b"third"}, "test")
    with pytest.raises(ConfigError, match=r"share 1 of their images \(identical image bytes\)"):
        refuse_overlap(val, test)
    refuse_overlap(val, split({"x-1": b"third"}, "test"))  # nothing shared: fine
