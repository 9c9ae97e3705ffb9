"""Text datasets with JSON annotations: TextOCR and COCO-Text v2.

Both mark text nobody could read (TextOCR: ``utf8_string == "."``; COCO-Text:
``legibility: illegible``). On a clinical photo such text is still text — a sharper phone may
read it — so it stays a ``text`` box by default (``attrs.legible = false``); set
``keep_illegible=false`` to drop it (counted). Transcriptions are not copied: the detector
needs the box, and an in-house set's transcriptions could be PHI themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from figure_ml.data.convert.base import Box, Record, Report, first_existing, need_file
from figure_ml.errors import DatasetError


def load_json(path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    """Parse ``path``; :class:`DatasetError` with line and column when it is not JSON, or
    naming the missing top-level keys."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"{path.name}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})"
        ) from exc
    if not isinstance(data, dict):
        raise DatasetError(f"{path.name}: expected a JSON object at the top level")
    missing = [k for k in keys if k not in data]
    if missing:
        raise DatasetError(f"{path.name}: missing top-level key(s) {missing}")
    return data


def xywh_box(bbox: Any, where: str) -> tuple[float, float, float, float]:
    """``[x, y, w, h]`` -> xyxy; ``ValueError`` naming the place when malformed."""
    if not isinstance(bbox, list | tuple) or len(bbox) != 4:
        raise ValueError(f"{where}: bbox must be [x, y, w, h], got {bbox!r}")
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: bbox has a non-number: {bbox!r}") from None
    return (x, y, x + w, y + h)


def _resolver(root: Path, dirs: list[Path]):
    """Find an image by its annotated file name: as given, then by base name in ``dirs``."""

    def find(file_name: str) -> Path:
        base = Path(file_name).name
        hit = first_existing([root / file_name, *(d / base for d in dirs)])
        return hit or root / file_name

    return find


def _image_record(split: str, img: dict[str, Any], find, where: str) -> Record:
    """The record of one image entry ``{file_name, width, height, ...}`` of either JSON."""
    name = str(img["file_name"])
    return Record(
        split, name, find(name), where, declared_size=(int(img["width"]), int(img["height"]))
    )


def _drops_illegible(legible: bool, keep_illegible: bool, report: Report, where: str) -> bool:
    """True (and counted) when an illegible line is to be dropped (``keep_illegible=false``)."""
    if legible or keep_illegible:
        return False
    report.skip_object("illegible text dropped (keep_illegible=false)", where, quiet=True)
    return True


# --- TextOCR --------------------------------------------------------------------------------


def textocr(
    root: Path, splits: tuple[str, ...], text: int | None, keep_illegible: bool, report: Report
) -> Iterator[Record]:
    """Records of TextOCR, as downloaded::

        TextOCR_0.1_train.json, TextOCR_0.1_val.json
        train_images/<image id>.jpg       (train_val_images.zip; JSON file_name "train/<id>.jpg")

    JSON: ``imgs`` {id: {file_name, width, height, set}}, ``anns`` {id: {image_id, bbox
    [x, y, w, h], utf8_string}}, ``imgToAnns`` {image id: [ann ids]}. The test JSON has no
    boxes, so only train and val convert.
    """
    if splits == ("test",):
        raise DatasetError("TextOCR publishes no test boxes; convert split=train or val")
    find = _resolver(root, [root / "train_images", root / "train_val_images" / "train_images"])
    for split in (s for s in ("train", "val") if s in splits):
        path = need_file(root / f"TextOCR_0.1_{split}.json", f"TextOCR {split} annotations")
        data = load_json(path, ("imgs", "anns", "imgToAnns"))
        for img_id, img in data["imgs"].items():
            where = f"{path.name}: image {img_id}"
            try:
                rec = _image_record(split, img, find, where)
                for ann_id in data["imgToAnns"].get(img_id, []):
                    ann = data["anns"][ann_id]
                    legible = ann.get("utf8_string") != "."
                    box = xywh_box(ann["bbox"], f"{where} annotation {ann_id}")
                    if text is None:
                        continue
                    if _drops_illegible(legible, keep_illegible, report, where):
                        continue
                    rec.boxes.append(Box(box, text, {"legible": legible}))
            except (KeyError, TypeError, ValueError) as exc:
                report.skip_sample(f"malformed annotation ({type(exc).__name__})", where)
                continue
            yield rec


# --- COCO-Text v2 -----------------------------------------------------------------------------


def coco_text(
    root: Path, splits: tuple[str, ...], text: int | None, keep_illegible: bool, report: Report
) -> Iterator[Record]:
    """Records of COCO-Text v2, as downloaded::

        cocotext.v2.json
        train2014/COCO_train2014_000000xxxxxx.jpg      (the COCO 2014 train images)

    JSON: ``imgs`` {id: {file_name, width, height, set: train|val}}, ``anns`` {id: {image_id,
    bbox [x, y, w, h], legibility, language, class}}, ``imgToAnns``. COCO-Text has no public
    test boxes; its val set becomes val.
    """
    if splits == ("test",):
        raise DatasetError("COCO-Text publishes no test boxes; convert split=train or val")
    path = need_file(
        first_existing([root / "cocotext.v2.json", root / "annotations" / "cocotext.v2.json"])
        or root / "cocotext.v2.json",
        "COCO-Text annotations",
    )
    data = load_json(path, ("imgs", "anns", "imgToAnns"))
    find = _resolver(root, [root / "train2014", root / "images" / "train2014", root / "images"])
    # the JSON lists images by id; sort so the output order does not depend on the JSON's
    for img_id, img in sorted(data["imgs"].items(), key=lambda kv: str(kv[0])):
        where = f"{path.name}: image {img_id}"
        split = img.get("set") if isinstance(img, dict) else None
        if split not in ("train", "val"):
            report.skip_sample(f"unknown set {split!r}", where)
            continue
        if split not in splits:
            continue
        try:
            rec = _image_record(split, img, find, where)
            for ann_id in data["imgToAnns"].get(str(img_id), []):
                ann = data["anns"][str(ann_id)]
                box = xywh_box(ann["bbox"], f"{where} annotation {ann_id}")
                legible = ann.get("legibility", "legible") == "legible"
                if text is None:
                    continue
                if _drops_illegible(legible, keep_illegible, report, where):
                    continue
                attrs = {
                    "legible": legible,
                    "language": ann.get("language", ""),
                    "text_class": ann.get("class", ""),
                }
                rec.boxes.append(Box(box, text, attrs))
        except (KeyError, TypeError, ValueError) as exc:
            report.skip_sample(f"malformed annotation ({type(exc).__name__})", where)
            continue
        yield rec
