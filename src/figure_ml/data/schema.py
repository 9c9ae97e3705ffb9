"""The canonical sample schema: the one place it is written (DESIGN §3).

A canonical dataset is a folder of parquet shards whose rows follow :data:`FEATURES`:

- ``id``: stable sample id, unique within the dataset (never a patient's file name)
- ``image``: encoded image bytes (JPEG/PNG), orientation already applied (no EXIF rotation left)
- ``width``, ``height``: pixel size of the decoded image
- ``objects``: PHI boxes — ``bbox_xyxy`` in pixels (x0, y0, x1, y1; 0 <= x0 < x1 <= width),
  ``category`` a class id from :mod:`figure_ml.classes`, ``attrs`` a JSON object of generator
  or source attributes (font, char height, rotation...)
- ``findings``: clinical regions that must stay visible (lesions, wounds...); never targets
- ``meta``: ``source``, ``licence``, ``split``, ``skin_tone`` (Fitzpatrick 1..6, 0 unknown),
  ``synthetic``, ``original_name`` (converters only; kept out of every tracker) and ``params``
  (JSON object of scene/generator parameters)
"""

from __future__ import annotations

import json
import math
from typing import Any

from datasets import Features, List, Value

from figure_ml.classes import NUM_CLASSES
from figure_ml.errors import DatasetError

SCHEMA_VERSION = 1
SPLITS: tuple[str, ...] = ("train", "val", "test")
FINDING_KINDS: tuple[str, ...] = ("lesion", "rash", "wound", "sutures", "bruise", "other")

_BOX = List(Value("float32"), length=4)

FEATURES = Features(
    {
        "id": Value("string"),
        "image": Value("binary"),
        "width": Value("int32"),
        "height": Value("int32"),
        "objects": List({"bbox_xyxy": _BOX, "category": Value("int32"), "attrs": Value("string")}),
        "findings": List({"bbox_xyxy": _BOX, "kind": Value("string")}),
        "meta": {
            "source": Value("string"),
            "licence": Value("string"),
            "split": Value("string"),
            "skin_tone": Value("int32"),
            "synthetic": Value("bool"),
            "original_name": Value("string"),
            "params": Value("string"),
        },
    }
)


def _check_box(box: Any, w: int, h: int, where: str) -> None:
    if len(box) != 4 or not all(math.isfinite(float(v)) for v in box):
        raise DatasetError(f"{where}: bbox_xyxy must be 4 finite numbers, got {box}")
    x0, y0, x1, y1 = (float(v) for v in box)
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise DatasetError(f"{where}: bbox_xyxy {list(box)} is empty or outside the {w}x{h} image")


def validate_sample(s: dict[str, Any]) -> None:
    """Raise :class:`DatasetError` naming the sample and the problem if ``s`` breaks the schema."""
    sid = s.get("id", "<no id>")
    missing = [k for k in FEATURES if k not in s]
    if missing:
        raise DatasetError(f"sample {sid}: missing fields {missing}")
    if not s["image"]:
        raise DatasetError(f"sample {sid}: empty image bytes")
    w, h = int(s["width"]), int(s["height"])
    if w <= 0 or h <= 0:
        raise DatasetError(f"sample {sid}: size {w}x{h} must be positive")
    for i, o in enumerate(s["objects"]):
        where = f"sample {sid} object {i}"
        if not 0 <= int(o["category"]) < NUM_CLASSES:
            raise DatasetError(f"{where}: class id {o['category']} not in 0..{NUM_CLASSES - 1}")
        _check_box(o["bbox_xyxy"], w, h, where)
        json.loads(o["attrs"] or "{}")
    for i, f in enumerate(s["findings"]):
        where = f"sample {sid} finding {i}"
        if f["kind"] not in FINDING_KINDS:
            raise DatasetError(f"{where}: unknown finding kind {f['kind']!r}")
        _check_box(f["bbox_xyxy"], w, h, where)
    meta = s["meta"]
    if meta["split"] not in SPLITS:
        raise DatasetError(f"sample {sid}: split {meta['split']!r} not one of {SPLITS}")
    if not 0 <= int(meta["skin_tone"]) <= 6:
        raise DatasetError(f"sample {sid}: skin_tone {meta['skin_tone']} not in 0..6")
    json.loads(meta["params"] or "{}")
