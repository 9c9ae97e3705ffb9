"""Records -> canonical dataset: read each image, clip its boxes, write shards atomically."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from figure_ml import atomic
from figure_ml.classes import CLASS_NAMES
from figure_ml.config import DatasetWriteConfig
from figure_ml.data.canonical import CanonicalDataset, CanonicalWriter, is_canonical, open_dataset
from figure_ml.data.card import write_card
from figure_ml.data.contact_sheet import write_contact_sheet
from figure_ml.data.convert.base import Box, Record, Report
from figure_ml.data.convert.images import boxes_need_orienting, orient_box, read_image
from figure_ml.data.licences import Licence
from figure_ml.errors import BadInputError, ConfigError, DatasetError
from figure_ml.provenance import git_commit

log = logging.getLogger("figure_ml.data.convert")

CONTACT_SHEET_IMAGES = 16


@dataclass
class Target:
    """Where and how to write one conversion."""

    out_dir: Path
    source: str
    licence: Licence
    splits: tuple[str, ...]
    min_box_side: float
    keep_empty: bool
    limit: int | None
    shard_size: int
    overwrite: bool
    #: the conversion settings recorded in dataset_info.json (no local paths)
    config: dict[str, Any]
    #: the producer named in dataset_info.json and the dataset card
    generator: str = "figure_ml.data.convert"
    #: further dataset_info.json entries (e.g. the teachers that labelled an autolabel set)
    extra_info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls,
        cfg: DatasetWriteConfig,
        *,
        source: str,
        licence: Licence,
        splits: tuple[str, ...],
        settings: dict[str, Any],
        **kw: Any,
    ) -> Target:
        """A target with ``cfg``'s writing options (``out_dir``, keep/skip, limit, shards);
        ``settings`` is what dataset_info.json records of the config (see
        :func:`recorded_settings`)."""
        return cls(
            out_dir=Path(cfg.out_dir),
            source=source,
            licence=licence,
            splits=splits,
            min_box_side=cfg.min_box_side,
            keep_empty=cfg.keep_empty,
            limit=cfg.limit,
            shard_size=cfg.shard_size,
            overwrite=cfg.overwrite,
            config=settings,
            **kw,
        )


def recorded_settings(cfg: DatasetWriteConfig, *private: str) -> dict[str, Any]:
    """``cfg`` as dataset_info.json records it: what was written, not where or how (no input
    or output paths, overwrite, shard size, nor the ``private`` keys)."""
    settings = asdict(cfg)
    for key in ("input", "out_dir", "overwrite", "shard_size", *private):
        settings.pop(key, None)
    return settings


def sample_id(source: str, original_name: str) -> str:
    """Stable id that does not reveal the file name (a hash of source and name)."""
    return f"{source}-{hashlib.sha256(f'{source}/{original_name}'.encode()).hexdigest()[:16]}"


def clip_box(
    box: Box, w: int, h: int, min_side: float, report: Report, where: str
) -> list[float] | None:
    """The box clipped to the image, or None (counted) when nothing usable is left."""
    x0, y0, x1, y1 = box.xyxy
    if not all(math.isfinite(v) for v in box.xyxy):
        report.skip_object("non-finite box", where)
        return None
    if x1 <= x0 or y1 <= y0:
        report.skip_object("empty box (zero or negative size)", where)
        return None
    cx0, cy0, cx1, cy1 = max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)
    if cx1 <= cx0 or cy1 <= cy0:
        report.skip_object("box outside the image", where)
        return None
    if (cx0, cy0, cx1, cy1) != (x0, y0, x1, y1):
        report.note("box clipped to the image")
    if cx1 - cx0 < min_side or cy1 - cy0 < min_side:
        report.skip_object("box smaller than min_box_side", where, quiet=True)
        return None
    return [cx0, cy0, cx1, cy1]


def to_sample(rec: Record, tgt: Target, report: Report) -> dict[str, Any] | None:
    """The canonical sample of ``rec``, or None (counted) when its image is unusable."""
    try:
        img = read_image(rec.image_path, rec.where)
        orient = not rec.normalised and boxes_need_orienting(img, rec.declared_size, rec.where)
    except BadInputError as exc:
        reason = str(exc).removeprefix(f"{rec.where}: ").split(" (")[0]
        report.skip_sample(reason, rec.where)
        return None
    if orient:
        report.note("EXIF orientation applied (boxes moved with it)")
    objects = []
    for box in rec.boxes:
        if rec.normalised:
            x0, y0, x1, y1 = box.xyxy
            w, h = img.width, img.height
            box = Box((x0 * w, y0 * h, x1 * w, y1 * h), box.category, box.attrs)
        elif orient:
            box = Box(
                orient_box(box.xyxy, img.orientation, img.stored_size), box.category, box.attrs
            )
        xyxy = clip_box(box, img.width, img.height, tgt.min_box_side, report, rec.where)
        if xyxy is not None:
            objects.append(
                {"bbox_xyxy": xyxy, "category": box.category, "attrs": json.dumps(box.attrs)}
            )
    if not objects and not tgt.keep_empty:
        report.note("image without PHI boxes left out (keep_empty=false)")
        return None
    return {
        "id": sample_id(tgt.source, rec.original_name),
        "image": img.data,
        "width": img.width,
        "height": img.height,
        "objects": objects,
        "findings": [],
        "meta": {
            "source": tgt.source,
            "licence": tgt.licence.name,
            "split": rec.split,
            "skin_tone": 0,  # public datasets record no skin tone
            "synthetic": False,
            "original_name": rec.original_name,
            "params": "{}",
        },
    }


def _prepare_out(out: Path, overwrite: bool) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(f"out_dir {out} exists and is not a folder")
    if is_canonical(out):
        if not overwrite:
            raise ConfigError(
                f"out_dir {out} already holds a dataset; pass overwrite=true or another out_dir"
            )
        return
    if any(out.iterdir()):
        raise ConfigError(f"out_dir {out} is not empty and holds no dataset; refusing to touch it")
    out.rmdir()  # empty: the staging rename needs the name free


def _append_card(root: Path, tgt: Target, report: Report) -> None:
    """Add the licence terms and the skip summary to the dataset card."""
    lic = tgt.licence
    lines = [
        "## Licence and conversion",
        "",
        f"- licence: {lic.name} (non-commercial: {lic.non_commercial}, no derivatives: "
        f"{lic.no_derivatives}, commercial-safe: {lic.commercial_safe})",
        *([f"- licence note: {lic.note}"] if lic.note else []),
        *([f"- source: {lic.url}"] if lic.url else []),
        "",
        "```",
        report.summary(),
        "```",
        "",
    ]
    card = root / "DATASET_CARD.md"
    atomic.write_text(card, card.read_text() + "\n" + "\n".join(lines))


def write_dataset(records: Iterable[Record], tgt: Target, report: Report) -> CanonicalDataset:
    """Convert ``records`` into a canonical dataset at ``tgt.out_dir`` (all or nothing)."""
    _prepare_out(tgt.out_dir, tgt.overwrite)
    seen: set[str] = set()
    with atomic.staging_dir(tgt.out_dir, overwrite=tgt.overwrite, private=True) as tmp:
        writer = CanonicalWriter(tmp, shard_size=tgt.shard_size)
        preview: list[dict[str, Any]] = []
        for rec in tqdm(records, desc=f"convert {tgt.source}", unit="img"):
            if rec.split not in tgt.splits:
                continue
            if tgt.limit is not None and report.images_written[rec.split] >= tgt.limit:
                continue
            if rec.original_name in seen:
                report.skip_sample("image listed twice", rec.where)
                continue
            seen.add(rec.original_name)
            sample = to_sample(rec, tgt, report)
            if sample is None:
                continue
            writer.add(sample)
            report.images_written[rec.split] += 1
            for o in sample["objects"]:
                report.objects_written[CLASS_NAMES[o["category"]]] += 1
            if len(preview) < CONTACT_SHEET_IMAGES and sample["objects"]:
                preview.append(sample)
        total = sum(writer.counts.values())
        if total == 0:
            raise DatasetError(
                f"{tgt.source}: no image could be converted for split(s) {list(tgt.splits)}; "
                f"skipped: {dict(report.samples_skipped) or 'none found'}"
            )
        info = writer.finish(
            {
                "synthetic": False,
                "sources": {tgt.source: {**tgt.licence.as_info(), "num_samples": total}},
                # rendered by the dataset card's generator section
                "generator": {"name": tgt.generator, "config": tgt.config},
                "conversion": report.as_info(),
                "git_commit": git_commit(),
                **tgt.extra_info,
            }
        )
        write_card(CanonicalDataset(tmp, info))
        _append_card(tmp, tgt, report)
        write_contact_sheet(tmp / "contact_sheet.png", preview)
    log.info("wrote %d images to %s (digest %s)", total, tgt.out_dir, info["digest"][:12])
    return open_dataset(tgt.out_dir)
