"""Face datasets: WIDER FACE (``wider_face_*_bbx_gt.txt``) and FDDB (ellipse folds)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from figure_ml.data.convert.base import (
    IMAGE_SUFFIXES,
    Box,
    Record,
    Report,
    first_existing,
    need_file,
    parse_floats,
)
from figure_ml.errors import DatasetError

WIDER_ATTRS = ("blur", "expression", "illumination", "invalid", "occlusion", "pose")


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def _is_name(line: str) -> bool:
    return line.strip().lower().endswith(IMAGE_SUFFIXES)


# --- WIDER FACE ---------------------------------------------------------------------------


def wider_face(
    root: Path, splits: tuple[str, ...], face: int | None, report: Report
) -> Iterator[Record]:
    """Records of WIDER FACE train/val, as unpacked from its zips::

        wider_face_split/wider_face_{train,val}_bbx_gt.txt
        WIDER_{train,val}/images/<event>/<name>.jpg

    The readme's format: a file name line, a box count line, then one line per box
    ``x1 y1 w h blur expression illumination invalid occlusion pose``; a count of 0 is
    followed by one line of zeros. Boxes with ``invalid=1`` are skipped, as the readme's
    evaluation does.
    """
    if "test" in splits and len(splits) == 1:
        raise DatasetError("WIDER FACE publishes no test boxes; convert split=train or val")
    for split in (s for s in ("train", "val") if s in splits):
        gt = first_existing(
            [
                root / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt",
                root / f"wider_face_{split}_bbx_gt.txt",
            ]
        )
        gt = need_file(
            gt or root / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt",
            f"WIDER FACE {split} annotations",
        )
        images = root / f"WIDER_{split}" / "images"
        if not images.is_dir():
            raise DatasetError(f"WIDER FACE {split} images folder not found: {images}")
        yield from _wider_file(gt, images, split, face, report)


def _wider_file(
    gt: Path, images: Path, split: str, face: int | None, report: Report
) -> Iterator[Record]:
    lines = _lines(gt)
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        start = i
        where = f"{gt.name}:{start + 1}"
        name = lines[i].strip()
        if not _is_name(name):
            report.skip_sample("malformed line (expected an image file name)", where)
            i = _resync(lines, i + 1)
            continue
        try:
            count = int(lines[i + 1].strip()) if i + 1 < len(lines) else -1
        except ValueError:
            count = -2
        if count < 0:
            why = "file ends after the name" if count == -1 else "malformed box count line"
            report.skip_sample(why, f"{gt.name}:{start + 2}")
            i = _resync(lines, i + 1)
            continue
        body = lines[i + 2 : i + 2 + max(count, 1)]
        i += 2 + max(count, 1)
        rec = Record(split, f"{split}/{name}", images / name, where)
        problem = None
        for k, line in enumerate(body):
            here = f"{gt.name}:{start + 3 + k}"
            if _is_name(line):
                problem = (f"fewer box lines than the count {count}", here)
                i = start + 2 + k  # the next record starts here
                break
            try:
                v = parse_floats(line.split(), here, 10)
            except ValueError:
                problem = ("malformed box line (expected 10 numbers)", here)
                continue
            if count == 0:
                break  # the placeholder line of zeros
            attrs = {a: int(x) for a, x in zip(WIDER_ATTRS, v[4:], strict=True)}
            if attrs["invalid"] == 1:
                report.skip_object("WIDER invalid=1", here, quiet=True)
                continue
            if face is not None:
                rec.boxes.append(Box((v[0], v[1], v[0] + v[2], v[1] + v[3]), face, attrs))
        else:
            if len(body) < max(count, 1):
                problem = (f"file ends before the {count} boxes", where)
        if problem:
            report.skip_sample(*problem)
            continue
        yield rec


def _resync(lines: list[str], i: int) -> int:
    """Index of the next line that names an image (where the next record starts)."""
    while i < len(lines) and not _is_name(lines[i]):
        i += 1
    return i


# --- FDDB -----------------------------------------------------------------------------------


def ellipse_box(
    a: float, b: float, angle: float, cx: float, cy: float
) -> tuple[float, float, float, float]:
    """Tight axis-aligned box of an ellipse with semi-axes ``a`` (along ``angle``, radians
    from the x axis) and ``b``: half-extents sqrt(a²cos²θ + b²sin²θ), sqrt(a²sin²θ + b²cos²θ)."""
    c, s = math.cos(angle), math.sin(angle)
    hw = math.sqrt((a * c) ** 2 + (b * s) ** 2)
    hh = math.sqrt((a * s) ** 2 + (b * c) ** 2)
    return (cx - hw, cy - hh, cx + hw, cy + hh)


def fddb(
    root: Path,
    folds: dict[str, list[int]],
    splits: tuple[str, ...],
    face: int | None,
    report: Report,
) -> Iterator[Record]:
    """Records of FDDB, as unpacked from ``originalPics.tar.gz`` and ``FDDB-folds.tgz``::

        FDDB-folds/FDDB-fold-01-ellipseList.txt ... fold-10
        originalPics/2002/08/11/big/img_591.jpg

    Each fold lists an image path without extension, a face count, then one line per face
    ``major_axis_radius minor_axis_radius angle center_x center_y 1``. FDDB has no official
    split; ``folds`` assigns folds to canonical splits.
    """
    folds_dir = first_existing([root / "FDDB-folds", root])
    assert folds_dir is not None
    pics = root / "originalPics"
    if not pics.is_dir():
        raise DatasetError(f"FDDB images folder not found: {pics}")
    for split in (s for s in ("train", "val", "test") if s in splits):
        for fold in folds.get(split, []):
            path = need_file(
                folds_dir / f"FDDB-fold-{fold:02d}-ellipseList.txt",
                f"FDDB fold {fold} (split {split})",
            )
            yield from _fddb_file(path, pics, split, face, report)


def _fddb_file(
    path: Path, pics: Path, split: str, face: int | None, report: Report
) -> Iterator[Record]:
    lines = _lines(path)
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        start, name = i, lines[i].strip()
        where = f"{path.name}:{start + 1}"
        try:
            count = int(lines[i + 1].strip())
            if count < 0:
                raise ValueError
        except (IndexError, ValueError):
            report.skip_sample("malformed face count line", f"{path.name}:{start + 2}")
            i = _fddb_resync(lines, i + 2)
            continue
        body = lines[i + 2 : i + 2 + count]
        i += 2 + count
        rec = Record(split, f"{name}.jpg", pics / f"{name}.jpg", where)
        problem = None
        for k, line in enumerate(body):
            here = f"{path.name}:{start + 3 + k}"
            try:
                v = parse_floats(line.split(), here, 6)
            except ValueError:
                problem = ("malformed ellipse line (expected 6 numbers)", here)
                break
            if face is not None:
                a, b, angle, cx, cy = v[:5]
                rec.boxes.append(
                    Box(ellipse_box(a, b, angle, cx, cy), face, {"ellipse": [a, b, angle, cx, cy]})
                )
        if len(body) < count and problem is None:
            problem = (f"file ends before the {count} ellipses", where)
        if problem:
            report.skip_sample(*problem)
            i = _fddb_resync(lines, start + 2)
            continue
        yield rec


def _fddb_resync(lines: list[str], i: int) -> int:
    """Next index whose line is a name followed by an integer count line."""
    while i + 1 < len(lines):
        name, nxt = lines[i].strip(), lines[i + 1].strip()
        if name and len(name.split()) == 1 and nxt.isdigit() and "/" in name:
            return i
        i += 1
    return len(lines)
