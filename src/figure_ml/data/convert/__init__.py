"""Public-dataset converters: a dataset as its authors ship it -> a canonical dataset.

``python -m figure_ml.data.convert source=NAME input=DIR [split=all|train|val|test]
out_dir=D`` — see :class:`figure_ml.config.ConvertConfig` and ``data/README.md``.

One module per format family (:mod:`.faces`, :mod:`.text_json`, :mod:`.text_txt`,
:mod:`.generic`) yields :class:`~.base.Record` objects; :mod:`.write` reads the images, clips
boxes and writes the dataset; :class:`~.base.Report` counts what was skipped and why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from figure_ml.config import ConvertConfig
from figure_ml.data.canonical import CanonicalDataset
from figure_ml.data.convert import faces, generic, text_json, text_txt
from figure_ml.data.convert.base import Record, Report, carve, label_map
from figure_ml.data.convert.write import Target, recorded_settings, write_dataset
from figure_ml.data.licences import source_licence
from figure_ml.data.schema import SPLITS
from figure_ml.errors import ConfigError, DatasetError

log = logging.getLogger("figure_ml.data.convert")

__all__ = ["SOURCES", "ConversionResult", "Report", "convert"]


@dataclass(frozen=True)
class Source:
    """How one ``source=`` name converts."""

    #: the dataset's own splits (canonical names); val/test missing -> carved from train
    splits: tuple[str, ...]
    #: default label -> PHI class map (empty: the config must give one)
    labels: dict[str, str]
    read: Callable[[Path, tuple[str, ...], ConvertConfig, dict, Report], Iterator[Record]]


def _one(labels: dict, name: str) -> int | None:
    return labels.get(name)


SOURCES: dict[str, Source] = {
    "wider_face": Source(
        ("train", "val"),
        {"face": "face"},
        lambda r, s, c, lab, rep: faces.wider_face(r, s, _one(lab, "face"), rep),
    ),
    "fddb": Source(
        ("train", "val", "test"),
        {"face": "face"},
        lambda r, s, c, lab, rep: faces.fddb(r, c.fddb_folds, s, _one(lab, "face"), rep),
    ),
    "textocr": Source(
        ("train", "val"),
        {"text": "text"},
        lambda r, s, c, lab, rep: text_json.textocr(r, s, _one(lab, "text"), c.keep_illegible, rep),
    ),
    "coco_text": Source(
        ("train", "val"),
        {"text": "text"},
        lambda r, s, c, lab, rep: text_json.coco_text(
            r, s, _one(lab, "text"), c.keep_illegible, rep
        ),
    ),
    "icdar2015": Source(
        ("train", "test"),
        {"text": "text"},
        lambda r, s, c, lab, rep: text_txt.icdar2015(
            r, s, _one(lab, "text"), c.keep_illegible, rep
        ),
    ),
    "total_text": Source(
        ("train", "test"),
        {"text": "text"},
        lambda r, s, c, lab, rep: text_txt.total_text(
            r, s, _one(lab, "text"), c.keep_illegible, rep
        ),
    ),
    # generic formats: the splits depend on the folder (see _val_fraction)
    "coco": Source(
        ("train",), {}, lambda r, s, c, lab, rep: generic.coco(r, s, c.files, c.images, lab, rep)
    ),
    "voc": Source(("train",), {}, lambda r, s, c, lab, rep: generic.voc(r, s, c.files, lab, rep)),
    "yolo": Source(("train",), {}, lambda r, s, c, lab, rep: generic.yolo(r, s, c.files, lab, rep)),
}

GENERIC = ("coco", "voc", "yolo")


@dataclass
class ConversionResult:
    dataset: CanonicalDataset
    report: Report


def _val_fraction(cfg: ConvertConfig, src: Source, records: list[Record] | None) -> float:
    """Share of train carved into val: the configured one, else 0.1 where the source has no
    val split of its own (for generic formats: when none of the records is val)."""
    if cfg.val_fraction is not None:
        return cfg.val_fraction
    if records is not None:
        return 0.0 if any(r.split == "val" for r in records) else 0.1
    return 0.0 if "val" in src.splits else 0.1


def convert(cfg: ConvertConfig) -> ConversionResult:
    """Convert ``cfg.input`` (dataset ``cfg.source``) into a canonical dataset at
    ``cfg.out_dir``; the report says what was written and skipped."""
    cfg.validate()
    if cfg.source not in SOURCES:
        raise ConfigError(f"source: unknown source {cfg.source!r}; known: {sorted(SOURCES)}")
    src = SOURCES[cfg.source]
    root = Path(cfg.input)
    if not root.is_dir():
        raise DatasetError(f"input folder {root} does not exist")
    name = cfg.source_name or cfg.source
    if cfg.source_name and cfg.source not in GENERIC:
        raise ConfigError("source_name is only for generic formats (coco, voc, yolo)")
    licence = source_licence(cfg.source, cfg.licence)
    labels = label_map(src.labels, cfg.classes, required=cfg.source in GENERIC, source=cfg.source)
    wanted = SPLITS if cfg.split == "all" else (cfg.split,)
    report = Report()
    # carved val/test rows come out of the source's train split, so train is read for them;
    # generic folders are read whole (whether they have a val split decides the default)
    generic_default = cfg.source in GENERIC and cfg.val_fraction is None
    val_f = _val_fraction(cfg, src, None)
    carving = ("val" in wanted and val_f) or ("test" in wanted and cfg.test_fraction)
    read = tuple(
        s for s in SPLITS if s in wanted or (s == "train" and (carving or generic_default))
    )
    records: Iterable[Record] = src.read(root, read, cfg, labels, report)
    if generic_default:
        records = list(records)
        val_f = _val_fraction(cfg, src, records)
    records = carve(records, val_f, cfg.test_fraction)
    settings = {**recorded_settings(cfg), "val_fraction": val_f}
    target = Target.from_config(
        cfg, source=name, licence=licence, splits=tuple(wanted), settings=settings
    )
    return ConversionResult(write_dataset(records, target, report), report)
