"""What a teacher fires on where there is no PHI: a sheet of crops for a person to look at.

The realism score's *restraint* row (:mod:`figure_ml.data.realism`) counts the PHI-free photos
a teacher fires on; it cannot say **what** it fires on, since the generator records which hard
negatives a photo holds but not where. This sheet answers that by eye: the boxes the teacher
keeps at its default threshold on the PHI-free photos of a split (the first ones in reading
order, or the largest), cropped with a margin and outlined in red, so a reviewer can tell
detections on objects that also stand in real clinical photos (ruler digits, pain-scale cards,
sutures) from detections on artefacts of the generator (which only the generator must fix).

Synthetic datasets only: a crop of a real photo may show PHI the labels missed.
"""

from __future__ import annotations

import heapq
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from figure_ml import atomic
from figure_ml.classes import CLASS_IDS
from figure_ml.data.canonical import is_canonical, open_dataset
from figure_ml.errors import ConfigError, DatasetError
from figure_ml.eval.data import load_eval_data

TILE = 160  # px per crop on the sheet
COLUMNS = 12
MARGIN = 20  # px of context around each box, in the photo's pixels
OUTLINE = (255, 0, 0)


@dataclass(frozen=True)
class RestraintSheet:
    """What :func:`restraint_sheet` saw and wrote."""

    phi_free: int  # PHI-free photos looked at
    fired: int  # of those, photos with at least one kept box
    boxes: int  # kept boxes on them (the sheet shows at most ``max_crops``)
    box_area_share: float  # summed kept-box area / summed photo area (overlaps counted twice)
    path: Path | None  # the PNG; None when there was nothing to show


def require_synthetic(path: str | Path) -> None:
    """Refuse anything but a synthetic canonical dataset (a real photo's crop may show PHI)."""
    if not is_canonical(path) or not open_dataset(path).is_synthetic:
        raise DatasetError(f"{path}: a restraint sheet is for synthetic canonical datasets only")


def crop_tile(image: np.ndarray, box: np.ndarray, tile: int = TILE, margin: int = MARGIN):
    """A ``tile`` x ``tile`` PIL image: ``box`` (xyxy) with ``margin`` px of context, outlined,
    scaled to fit (aspect kept) on a dark ground."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (round(float(v)) for v in box)
    cx0, cy0 = max(0, x0 - margin), max(0, y0 - margin)
    cx1, cy1 = min(w, x1 + margin), min(h, y1 + margin)
    crop = Image.fromarray(np.ascontiguousarray(image[cy0:cy1, cx0:cx1]))
    ImageDraw.Draw(crop).rectangle([x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0], outline=OUTLINE)
    s = tile / max(crop.width, crop.height)
    crop = crop.resize((max(1, round(crop.width * s)), max(1, round(crop.height * s))))
    out = Image.new("RGB", (tile, tile), (30, 30, 30))
    out.paste(crop, (0, 0))
    return out


class SheetCollector:
    """Gathers one teacher's kept boxes on PHI-free photos, photo by photo, and writes the
    sheet: the first ``max_crops`` boxes in reading order, or with ``largest`` the largest
    in area (what costs the most photo), largest first. :func:`figure_ml.data.realism.
    realism_score` feeds one from its own pass, so a sheet costs no second inference."""

    def __init__(self, max_crops: int = 96, largest: bool = False) -> None:
        if max_crops < 1:
            raise ConfigError(f"max_crops must be >= 1, got {max_crops}")
        self.max_crops, self.largest = max_crops, largest
        # (area, -order, tile); with ``largest`` a min-heap of the largest, else the first ones
        self.kept: list[tuple[float, int, Image.Image]] = []
        self.phi_free = self.fired = self.boxes = 0
        self.box_area = self.photo_area = 0.0

    def add(self, image: np.ndarray, boxes: np.ndarray) -> None:
        """One PHI-free photo and the boxes the teacher kept on it (xyxy, pixels)."""
        self.phi_free += 1
        self.fired += bool(len(boxes))
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        self.box_area += float(np.sum(areas))
        self.photo_area += image.shape[0] * image.shape[1]
        for b, a in zip(boxes, areas, strict=True):
            self.boxes += 1  # also each box's place in reading order (ties: earlier first)
            if len(self.kept) < self.max_crops:
                heapq.heappush(self.kept, (float(a), -self.boxes, crop_tile(image, b)))
            elif self.largest and float(a) > self.kept[0][0]:
                heapq.heapreplace(self.kept, (float(a), -self.boxes, crop_tile(image, b)))

    def write(self, out: str | Path) -> RestraintSheet:
        """Write the sheet as PNG at ``out`` (atomically; nothing when no box was kept)."""
        order = sorted(self.kept, key=lambda k: (-k[0], -k[1]) if self.largest else -k[1])
        written = None
        if order:
            rows = (len(order) + COLUMNS - 1) // COLUMNS
            sheet = Image.new("RGB", (COLUMNS * TILE, rows * TILE), (0, 0, 0))
            for i, (_, _, tile) in enumerate(order):
                sheet.paste(tile, ((i % COLUMNS) * TILE, (i // COLUMNS) * TILE))
            buf = io.BytesIO()
            sheet.save(buf, format="PNG", optimize=True)
            written = atomic.write_bytes(Path(out), buf.getvalue(), private=True)
        share = self.box_area / self.photo_area if self.photo_area else 0.0
        return RestraintSheet(self.phi_free, self.fired, self.boxes, share, written)


def restraint_sheet(
    path: str | Path,
    split: str,
    teacher: str,
    cls: str,
    out: str | Path,
    *,
    limit: int | None = None,
    max_crops: int = 96,
    largest: bool = False,
    threads: int | None = None,
) -> RestraintSheet:
    """Run ``teacher`` on the PHI-free photos of ``split`` (the first ``limit`` photos of the
    split), keep its ``cls`` boxes at its default threshold and write them as a
    :class:`SheetCollector` sheet at ``out``."""
    from figure_ml.teachers import make_teacher

    require_synthetic(path)
    sheet = SheetCollector(max_crops, largest)
    if cls not in CLASS_IDS:
        raise ConfigError(f"unknown class {cls!r}; classes: {list(CLASS_IDS)}")
    t = make_teacher(teacher, threads=threads)
    if CLASS_IDS[cls] not in t.info.class_ids:
        raise ConfigError(f"{teacher} does not detect {cls}")
    data = load_eval_data(path, split)
    items = data.items[:limit] if limit else data.items
    for item in tqdm(items, desc=f"restraint {teacher}", unit="img"):
        image, gt = item.read()
        if not len(gt.boxes):
            det = t.predict(image)
            keep = (det.classes == CLASS_IDS[cls]) & (det.scores >= t.default_threshold)
            sheet.add(image, det.boxes[keep])
    return sheet.write(out)
