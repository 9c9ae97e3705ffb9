"""Materialise a canonical dataset as a YOLO folder that ultralytics trains on.

``out/data.yaml`` (absolute ``path``, ``train``/``val``/``test`` image folders, ``names`` in
:mod:`figure_ml.classes` order), ``out/images/<split>/<id>.<ext>`` (the stored bytes, not
re-encoded), ``out/labels/<split>/<id>.txt`` (``class cx cy w h`` normalised to [0, 1]; an
empty file for an image without PHI) and ``out/figure_ml.json`` (source dataset digest and
whether it is synthetic, so training can apply the PHI logging rules).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import yaml
from tqdm import tqdm

from figure_ml import atomic
from figure_ml.classes import names_dict
from figure_ml.data.canonical import CanonicalDataset, open_dataset
from figure_ml.errors import ConfigError

log = logging.getLogger(__name__)

MARKER = "figure_ml.json"


def _ext(image: bytes) -> str:
    if image[:3] == b"\xff\xd8\xff":
        return "jpg"
    if image[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        return "webp"
    return "bin"


def yolo_label_lines(objects: Sequence[dict], width: int, height: int) -> list[str]:
    """``class cx cy w h`` lines (normalised, 6 decimals) of canonical objects."""
    lines = []
    for o in objects:
        x0, y0, x1, y1 = o["bbox_xyxy"]
        cx, cy = (x0 + x1) / 2 / width, (y0 + y1) / 2 / height
        w, h = (x1 - x0) / width, (y1 - y0) / height
        lines.append(f"{o['category']} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return lines


def export_yolo(
    dataset: str | Path | CanonicalDataset,
    out_dir: str | Path,
    splits: Sequence[str] | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write the YOLO layout of ``dataset`` to ``out_dir``; returns ``out_dir/data.yaml``.

    ``splits``: the splits to write; ``None`` writes every split the dataset has (an
    evaluation set with only ``val`` gives a layout with only ``val``). Naming a split the
    dataset lacks is a :class:`ConfigError`. The folder is built aside and renamed into place,
    so a crash leaves no half dataset.
    """
    ds = dataset if isinstance(dataset, CanonicalDataset) else open_dataset(dataset)
    out = Path(out_dir)
    splits = tuple(ds.splits) if splits is None else tuple(splits)
    if not splits:
        raise ConfigError(f"dataset {ds.path} has no split to export")
    missing = [s for s in splits if s not in ds.splits]
    if missing:
        raise ConfigError(f"splits {missing} not in dataset {ds.path} (has {list(ds.splits)})")
    if out.exists() and not overwrite:
        raise ConfigError(f"out_dir {out} exists; pass overwrite=true to replace it")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ConfigError(f"out_dir {out} is not a YOLO export of figure_ml; refusing to replace")
    with atomic.staging_dir(out, overwrite=overwrite, private=True) as tmp:
        for split in splits:
            (tmp / "images" / split).mkdir(parents=True)
            (tmp / "labels" / split).mkdir(parents=True)
            total = ds.num_samples(split)
            for s in tqdm(ds.iter_samples(split), total=total, desc=f"yolo {split}", unit="img"):
                stem = s["id"]
                (tmp / "images" / split / f"{stem}.{_ext(s['image'])}").write_bytes(s["image"])
                lines = yolo_label_lines(s["objects"], s["width"], s["height"])
                (tmp / "labels" / split / f"{stem}.txt").write_text(
                    "".join(f"{ln}\n" for ln in lines)
                )
        data = {
            "path": str(out.resolve()),
            **{s: f"images/{s}" for s in splits},
            "names": names_dict(),
            "nc": len(names_dict()),
        }
        (tmp / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        marker = {"dataset": str(ds.path), "digest": ds.digest, "synthetic": ds.is_synthetic}
        atomic.write_json(tmp / MARKER, marker)
    log.info("YOLO layout of %s written to %s", ds.path, out)
    return out / "data.yaml"


def main_export(cfg) -> Path:  # cfg: figure_ml.config.ExportYoloConfig
    """Plain function behind ``python -m figure_ml.data.export_yolo``."""
    return export_yolo(cfg.dataset, cfg.out_dir, cfg.splits, overwrite=cfg.overwrite)


if __name__ == "__main__":
    import hydra
    from omegaconf import DictConfig

    from figure_ml.cli import CONFIG_DIR, exit_with, hydra_usage_errors, run_main
    from figure_ml.config import ExportYoloConfig, to_typed

    @hydra.main(config_path=str(CONFIG_DIR), config_name="export_yolo", version_base="1.3")
    def _main(cfg: DictConfig) -> None:
        def job() -> None:
            print(main_export(to_typed(cfg, ExportYoloConfig, drop=("paths",))))

        exit_with(run_main(job))

    hydra_usage_errors(_main)
