"""Read and check a YOLO-layout folder (``data.yaml``, ``images/<split>``, ``labels/<split>``).

ultralytics skips a corrupt image or label with a warning and trains on; a PHI detector trained
on silently shrunken data is worse than no run. :func:`check_yolo_folder` therefore reads every
image header and every label line first and raises :class:`BadInputError` naming the file (and
line) of the first problem. The evaluation stage reuses it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from PIL import Image, UnidentifiedImageError

from figure_ml.classes import CLASS_NAMES, NUM_CLASSES, check_names
from figure_ml.errors import BadInputError, DatasetError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


@dataclass
class YoloSplit:
    """One split of a YOLO folder: image files and their (possibly empty) label files."""

    name: str
    images: list[Path]
    labels_dir: Path

    def label_path(self, image: Path) -> Path:
        return self.labels_dir / f"{image.stem}.txt"


@dataclass
class YoloFolder:
    """A checked YOLO folder."""

    data_yaml: Path
    root: Path
    names: dict[int, str]
    splits: dict[str, YoloSplit] = field(default_factory=dict)
    #: boxes per class id, over all checked splits
    instances: dict[int, int] = field(default_factory=dict)


def read_data_yaml(data_yaml: str | Path) -> dict[str, Any]:
    """Parse ``data.yaml``; :class:`DatasetError` when it is missing or its classes differ."""
    p = Path(data_yaml)
    if not p.is_file():
        raise DatasetError(f"{p}: YOLO data.yaml does not exist")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise DatasetError(f"{p}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict) or "names" not in data:
        raise DatasetError(f"{p}: no 'names' mapping")
    names = data["names"]
    if isinstance(names, list):
        names = dict(enumerate(names))
    try:
        check_names({int(k): v for k, v in names.items()}, where=str(p))
    except ValueError as exc:
        raise DatasetError(str(exc)) from exc
    if int(data.get("nc", NUM_CLASSES)) != NUM_CLASSES:
        raise DatasetError(f"{p}: nc={data['nc']} but figure_ml has {NUM_CLASSES} classes")
    return data


def _split_dirs(root: Path, rel: str) -> tuple[Path, Path]:
    images = (root / rel).resolve()
    # ultralytics' rule: the labels folder mirrors the images folder with /images/ -> /labels/
    parts = list(images.parts)
    if "images" not in parts:
        raise DatasetError(f"{images}: split folder must sit under an 'images' folder")
    i = len(parts) - 1 - parts[::-1].index("images")
    parts[i] = "labels"
    return images, Path(*parts)


def check_image(path: Path) -> None:
    """:class:`BadInputError` naming ``path`` unless it is a readable, non-empty image."""
    try:
        with Image.open(path) as im:
            im.verify()  # header and structure; catches truncated and non-image files
        with Image.open(path) as im:
            w, h = im.size
            im.load()  # truncated JPEG data only shows when decoding
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInputError(f"{path}: corrupt or unreadable image ({exc})") from exc
    if w < 1 or h < 1:
        raise BadInputError(f"{path}: image has size {w}x{h}")


def iter_label_lines(path: Path) -> Iterator[tuple[int, int, tuple[float, float, float, float]]]:
    """Yield ``(line_no, class_id, (cx, cy, w, h))``; :class:`BadInputError` names file:line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path}: cannot read label file ({exc})") from exc
    for no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{no}"
        parts = line.split()
        if len(parts) != 5:
            raise BadInputError(f"{where}: expected 'class cx cy w h', got {line.strip()!r}")
        try:
            cls = int(parts[0])
            cx, cy, w, h = (float(v) for v in parts[1:])
        except ValueError:
            raise BadInputError(f"{where}: not numbers: {line.strip()!r}") from None
        if not 0 <= cls < NUM_CLASSES:
            raise BadInputError(f"{where}: class id {cls} not in 0..{NUM_CLASSES - 1}")
        vals = (cx, cy, w, h)
        if not all(math.isfinite(v) for v in vals):
            raise BadInputError(f"{where}: non-finite box {vals}")
        if w <= 0 or h <= 0 or not all(0.0 <= v <= 1.0 for v in vals):
            raise BadInputError(f"{where}: box {vals} must be normalised to 0..1 with w, h > 0")
        if (
            cx - w / 2 < -1e-3
            or cy - h / 2 < -1e-3
            or cx + w / 2 > 1 + 1e-3
            or cy + h / 2 > 1 + 1e-3
        ):
            raise BadInputError(f"{where}: box {vals} extends outside the image")
        yield no, cls, (cx, cy, w, h)


def check_yolo_folder(
    data_yaml: str | Path, splits: tuple[str, ...] = ("train", "val"), *, images: bool = True
) -> YoloFolder:
    """Check the named splits of a YOLO folder; return what was found.

    Every label line is parsed; with ``images`` every image is opened and decoded. A split
    without images is a :class:`DatasetError`; a missing label file means "no objects".
    """
    data_yaml = Path(data_yaml)
    data = read_data_yaml(data_yaml)
    root = Path(data.get("path") or data_yaml.parent)
    if not root.is_absolute():
        root = (data_yaml.parent / root).resolve()
    folder = YoloFolder(data_yaml, root, dict(enumerate(CLASS_NAMES)))
    for split in splits:
        if not data.get(split):
            raise DatasetError(f"{data_yaml}: no {split!r} split")
        img_dir, lbl_dir = _split_dirs(root, str(data[split]))
        if not img_dir.is_dir():
            raise DatasetError(f"{data_yaml}: {split} images folder {img_dir} does not exist")
        files = sorted(p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DatasetError(f"{data_yaml}: {split} split has no images in {img_dir}")
        ys = YoloSplit(split, files, lbl_dir)
        for img in files:
            if images:
                check_image(img)
            lbl = ys.label_path(img)
            if lbl.exists():
                for _, cls, _ in iter_label_lines(lbl):
                    folder.instances[cls] = folder.instances.get(cls, 0) + 1
        folder.splits[split] = ys
    return folder
