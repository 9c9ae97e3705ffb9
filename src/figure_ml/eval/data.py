"""Evaluation data: a split of a canonical dataset, or any YOLO-format folder.

Each item reads lazily into ``(image, GroundTruth)``: the oriented RGB pixels (EXIF applied,
the way the redactor reads photos) and boxes in those pixels. A bad image or label raises
:class:`BadInputError` naming the file (and line); the runner decides whether to stop or skip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from figure_ml.data.canonical import is_canonical, open_dataset
from figure_ml.data.card import hard_negatives
from figure_ml.data.schema import FINDING_KINDS
from figure_ml.data.yolo_folder import IMAGE_SUFFIXES, iter_label_lines, read_data_yaml
from figure_ml.errors import DatasetError
from figure_ml.eval.records import GroundTruth
from figure_ml.imageio import decode_image


@dataclass
class EvalItem:
    """One image to evaluate; ``read()`` decodes it (may raise BadInputError)."""

    name: str  # for error messages only; never logged to a tracker
    read: Callable[[], tuple[np.ndarray, GroundTruth]]
    #: the encoded image file as stored (what a content fingerprint hashes); None: unknown
    content: Callable[[], bytes] | None = None


@dataclass
class EvalData:
    items: list[EvalItem]
    digest: str | None  # canonical dataset digest (None for a YOLO folder)
    synthetic: bool
    description: str


def _canonical(path: Path, split: str) -> EvalData:
    ds = open_dataset(path)
    items = []
    for row in ds.iter_samples(split):
        items.append(EvalItem(row["id"], _canonical_reader(row), _stored_bytes(row["image"])))
    return EvalData(items, ds.digest, ds.is_synthetic, f"canonical {path} [{split}]")


def _stored_bytes(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def _canonical_reader(row: dict) -> Callable[[], tuple[np.ndarray, GroundTruth]]:
    def read() -> tuple[np.ndarray, GroundTruth]:
        image = decode_image(row["image"], name=row["id"])
        h, w = image.shape[:2]
        if (w, h) != (row["width"], row["height"]):
            raise DatasetError(
                f"{row['id']}: decoded size {w}x{h} differs from recorded "
                f"{row['width']}x{row['height']}"
            )
        gt = GroundTruth(
            row["id"],
            w,
            h,
            np.array([o["bbox_xyxy"] for o in row["objects"]], np.float64).reshape(-1, 4),
            np.array([o["category"] for o in row["objects"]], np.int64),
            np.array(
                [f["bbox_xyxy"] for f in row["findings"] if f["kind"] in FINDING_KINDS],
                np.float64,
            ).reshape(-1, 4),
            source=row["meta"]["source"],
            skin_tone=int(row["meta"]["skin_tone"]),
            hard_negatives=tuple(hard_negatives(row)),
        )
        return image, gt

    return read


def _yolo_root(path: Path) -> tuple[Path, dict]:
    data_yaml = path if path.suffix in (".yaml", ".yml") else path / "data.yaml"
    if data_yaml.is_file():
        data = read_data_yaml(data_yaml)
        root = Path(data.get("path") or data_yaml.parent)
        return (root if root.is_absolute() else data_yaml.parent / root), data
    if (path / "images").is_dir():
        return path, {}
    raise DatasetError(
        f"{path}: neither a canonical dataset nor a YOLO folder (no data.yaml, no images/)"
    )


def _yolo(path: Path, split: str, labels: bool = True) -> EvalData:
    root, data = _yolo_root(path)
    rel = data.get(split, f"images/{split}")
    img_dir = (root / rel).resolve()
    if not img_dir.is_dir() and split not in data:
        img_dir = root / "images"  # a flat folder: images/ + labels/
    if not img_dir.is_dir():
        raise DatasetError(f"{path}: no images folder for split {split!r} ({img_dir})")
    parts = list(img_dir.parts)
    i = len(parts) - 1 - parts[::-1].index("images")
    lbl_dir = Path(*parts[:i], "labels", *parts[i + 1 :])
    files = sorted(p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetError(f"{img_dir}: no images")
    if labels:
        _check_label_files(files, lbl_dir)
    items = [
        EvalItem(str(f), _yolo_reader(f, lbl_dir / f"{f.stem}.txt"), f.read_bytes) for f in files
    ]
    return EvalData(items, None, False, f"yolo {img_dir} [{split}]")


def _check_label_files(images: list[Path], lbl_dir: Path) -> None:
    """Every image has its label file and every label file its image. A photo whose label
    file is missing (lost, or a stem that differs: ``IMG_1.jpg`` / ``img_1.txt``) would
    otherwise be scored as holding no PHI, its boxes gone from every miss rate; an empty file
    is how a photo without PHI is marked (what ``export_yolo`` writes)."""
    if not lbl_dir.is_dir():
        raise DatasetError(f"{lbl_dir}: no labels folder beside the images")
    labels = {p.stem for p in lbl_dir.iterdir() if p.suffix == ".txt"}
    stems = {p.stem for p in images}
    unlabelled = sorted(p.name for p in images if p.stem not in labels)
    orphans = sorted(f"{s}.txt" for s in labels - stems)
    if unlabelled or orphans:
        raise DatasetError(
            f"{lbl_dir}: {len(unlabelled)} images without a label file "
            f"(first: {unlabelled[:3]}) and {len(orphans)} label files without an image "
            f"(first: {orphans[:3]}); an empty .txt marks a photo without PHI"
        )


def _yolo_reader(
    image_path: Path, label_path: Path
) -> Callable[[], tuple[np.ndarray, GroundTruth]]:
    def read() -> tuple[np.ndarray, GroundTruth]:
        image = decode_image(image_path)
        h, w = image.shape[:2]
        boxes, classes = [], []
        if label_path.exists():  # checked by _check_label_files; an empty one: no PHI here
            for _, cls, (cx, cy, bw, bh) in iter_label_lines(label_path):
                boxes.append(
                    [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
                )
                classes.append(cls)
        b = np.clip(np.array(boxes, np.float64).reshape(-1, 4), 0, [w, h, w, h])
        return image, GroundTruth(
            image_path.name, w, h, b, np.array(classes, np.int64), source="yolo"
        )

    return read


def load_eval_data(
    path: str | Path, split: str, fmt: str = "auto", *, labels: bool = True
) -> EvalData:
    """Items of ``split`` at ``path`` (``fmt``: ``canonical``, ``yolo`` or ``auto``).
    ``labels=False`` is for callers that use the images only (INT8 calibration): a YOLO
    folder's label files are then not required to match its images one to one."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"dataset {p} does not exist")
    if fmt == "canonical" or (fmt == "auto" and is_canonical(p)):
        return _canonical(p, split)
    if fmt in ("yolo", "auto"):
        return _yolo(p, split, labels)
    raise DatasetError(f"data.format must be canonical, yolo or auto, got {fmt!r}")
