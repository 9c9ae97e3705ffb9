"""The training data of a run: the canonical dataset (generated if missing and configured so),
its YOLO layout (materialised once per dataset digest) and the checks that run before training.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from figure_ml.config import SynthConfig, TrainDataConfig, to_typed
from figure_ml.data.canonical import CanonicalDataset, open_dataset
from figure_ml.data.yolo_folder import YoloFolder, check_yolo_folder
from figure_ml.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

#: the splits training reads; test stays untouched for evaluation
TRAIN_SPLITS: tuple[str, ...] = ("train", "val")


@dataclass
class PreparedData:
    """A dataset ready for ultralytics."""

    dataset: CanonicalDataset
    data_yaml: Path
    folder: YoloFolder


def open_or_generate(cfg: TrainDataConfig) -> CanonicalDataset:
    """Open the canonical dataset at ``cfg.path``; generate it first when it is missing and is
    the synthetic dataset the config owns (same code as ``python -m figure_ml.data.synth``).

    An owned dataset that exists is checked against ``data.generate`` the way the synth CLI
    checks its ``out_dir``: made with the same config, it is reused; made with another (a
    changed seed or size), it is refused, where it used to be trained on without a word."""
    path = Path(cfg.path)
    owned = cfg.generate is not None and Path(str(cfg.generate.get("out_dir", ""))) == path
    if owned:
        from figure_ml.data.synth import generate

        synth = to_typed(dict(cfg.generate or {}), SynthConfig)
        if not path.exists():
            log.info(
                "dataset %s is missing: generating it (%d/%d/%d images)",
                path,
                synth.n_train,
                synth.n_val,
                synth.n_test,
            )
        try:
            ds = generate(synth)  # reuses a dataset made with this config
        except ConfigError as exc:
            raise ConfigError(
                f"data.path is data.generate.out_dir: {exc} (in training: data.generate."
                "overwrite=true generates it again; data.generate=null trains on it as it is)"
            ) from exc
        return _with_train_splits(ds, path)
    return _with_train_splits(open_dataset(path), path)


def _with_train_splits(ds: CanonicalDataset, path: Path) -> CanonicalDataset:
    missing = [s for s in TRAIN_SPLITS if ds.num_samples(s) == 0]
    if missing:
        raise DatasetError(
            f"dataset {path} has no samples in split(s) {missing}; training "
            f"needs {list(TRAIN_SPLITS)}"
        )
    return ds


def materialise(ds: CanonicalDataset, cache_dir: str | Path) -> Path:
    """``data.yaml`` of the YOLO layout of ``ds`` under ``cache_dir/<digest>``, written once.

    The cache is keyed by content digest, so a changed dataset never reuses stale files, and
    export_yolo builds it aside and renames it into place, so a crash leaves nothing half-made.
    """
    from figure_ml.data.export_yolo import MARKER, export_yolo

    out = Path(cache_dir) / ds.digest[:24]
    data_yaml = out / "data.yaml"
    if data_yaml.is_file() and (out / MARKER).is_file():
        marker = json.loads((out / MARKER).read_text())
        if marker.get("digest") == ds.digest:
            return data_yaml
    splits = tuple(s for s in ("train", "val", "test") if ds.num_samples(s))
    return export_yolo(ds, out, splits, overwrite=out.exists())


def prepare(cfg: TrainDataConfig) -> PreparedData:
    """Everything up to a checked YOLO folder; any problem raises before training starts."""
    ds = open_or_generate(cfg)
    data_yaml = materialise(ds, cfg.cache_dir)
    folder = check_yolo_folder(data_yaml, TRAIN_SPLITS)
    log.info(
        "dataset %s (digest %s): %s",
        ds.path,
        ds.digest[:12],
        {s: len(folder.splits[s].images) for s in TRAIN_SPLITS},
    )
    return PreparedData(ds, data_yaml, folder)
