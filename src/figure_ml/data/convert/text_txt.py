"""Text datasets with per-image text files: ICDAR 2015 (quadrilaterals) and Total-Text
(polygons). Both mark unreadable text as "don't care" (``###`` / ``#``); it stays a text box
unless ``keep_illegible=false`` (see :mod:`.text_json` for why)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from figure_ml.data.convert.base import (
    IMAGE_SUFFIXES,
    Box,
    Record,
    Report,
    parse_floats,
    polygon_box,
)
from figure_ml.errors import DatasetError

#: ICDAR 2015 folders as unpacked from the Robust Reading portal's zips (split -> gt, images)
ICDAR_DIRS = {
    "train": ("ch4_training_localization_transcription_gt", "ch4_training_images"),
    "test": ("Challenge4_Test_Task1_GT", "ch4_test_images"),
}


def _read(path: Path) -> list[str] | None:
    """Lines of a UTF-8 file (a BOM is dropped, as ICDAR files start with one)."""
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (UnicodeDecodeError, OSError):
        return None


def _image_index(folder: Path) -> dict[str, Path]:
    """stem -> image path of the images in ``folder`` (any suffix case: Total-Text has .JPG)."""
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}


def _find_images(folder: Path, stem: str, index: dict[str, Path]) -> Path:
    return index.get(stem, folder / f"{stem}.jpg")


def _illegible(text: int, keep: bool, report: Report, where: str) -> int | None:
    if keep:
        return text
    report.skip_object("illegible text dropped (keep_illegible=false)", where, quiet=True)
    return None


# --- ICDAR 2015 -------------------------------------------------------------------------------


def icdar2015(
    root: Path, splits: tuple[str, ...], text: int | None, keep_illegible: bool, report: Report
) -> Iterator[Record]:
    """Records of ICDAR 2015 Incidental Scene Text (Challenge 4)::

        ch4_training_images/img_1.jpg  ch4_training_localization_transcription_gt/gt_img_1.txt
        ch4_test_images/img_1.jpg      Challenge4_Test_Task1_GT/gt_img_1.txt

    Each gt line: ``x1,y1,x2,y2,x3,y3,x4,y4,transcription`` (the transcription may hold
    commas; ``###`` is don't care); files start with a UTF-8 BOM.
    """
    for split, (gt_name, img_name) in ICDAR_DIRS.items():
        if split not in splits:
            continue
        gt_dir, img_dir = root / gt_name, root / img_name
        for d in (gt_dir, img_dir):
            if not d.is_dir():
                raise DatasetError(f"ICDAR 2015 {split} folder not found: {d}")
        index = _image_index(img_dir)
        files = sorted(gt_dir.glob("gt_*.txt"), key=_natural)
        if not files:
            raise DatasetError(f"ICDAR 2015 {split}: no gt_*.txt files in {gt_dir}")
        for gt in files:
            stem = gt.stem.removeprefix("gt_")
            image = _find_images(img_dir, stem, index)
            rec = Record(split, f"{img_name}/{image.name}", image, f"{gt_name}/{gt.name}")
            if _icdar_boxes(gt, rec, text, keep_illegible, report):
                yield rec


def _icdar_boxes(gt: Path, rec: Record, text: int | None, keep: bool, report: Report) -> bool:
    lines = _read(gt)
    if lines is None:
        report.skip_sample("annotation file is not UTF-8 text", rec.where)
        return False
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{rec.where}:{no}"
        parts = line.split(",", 8)
        try:
            if len(parts) < 9:
                raise ValueError(f"{where}: expected 8 coordinates and a transcription")
            v = parse_floats([p.strip() for p in parts[:8]], where, 8)
        except ValueError:
            report.skip_sample("malformed line (expected x1,y1,...,x4,y4,text)", where)
            return False
        cls = text
        legible = parts[8].strip() != "###"
        if not legible and cls is not None:
            cls = _illegible(cls, keep, report, where)
        if cls is not None:
            rec.boxes.append(Box(polygon_box(v[0::2], v[1::2]), cls, {"legible": legible}))
    return True


def _natural(p: Path) -> tuple:
    """gt_img_2 before gt_img_10."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name))


# --- Total-Text ---------------------------------------------------------------------------------

_TT = re.compile(
    r"x:\s*\[\[(?P<x>[^\]]*)\]\],\s*y:\s*\[\[(?P<y>[^\]]*)\]\],\s*"
    r"ornt:\s*\[u?'(?P<ornt>[^']*)'\],\s*transcriptions:\s*\[u?(?P<q>['\"])(?P<t>.*)(?P=q)\]\s*$"
)


def total_text(
    root: Path, splits: tuple[str, ...], text: int | None, keep_illegible: bool, report: Report
) -> Iterator[Record]:
    """Records of Total-Text with its text-format ground truth::

        Images/Train/img11.jpg   Images/Test/img1.jpg
        Groundtruth/Text/Train/poly_gt_img11.txt   (or txt_format/Train/..., any folder named
        Train / Test that holds poly_gt_*.txt files)

    Each record: ``x: [[x1 x2 ...]], y: [[y1 y2 ...]], ornt: [u'h'], transcriptions:
    [u'...']`` (numpy-printed, so long coordinate lists wrap onto following lines);
    transcription ``#`` is don't care.
    """
    for split, folder in (("train", "Train"), ("test", "Test")):
        if split not in splits:
            continue
        img_dir = root / "Images" / folder
        if not img_dir.is_dir():
            raise DatasetError(f"Total-Text {split} images folder not found: {img_dir}")
        gt_files = sorted(
            (p for p in root.rglob("poly_gt_*.txt") if p.parent.name.lower() == folder.lower()),
            key=_natural,
        )
        if not gt_files:
            raise DatasetError(
                f"Total-Text {split}: no poly_gt_*.txt under a folder named {folder} in {root}"
            )
        index = _image_index(img_dir)
        for gt in gt_files:
            stem = gt.stem.removeprefix("poly_gt_")
            image = _find_images(img_dir, stem, index)
            rec = Record(
                split, f"Images/{folder}/{image.name}", image, f"{gt.parent.name}/{gt.name}"
            )
            if _total_text_boxes(gt, rec, text, keep_illegible, report):
                yield rec


def _records(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(first line number, joined text) of each record; wrapped lines are joined."""
    start, buf = 0, ""
    for no, line in enumerate(lines, start=1):
        if line.lstrip().startswith("x:") and buf:
            yield start, buf
            buf = ""
        if not buf:
            start = no
        if line.strip():
            buf = f"{buf} {line.strip()}" if buf else line.strip()
    if buf:
        yield start, buf


def _total_text_boxes(gt: Path, rec: Record, text: int | None, keep: bool, report: Report) -> bool:
    lines = _read(gt)
    if lines is None:
        report.skip_sample("annotation file is not UTF-8 text", rec.where)
        return False
    for no, body in _records(lines):
        where = f"{rec.where}:{no}"
        m = _TT.match(body)
        try:
            if m is None:
                raise ValueError(where)
            xs = parse_floats(m["x"].replace(",", " ").split(), where)
            ys = parse_floats(m["y"].replace(",", " ").split(), where)
            if len(xs) != len(ys) or len(xs) < 3:
                raise ValueError(where)
        except ValueError:
            report.skip_sample(
                "malformed record (expected x: [[..]], y: [[..]], ornt, transcriptions)", where
            )
            return False
        cls = text
        legible = m["t"] != "#"
        if not legible and cls is not None:
            cls = _illegible(cls, keep, report, where)
        if cls is not None:
            rec.boxes.append(
                Box(polygon_box(xs, ys), cls, {"legible": legible, "orientation": m["ornt"]})
            )
    return True
