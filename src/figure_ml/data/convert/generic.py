"""Generic formats for everything else (tattoo sets, an in-house wristband set): COCO JSON,
Pascal VOC XML and YOLO folders. Their labels are the dataset's own; ``classes`` in the config
maps each to a PHI class (or null to drop it on purpose). A label missing from the map is
dropped and counted under its name in the summary, so a typo shows up there.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import yaml

from figure_ml.data.convert.base import (
    IMAGE_SUFFIXES,
    Box,
    Record,
    Report,
    first_existing,
    map_label,
    parse_floats,
    polygon_box,
)
from figure_ml.data.convert.text_json import load_json, xywh_box
from figure_ml.errors import DatasetError

SPLIT_NAMES = ("train", "val", "test")
Labels = dict[str, int | None]


# --- COCO JSON ----------------------------------------------------------------------------------


def coco_files(root: Path, files: dict[str, str]) -> dict[str, Path]:
    """split -> annotation JSON: from config, else the usual layouts (COCO
    ``annotations/instances_<split>*.json``; Roboflow ``<split>/_annotations.coco.json``;
    ``<split>.json``; a single ``annotations.json`` / ``_annotations.coco.json`` is train)."""
    if files:
        return {s: root / f for s, f in files.items()}
    found: dict[str, Path] = {}
    for split in SPLIT_NAMES:
        alias = ("val", "valid") if split == "val" else (split,)
        cands = [
            p
            for a in alias
            for p in (
                *sorted((root / "annotations").glob(f"instances_{a}*.json")),
                root / a / "_annotations.coco.json",
                root / f"{a}.json",
                root / "annotations" / f"{a}.json",
            )
        ]
        hit = first_existing(cands)
        if hit:
            found[split] = hit
    if not found:
        single = first_existing([root / "annotations.json", root / "_annotations.coco.json"])
        if single is None:
            raise DatasetError(f"COCO: no annotation JSON found in {root} (set files.train=...)")
        found["train"] = single
    return found


def coco(
    root: Path,
    splits: tuple[str, ...],
    files: dict[str, str],
    images: dict[str, str],
    labels: Labels,
    report: Report,
) -> Iterator[Record]:
    """Records of a COCO-format detection set (``images``, ``annotations``, ``categories``;
    bbox ``[x, y, w, h]``). ``iscrowd=1`` regions are skipped: one box over many objects."""
    for split, path in coco_files(root, files).items():
        if split not in splits:
            continue
        if not path.is_file():
            raise DatasetError(f"COCO {split} annotations not found: {path}")
        data = load_json(path, ("images", "annotations", "categories"))
        cats = {c["id"]: str(c["name"]) for c in data["categories"]}
        dirs = (
            [root / images[split]]
            if split in images
            else [
                path.parent,
                root / path.stem.removeprefix("instances_"),
                root / split,
                root / "images" / split,
                root / "images",
            ]
        )
        by_image: dict[object, list[dict]] = {}
        for ann in data["annotations"]:
            by_image.setdefault(ann.get("image_id"), []).append(ann)
        for img in data["images"]:
            where = f"{path.name}: image id {img.get('id')}"
            try:
                name = str(img["file_name"])
                hit = first_existing(d / name for d in dirs)
                rec = Record(
                    split,
                    name,
                    hit or dirs[0] / name,
                    where,
                    declared_size=(int(img["width"]), int(img["height"])),
                )
                for ann in by_image.get(img["id"], []):
                    here = f"{where} annotation {ann.get('id')}"
                    box = xywh_box(ann["bbox"], here)
                    if ann["category_id"] not in cats:
                        raise KeyError("category_id")
                    label = cats[ann["category_id"]]
                    cls = map_label(labels, label, report, here)
                    if cls is None:
                        continue
                    if ann.get("iscrowd"):
                        report.skip_object("iscrowd=1 region", here, quiet=True)
                        continue
                    rec.boxes.append(Box(box, cls, {"label": label}))
            except KeyError as exc:
                report.skip_sample(
                    f"malformed annotation (missing or unknown {exc.args[0]})", where
                )
                continue
            except (TypeError, ValueError) as exc:
                report.skip_sample(f"malformed annotation ({type(exc).__name__})", where)
                continue
            yield rec


# --- Pascal VOC XML ------------------------------------------------------------------------------


def voc(
    root: Path, splits: tuple[str, ...], files: dict[str, str], labels: Labels, report: Report
) -> Iterator[Record]:
    """Records of a Pascal VOC folder: ``Annotations/<id>.xml``, ``JPEGImages/<file>``, and
    optionally ``ImageSets/Main/{train,val,test}.txt`` (one id per line). Without those lists
    every image is train (``val_fraction`` / ``test_fraction`` carve the rest).

    VOC pixel coordinates are 1-based and inclusive: ``xmin=1, xmax=10`` covers pixels 0..9,
    i.e. the box [0, 10) in canonical coordinates.
    """
    ann_dir, img_dir = root / "Annotations", root / "JPEGImages"
    if not ann_dir.is_dir():
        raise DatasetError(f"VOC: Annotations folder not found: {ann_dir}")
    lists = {s: root / f for s, f in files.items()} or {
        s: p for s in SPLIT_NAMES if (p := root / "ImageSets" / "Main" / f"{s}.txt").is_file()
    }
    if lists:
        for split, lst in lists.items():
            if split not in splits:
                continue
            if not lst.is_file():
                raise DatasetError(f"VOC {split} image list not found: {lst}")
            for no, line in enumerate(lst.read_text().splitlines(), start=1):
                if line.strip():
                    xml = ann_dir / f"{line.split()[0]}.xml"
                    if not xml.is_file():
                        report.skip_sample("annotation XML missing", f"{lst.name}:{no}")
                        continue
                    rec = _voc_record(xml, img_dir, split, labels, report)
                    if rec:
                        yield rec
    else:
        for xml in sorted(ann_dir.glob("*.xml")):
            rec = _voc_record(xml, img_dir, "train", labels, report)
            if rec:
                yield rec


def _voc_record(
    xml: Path, img_dir: Path, split: str, labels: Labels, report: Report
) -> Record | None:
    try:
        tree = ET.parse(xml)
    except ET.ParseError as exc:
        report.skip_sample("malformed XML", f"{xml.name}:{exc.position[0]}")
        return None
    node = tree.getroot()
    name = (node.findtext("filename") or "").strip()
    image = img_dir / name if name else None
    if image is None or not image.is_file():
        # many tools write a stale <filename>; the image named like the XML is the real one
        image = first_existing(img_dir / f"{xml.stem}{s}" for s in (*IMAGE_SUFFIXES, ".JPG"))
        image = image or img_dir / (name or f"{xml.stem}.jpg")
    declared = None
    size = node.find("size")
    try:
        if size is not None:
            w, h = int(float(size.findtext("width", "0"))), int(float(size.findtext("height", "0")))
            declared = (w, h) if w > 0 and h > 0 else None  # 0: the tool did not know
        rec = Record(split, image.name, image, xml.name, declared_size=declared)
        for k, obj in enumerate(node.iter("object")):
            here = f"{xml.name}: object {k + 1}"
            label = (obj.findtext("name") or "").strip()
            bb = obj.find("bndbox")
            if bb is None:
                raise ValueError(f"{here}: no bndbox")
            x0, y0, x1, y1 = parse_floats(
                [bb.findtext(t, "") for t in ("xmin", "ymin", "xmax", "ymax")], here, 4
            )
            cls = map_label(labels, label, report, here)
            if cls is not None:
                attrs = {"label": label, "difficult": obj.findtext("difficult", "0") == "1"}
                rec.boxes.append(Box((x0 - 1, y0 - 1, x1, y1), cls, attrs))
    except ValueError:
        report.skip_sample("malformed object (bndbox needs numeric xmin/ymin/xmax/ymax)", xml.name)
        return None
    return rec


# --- YOLO folders --------------------------------------------------------------------------------


def yolo_names(root: Path) -> tuple[dict[int, str], dict]:
    """Class names of a YOLO folder: ``data.yaml`` ``names`` (list or dict), else
    ``classes.txt`` / ``obj.names`` (one name per line)."""
    data_yaml = first_existing([root / "data.yaml", root / "dataset.yaml"])
    if data_yaml is not None:
        try:
            data = yaml.safe_load(data_yaml.read_text()) or {}
        except yaml.YAMLError as exc:
            raise DatasetError(f"{data_yaml.name}: not valid YAML ({exc})") from exc
        names = data.get("names") if isinstance(data, dict) else None
        if isinstance(names, list):
            return dict(enumerate(map(str, names))), data
        if isinstance(names, dict):
            return {int(k): str(v) for k, v in names.items()}, data
        raise DatasetError(f"{data_yaml.name}: no 'names' list or mapping")
    txt = first_existing([root / "classes.txt", root / "obj.names"])
    if txt is None:
        raise DatasetError(f"YOLO: no data.yaml, classes.txt or obj.names in {root}")
    return dict(enumerate(n.strip() for n in txt.read_text().splitlines() if n.strip())), {}


def yolo_split_dirs(root: Path, data: dict, files: dict[str, str]) -> dict[str, Path]:
    """split -> image folder: config ``files``, data.yaml's entries, ``images/<split>``, or a
    flat ``images/`` folder as train."""
    if files:
        return {s: root / f for s, f in files.items()}
    base = root / str(data.get("path") or ".")
    if not base.is_dir():  # data.yaml written on another machine: its path means nothing here
        base = root
    out = {}
    for split in SPLIT_NAMES:
        key = split if split in data else ("valid" if split == "val" and "valid" in data else "")
        if key and isinstance(data[key], str):
            out[split] = base / data[key]
        elif (root / "images" / split).is_dir():
            out[split] = root / "images" / split
    if not out and (root / "images").is_dir():
        out["train"] = root / "images"
    if not out:
        raise DatasetError(f"YOLO: no images/<split> folders in {root} (set files.train=...)")
    return out


def yolo(
    root: Path, splits: tuple[str, ...], files: dict[str, str], labels: Labels, report: Report
) -> Iterator[Record]:
    """Records of a YOLO folder. Label lines are ``class cx cy w h`` (normalised) or a
    segmentation polygon ``class x1 y1 x2 y2 ...``; an image without a label file has no
    objects (the YOLO convention)."""
    names, data = yolo_names(root)
    for split, img_dir in yolo_split_dirs(root, data, files).items():
        if split not in splits:
            continue
        if not img_dir.is_dir():
            raise DatasetError(f"YOLO {split} images folder not found: {img_dir}")
        parts = list(img_dir.parts)
        if "images" in parts:  # ultralytics: labels mirror images with /images/ -> /labels/
            parts[len(parts) - 1 - parts[::-1].index("images")] = "labels"
        lbl_dir = Path(*parts)
        for image in sorted(p for p in img_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            rel = image.relative_to(img_dir)
            lbl = lbl_dir / rel.with_suffix(".txt")
            where = str(Path(lbl_dir.name) / rel.with_suffix(".txt"))
            rec = Record(split, str(Path(img_dir.name) / rel), image, where, normalised=True)
            if not lbl.is_file():
                report.note("image without a label file (kept as negative)")
            elif not _yolo_boxes(lbl, rec, names, labels, report):
                continue
            yield rec


def _yolo_boxes(
    lbl: Path, rec: Record, names: dict[int, str], labels: Labels, report: Report
) -> bool:
    """Add the boxes of ``lbl`` to ``rec`` in *normalised* units (``rec.normalised``): the
    writer scales them once it knows the image size."""
    try:
        lines = lbl.read_text(encoding="utf-8-sig").splitlines()
    except (UnicodeDecodeError, OSError):
        report.skip_sample("label file is not readable UTF-8 text", rec.where)
        return False
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{rec.where}:{no}"
        fields = line.split()
        try:
            cls_id = int(fields[0])
            v = parse_floats(fields[1:], where)
            if len(v) != 4 and (len(v) < 6 or len(v) % 2):
                raise ValueError(where)
        except (ValueError, IndexError):
            report.skip_sample("malformed label line (class cx cy w h, or a polygon)", where)
            return False
        if cls_id not in names:
            report.skip_sample(f"class id out of range 0..{len(names) - 1}", where)
            return False
        cls = map_label(labels, names[cls_id], report, where)
        if cls is None:
            continue
        if len(v) == 4:
            cx, cy, w, h = v
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        else:
            box = polygon_box(v[0::2], v[1::2])
        rec.boxes.append(Box(box, cls, {"label": names[cls_id]}))
    return True
