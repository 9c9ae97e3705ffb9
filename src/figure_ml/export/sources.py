"""Where an export starts: a training run folder, or a weights file plus a dataset."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from figure_ml.config import ExportConfig
from figure_ml.data.canonical import is_canonical, open_dataset
from figure_ml.errors import BadInputError, DatasetError
from figure_ml.models import resolve_weights


@dataclass
class ExportSource:
    weights: Path
    data_path: str
    imgsz: int
    mlflow_run_id: str | None = None
    train_digest: str | None = None
    model_name: str | None = None
    licences: dict[str, str] = field(default_factory=dict)
    #: how the dataset at ``data_path`` is read: canonical, yolo or auto (``data.format``)
    data_format: str = "auto"


def resolve_source(cfg: ExportConfig) -> ExportSource:
    from figure_ml import yolo

    run_id = digest = model_name = None
    if cfg.run_dir:
        run = Path(cfg.run_dir)
        weights = run / "weights" / "best.pt"
        if not weights.is_file():
            raise BadInputError(f"{run}: no weights/best.pt (is it a finished training run?)")
        info_path, cfg_path = run / "run.json", run / "config.yaml"
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        train_cfg = yaml.safe_load(cfg_path.read_text()) if cfg_path.is_file() else {}
        run_id, digest = info.get("mlflow_run_id"), info.get("dataset_digest")
        data_path = cfg.data.path or (train_cfg.get("data") or {}).get("path")
        model_name = (train_cfg.get("model") or {}).get("name")
        imgsz = cfg.imgsz or (train_cfg.get("trainer") or {}).get("imgsz")
    else:
        weights = Path(str(resolve_weights(cfg.weights)))
        if not weights.is_file():
            raise BadInputError(f"weights {weights}: no such file")
        data_path, imgsz = cfg.data.path, cfg.imgsz
    if not data_path or not Path(data_path).exists():
        raise DatasetError(f"calibration/evaluation data {data_path!r} does not exist")
    model = yolo.load_detector(weights)  # refuses non-detection models and other class lists
    imgsz = int(imgsz or yolo.trained_imgsz(model) or 640)
    licences: dict[str, str] = {}
    if cfg.data.format != "yolo" and is_canonical(data_path):
        ds = open_dataset(data_path)
        licences = ds.licences
        digest = digest or ds.digest
    return ExportSource(
        weights, str(data_path), imgsz, run_id, digest, model_name, licences, cfg.data.format
    )
