"""Autolabel: a folder of unlabelled photos -> a canonical dataset labelled by teachers.

``python -m figure_ml.data.autolabel input=DIR teachers=[centerface,ppocr_det] out_dir=D
licence=proprietary-owned [min_score=0.3]`` — see :class:`figure_ml.config.AutolabelConfig`.

Every photo (EXIF orientation applied) is run through each teacher; boxes scoring at least the
teacher's threshold (``thresholds[teacher]``, else ``min_score``, else the teacher's default)
become PHI objects of the teacher's class. Boxes are kept as the teachers draw them: CenterFace
was trained on WIDER FACE and PP-OCR det on line-level text polygons, the DESIGN §4 conventions
for faces and text (see each teacher's module). Each object's ``attrs`` records ``teacher`` and
``score``; ``meta.source`` is ``autolabel:<teacher>[+<teacher>...]``; ``dataset_info.json``
records every teacher's provenance (package, version, file sha256, licence) and threshold, and
the photos' licence as the user gave it. The dataset is written by the converters' writer
(:mod:`figure_ml.data.convert.write`): atomically, with a card and a contact sheet to review.

Pseudo-labels are a teacher's opinion, not ground truth: review the contact sheet before
training on them, and never score a model on a set its own teachers labelled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from figure_ml.config import AutolabelConfig
from figure_ml.data.canonical import CanonicalDataset
from figure_ml.data.convert.base import IMAGE_SUFFIXES, Box, Record, Report, carve
from figure_ml.data.convert.write import Target, recorded_settings, write_dataset
from figure_ml.data.licences import classify
from figure_ml.errors import BadInputError, DatasetError
from figure_ml.imageio import decode_image
from figure_ml.teachers import Teacher, make_teacher

log = logging.getLogger("figure_ml.data.autolabel")

__all__ = ["AutolabelResult", "autolabel", "find_images", "source_name"]

#: photo formats read besides the converters' (HEIC is the iPhone default)
SUFFIXES = (*IMAGE_SUFFIXES, ".heic", ".heif")


@dataclass
class AutolabelResult:
    dataset: CanonicalDataset
    report: Report
    #: teacher name -> score threshold applied
    thresholds: dict[str, float]


def source_name(teachers: list[str]) -> str:
    """``meta.source`` of an autolabelled dataset, e.g. ``autolabel:centerface+ppocr_det``."""
    return "autolabel:" + "+".join(teachers)


def find_images(root: Path) -> list[str]:
    """Photo paths under ``root`` relative to it, sorted (hidden files and folders skipped)."""
    if not root.is_dir():
        raise DatasetError(f"input folder {root} does not exist")
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if p.is_file() and p.suffix.lower() in SUFFIXES:
            out.append(rel.as_posix())
    return sorted(out)


def _records(
    root: Path,
    names: list[str],
    split: str,
    teachers: list[Teacher],
    thresholds: dict[str, float],
    report: Report,
) -> Iterator[Record]:
    """One record per readable photo, boxes as fractions of the oriented image."""
    for i, name in enumerate(names):
        where = f"photo #{i}"  # never the file name: it may itself be PHI
        try:
            pixels = decode_image(root / name, name=where)
        except BadInputError as exc:
            report.skip_sample(str(exc).removeprefix(f"{where}: ").split(" (")[0], where)
            continue
        h, w = pixels.shape[:2]
        boxes: list[Box] = []
        for t in teachers:
            # one box per object: a teacher run on several views returns each view's box
            xyxy, scores, classes, dropped = t.detect_distinct(pixels, thresholds[t.name])
            if dropped:
                report.notes[f"{t.name}: boxes under its score threshold left out"] += dropped
            for b, s, c in zip(xyxy, scores, classes, strict=True):
                frac = (b[0] / w, b[1] / h, b[2] / w, b[3] / h)
                attrs = {"teacher": t.name, "score": round(float(s), 4)}
                boxes.append(Box(tuple(float(v) for v in frac), int(c), attrs))
        yield Record(split, name, root / name, where, boxes, normalised=True)


def autolabel(cfg: AutolabelConfig) -> AutolabelResult:
    """Label the photos in ``cfg.input`` with ``cfg.teachers`` into a dataset at
    ``cfg.out_dir``; the report counts what was written, dropped and skipped."""
    cfg.validate()
    root = Path(cfg.input)
    names = find_images(root)
    if not names:
        raise DatasetError(f"input folder {root} holds no photo ({', '.join(SUFFIXES)})")
    if cfg.limit is not None and not (cfg.val_fraction or cfg.test_fraction):
        names = names[: cfg.limit]  # one split: no need to label photos that would be cut
    licence = classify(cfg.licence)
    teachers = [make_teacher(n, threads=cfg.threads) for n in cfg.teachers]
    thresholds = {
        t.name: float(
            cfg.thresholds.get(
                t.name, t.default_threshold if cfg.min_score is None else cfg.min_score
            )
        )
        for t in teachers
    }
    log.info("autolabel %d photos with %s at %s", len(names), cfg.teachers, thresholds)
    source = source_name(cfg.teachers)
    report = Report()
    records = carve(
        _records(root, names, cfg.split, teachers, thresholds, report),
        cfg.val_fraction,
        cfg.test_fraction,
    )
    settings = {**recorded_settings(cfg, "threads"), "thresholds": thresholds}
    target = Target.from_config(
        cfg,
        source=source,
        licence=licence,
        splits=("train", "val", "test"),
        settings=settings,
        generator="figure_ml.data.autolabel",
        extra_info={
            "teachers": {
                t.name: {**t.info.as_dict(), "threshold": thresholds[t.name]} for t in teachers
            }
        },
    )
    return AutolabelResult(write_dataset(records, target, report), report, thresholds)
