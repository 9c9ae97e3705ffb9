"""The run folder: where it goes, and the two files that make it self-describing.

Layout (ultralytics writes into the same folder)::

    <run_dir>/config.yaml    the resolved TrainConfig
    <run_dir>/run.json       status, MLflow run id + tracking URI, dataset digest, git commit,
                             package versions, host, final metrics
    <run_dir>/model.yaml     the model definition as trained
    <run_dir>/args.yaml      ultralytics' own record of its arguments
    <run_dir>/results.csv    one row per epoch (losses, precision, recall, mAP50, mAP50-95)
    <run_dir>/weights/{best,last}.pt
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from omegaconf import OmegaConf

from figure_ml import atomic
from figure_ml.config import TrainConfig, to_typed
from figure_ml.errors import BadInputError

CONFIG_FILE = "config.yaml"
RUN_FILE = "run.json"


def new_run_dir(cfg: TrainConfig) -> Path:
    """``cfg.run_dir``, or ``<runs_root>/<UTC timestamp>-<experiment>`` made unique.

    Only the path is chosen here; the folder is created once every check has passed.
    """
    if cfg.run_dir:
        return Path(cfg.run_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = Path(cfg.runs_root) / f"{stamp}-{cfg.preset}"
    path, n = base, 1
    while path.exists():  # two jobs of one multirun can start within a second
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def ensure_free(run_dir: Path) -> None:
    """:class:`FileExistsError` when ``run_dir`` already holds a run (never overwritten)."""
    if (run_dir / RUN_FILE).exists() or (run_dir / "weights").exists():
        raise FileExistsError(
            f"run_dir {run_dir} already holds a run; choose another run_dir "
            f"or continue it with resume={run_dir}"
        )


def claim(run_dir: Path) -> None:
    """Create ``run_dir`` after checking it holds no run."""
    ensure_free(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)


def write_config(run_dir: Path, cfg: TrainConfig) -> Path:
    return atomic.write_text(run_dir / CONFIG_FILE, OmegaConf.to_yaml(OmegaConf.structured(cfg)))


def read_config(run_dir: Path) -> TrainConfig:
    p = run_dir / CONFIG_FILE
    if not p.is_file():
        raise BadInputError(f"{run_dir} is not a figure_ml run folder (no {CONFIG_FILE})")
    return to_typed(OmegaConf.to_container(OmegaConf.load(p)), TrainConfig)


def public_uri(uri: str | None) -> str | None:
    """``uri`` without user:password, fit to be written down."""
    if not uri:
        return uri
    parts = urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit(parts._replace(netloc=netloc))
    return uri


def write_run_info(run_dir: Path, info: dict[str, Any]) -> Path:
    # final metrics of a class without data may be NaN: recorded as null (strict JSON)
    return atomic.write_json(run_dir / RUN_FILE, atomic.jsonable(info), sort_keys=True)


def read_run_info(run_dir: Path) -> dict[str, Any]:
    p = run_dir / RUN_FILE
    try:
        return dict(json.loads(p.read_text()))
    except FileNotFoundError:
        raise BadInputError(f"{run_dir} is not a figure_ml run folder (no {RUN_FILE})") from None
    except ValueError as exc:
        raise BadInputError(f"{p}: not valid JSON ({exc})") from exc


def config_params(cfg: TrainConfig) -> dict[str, Any]:
    """The resolved config as a nested dict (flattened into MLflow params by the tracker)."""
    return asdict(cfg)
