"""What every converter shares: the record it yields, skip accounting, split helpers.

A converter reads annotation files and yields one :class:`Record` per image, with boxes in the
pixel grid the dataset authors annotated. It never decodes images: :mod:`.write` does that
(missing, corrupt, wrongly sized images are skipped there), clips the boxes and writes the
canonical dataset.

Skipping rule: a malformed annotation skips the **whole image**, not just the broken box. An
image kept with one of its faces missing would teach the detector that the face is background,
which is worse for a PHI redactor than having one image fewer.

Messages name the annotation file and line (what a user needs to fix them); image file names
are never logged, because ``original_name`` may itself carry PHI in an in-house dataset.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from figure_ml.classes import class_id
from figure_ml.errors import ConfigError, DatasetError

log = logging.getLogger("figure_ml.data.convert")

#: warnings logged per run before the rest go to DEBUG (the summary still counts them all)
MAX_WARNINGS = 20

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


@dataclass
class Box:
    """One PHI box in the source's pixel grid (x0, y0, x1, y1), before clipping."""

    xyxy: tuple[float, float, float, float]
    category: int
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Record:
    """One image as its annotation describes it."""

    split: str
    #: dataset-relative file name: recorded as meta.original_name, never logged
    original_name: str
    #: where the image should be on disk (may not exist: the writer skips it then)
    image_path: Path
    #: annotation location for messages, e.g. ``wider_face_val_bbx_gt.txt:120``
    where: str
    boxes: list[Box] = field(default_factory=list)
    #: (width, height) the annotation states, when it states one
    declared_size: tuple[int, int] | None = None
    #: boxes are fractions of the image size (YOLO). They refer to the *oriented* image:
    #: ultralytics reads images with EXIF applied, so its labels were made against that.
    normalised: bool = False


@dataclass
class Report:
    """Counts of what was converted and what was skipped, and why."""

    samples_skipped: Counter[str] = field(default_factory=Counter)
    objects_skipped: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    images_written: Counter[str] = field(default_factory=Counter)
    objects_written: Counter[str] = field(default_factory=Counter)
    _warned: int = 0

    def _warn(self, what: str, reason: str, where: str) -> None:
        self.examples.setdefault(f"{what}: {reason}", where)
        level = logging.WARNING if self._warned < MAX_WARNINGS else logging.DEBUG
        self._warned += 1
        log.log(level, "%s: %s skipped (%s)", where, what, reason)

    def skip_sample(self, reason: str, where: str) -> None:
        self.samples_skipped[reason] += 1
        self._warn("image", reason, where)

    def skip_object(self, reason: str, where: str, *, quiet: bool = False) -> None:
        """Count a dropped box; ``quiet`` for drops the dataset defines (WIDER invalid=1)."""
        self.objects_skipped[reason] += 1
        if quiet:
            self.examples.setdefault(f"box: {reason}", where)
        else:
            self._warn("box", reason, where)

    def note(self, what: str) -> None:
        """Count something that changed nothing worth a warning (a clipped box...)."""
        self.notes[what] += 1

    def as_info(self) -> dict[str, Any]:
        return {
            "images_written": dict(self.images_written),
            "objects_written": dict(self.objects_written),
            "images_skipped": dict(self.samples_skipped),
            "boxes_skipped": dict(self.objects_skipped),
            "notes": dict(self.notes),
        }

    def summary(self) -> str:
        """The table the CLI prints at the end."""
        rows = [("written", "images", split, n) for split, n in sorted(self.images_written.items())]
        rows += [("written", "boxes", c, n) for c, n in sorted(self.objects_written.items())]
        rows += [("skipped", "images", r, n) for r, n in self.samples_skipped.most_common()]
        rows += [("skipped", "boxes", r, n) for r, n in self.objects_skipped.most_common()]
        rows += [("note", "", r, n) for r, n in self.notes.most_common()]
        width = max([len(r[2]) for r in rows] + [10])
        lines = [f"{'':8} {'':6} {'what':{width}} {'count':>8}  first at (annotation)"]
        for kind, unit, what, n in rows:
            key = f"{'image' if unit == 'images' else 'box'}: {what}" if kind == "skipped" else ""
            first = self.examples.get(key, "")
            lines.append(f"{kind:8} {unit:6} {what:{width}} {n:8d}  {first}".rstrip())
        return "\n".join(lines)


def label_map(
    defaults: dict[str, str], configured: dict[str, Any], *, required: bool, source: str
) -> dict[str, int | None]:
    """Source label -> PHI class id (None: drop on purpose), config over defaults."""
    merged = {**defaults, **configured}
    if required and not merged:
        raise ConfigError(
            f"classes: source={source} needs a map from the dataset's labels to PHI classes, "
            "e.g. 'classes={tattoo: tattoo, person: null}'"
        )
    return {k: (None if v is None else class_id(v)) for k, v in merged.items()}


def map_label(labels: dict[str, int | None], name: str, report: Report, where: str) -> int | None:
    """Class id of source label ``name``; None (counted) when it is dropped or unmapped."""
    if name in labels:
        if labels[name] is None:
            report.note(f"label {name!r} dropped by classes map")
        return labels[name]
    report.skip_object(f"label {name!r} not in classes map", where, quiet=True)
    return None


def unit_hash(name: str) -> float:
    """A number in [0, 1) fixed by ``name``: split assignment that survives reordering."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") / 2.0**64


def carve(records: Iterable[Record], val_fraction: float, test_fraction: float) -> Iterator[Record]:
    """Move a hashed share of train records to val / test (sources without those splits)."""
    for r in records:
        if r.split == "train" and (val_fraction or test_fraction):
            u = unit_hash(r.original_name)
            if u < val_fraction:
                r.split = "val"
            elif u < val_fraction + test_fraction:
                r.split = "test"
        yield r


def need_file(path: Path, what: str) -> Path:
    """``path`` if it is a file; else a :class:`DatasetError` saying what is missing."""
    if not path.is_file():
        raise DatasetError(f"{what} not found: {path}")
    return path


def first_existing(candidates: Iterable[Path]) -> Path | None:
    for c in candidates:
        if c.exists():
            return c
    return None


def parse_floats(parts: list[str], where: str, n: int | None = None) -> list[float]:
    """Numbers of one annotation line; ``ValueError`` naming the place when malformed."""
    if n is not None and len(parts) != n:
        raise ValueError(f"{where}: expected {n} numbers, got {len(parts)}")
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{where}: not a number in {' '.join(parts)!r}") from None


def polygon_box(xs: list[float], ys: list[float]) -> tuple[float, float, float, float]:
    """Tight axis-aligned box of a polygon."""
    return (min(xs), min(ys), max(xs), max(ys))
