"""``train(cfg) -> TrainResult``: one tracked YOLO training run (new or resumed).

Order matters: every check that can fail on user input (config values, model YAML, weights,
dataset, YOLO files, tracking server) runs before the run folder is created, so a bad input
leaves nothing half-written. Once training starts, a tracker failure only costs tracking.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from figure_ml import atomic, provenance, yolo
from figure_ml.classes import CLASS_NAMES
from figure_ml.config import TrainConfig
from figure_ml.errors import BadInputError, DatasetError, FigureMLError
from figure_ml.manifest import sha256_file
from figure_ml.models import CONVERTED, SHIPPED, resolve_weights
from figure_ml.tracking import IMAGE_SUFFIXES, Tracker, image_policy, open_tracker, resolve_uri
from figure_ml.train import rundir
from figure_ml.train.data import PreparedData, prepare
from figure_ml.train.metrics import EpochLogger, log_results_csv

log = logging.getLogger(__name__)


class RunInterrupted(FigureMLError):
    """Training stopped before its last epoch; the run folder can be resumed."""


@dataclass
class TrainResult:
    """What a finished run produced."""

    run_dir: Path
    best_weights: Path
    run_id: str | None
    dataset_digest: str
    git_commit: str
    epochs: int
    #: metrics of best.pt on the validation split (``val/mAP50/face`` ...)
    metrics: dict[str, float] = field(default_factory=dict)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _check_inputs(cfg: TrainConfig) -> str | None:
    """Config checks that need ultralytics or the file system (before the dataset; a converted
    start is converted here on first use).
    Returns the path of the initial weights (a shipped name resolved once, sha256-checked)."""
    yolo.check_train_args(cfg.trainer)
    yolo.resolve_model_yaml(cfg.model.yaml)
    weights = resolve_weights(cfg.model.weights, converted=True)  # shipped: sha256-checked
    if weights and not Path(weights).is_file():
        raise BadInputError(
            f"model.weights: {weights} does not exist (weights are "
            f"never downloaded; give a local .pt file)"
        )
    return weights


def _init_weights(spec: str | None, path: str | None) -> dict[str, Any] | None:
    """What the run started from: a shipped name, a converted start or a path, and the file's
    sha256; a converted start adds where it came from (package, file, sha256, licence), also
    when given as a path to the converted file; a shipped name or another run's
    ``RUN/weights/*.pt`` adds what *that* started from (``parent_run``), so that a chain of
    continuations (``nudenet`` -> run A -> ``reference`` -> run C) keeps its origin."""
    if path is None:
        return None
    out: dict[str, Any] = {
        "spec": spec,
        "sha256": sha256_file(path),
        "shipped": spec in SHIPPED,
        "converted": spec in CONVERTED,
    }
    if spec in CONVERTED:
        from figure_ml.models.nudenet import checkpoint_provenance

        out["source"] = checkpoint_provenance(path)
    elif spec in SHIPPED:
        out["parent_run"] = _shipped_parent(spec)
    elif (source := _converted_source(path)) is not None:
        out |= {"converted": True, "source": source}
    elif (parent := _parent_run(Path(path))) is not None:
        out["parent_run"] = parent
    return out


def _converted_source(path: str) -> dict[str, Any] | None:
    """Where a converted start given by its path (the cached file of ``model.weights=nudenet``)
    came from, else ``None`` (run checkpoints carry no ``figure_ml_init``)."""
    from figure_ml.models.nudenet import checkpoint_provenance

    try:
        return checkpoint_provenance(path)
    except BadInputError:
        return None


def _shipped_parent(name: str) -> dict[str, Any]:
    """``parent_run`` of a shipped checkpoint: its recipe, commit, dataset and own start."""
    from figure_ml.models import shipped_model

    p = shipped_model(name).provenance
    return {
        "shipped": name,
        "experiment": (p.get("recipe") or {}).get("experiment"),
        "git_commit": p.get("git_commit"),
        "dataset_digest": p.get("dataset_digest"),
        "init_weights": p.get("init_weights"),
    }


def _parent_run(weights: Path) -> dict[str, Any] | None:
    """``parent_run`` of ``RUN/weights/*.pt`` beside a ``RUN/run.json``: that run's folder
    name, experiment, commit, dataset and own start. ``None`` for a file outside a run folder,
    or one whose run.json cannot be read (a warning says so: the lineage is then unknown, and
    ship's card says so; the run itself is unaffected). The path is taken as given, not
    resolved: a symlinked ``best.pt`` still names its run folder."""
    weights = weights.absolute()
    run_dir = weights.parent.parent
    if weights.parent.name != "weights" or not (run_dir / rundir.RUN_FILE).is_file():
        return None
    try:
        info = rundir.read_run_info(run_dir)
        keys = ("experiment", "git_commit", "dataset_digest", "init_weights")
        return {"run": run_dir.name, **{k: info.get(k) for k in keys}}
    except (FigureMLError, OSError, TypeError, ValueError, AttributeError) as exc:
        log.warning("lineage of %s unknown: %s: %s", weights, run_dir / rundir.RUN_FILE, exc)
        return None


def _start_tracking(
    cfg: TrainConfig, data: PreparedData, run_dir: Path, resume_run_id: str | None
) -> Tracker:
    policy = image_policy(
        dataset_is_synthetic=data.dataset.is_synthetic, log_images=cfg.tracking.log_images
    )
    name = cfg.tracking.run_name or run_dir.name
    return open_tracker(cfg.tracking, policy, run_name=name, resume_run_id=resume_run_id)


def _describe(tracker: Tracker, cfg: TrainConfig, data: PreparedData) -> None:
    tracker.log_params(rundir.config_params(cfg))
    tags = {
        "mlflow.source.git.commit": provenance.git_commit(),
        "figure_ml.experiment": cfg.preset,
        "figure_ml.dataset.digest": data.dataset.digest,
        "figure_ml.dataset.synthetic": str(data.dataset.is_synthetic),
        **{f"host.{k}": v for k, v in provenance.host_info().items()},
        **{f"version.{k}": v for k, v in provenance.package_versions().items()},
    }
    tracker.set_tags(tags)
    tracker.log_dataset(
        name=Path(data.dataset.path).name,
        path=str(Path(data.dataset.path).resolve()),
        digest=data.dataset.digest,
    )


def _finish(
    tracker: Tracker,
    run_dir: Path,
    info: dict[str, Any],
    outcome: yolo.TrainOutcome,
    epoch_logger: EpochLogger,
) -> None:
    if not epoch_logger.epochs_logged:  # e.g. DDP: callbacks ran in worker processes
        log_results_csv(tracker, outcome.results_csv)
    atomic.write_text(run_dir / "model.yaml", yaml.safe_dump(outcome.model_yaml, sort_keys=False))
    info.update(
        status="finished",
        finished=_now(),
        epochs=outcome.epochs,
        metrics=outcome.final_metrics,
        best_weights=str(outcome.best),
    )
    rundir.write_run_info(run_dir, info)
    for path, kind, sub in (
        (run_dir / rundir.CONFIG_FILE, "config", None),
        (run_dir / "args.yaml", "config", None),
        (outcome.results_csv, "results", None),
        (run_dir / "model.yaml", "model_yaml", None),
        (outcome.best, "weights", "weights"),
        (run_dir / rundir.RUN_FILE, "run_info", None),
    ):
        tracker.log_artifact(path, kind, sub)
    policy = getattr(tracker, "policy", None)
    if policy is not None and policy.images:  # synthetic data whose config opted in
        for img in sorted(run_dir.glob("*")):
            if img.suffix.lower() in IMAGE_SUFFIXES:
                tracker.log_artifact(img, "image", "plots")
    tracker.finish("FINISHED")


def _run(
    cfg: TrainConfig,
    data: PreparedData,
    run_dir: Path,
    tracker: Tracker,
    info: dict[str, Any],
    resume_from: Path | None,
    weights: str | None = None,
) -> TrainResult:
    """Train with the tracker open; close it with the right status whatever happens.
    ``weights``: the initial weights as resolved by :func:`_check_inputs` (unused on resume)."""
    epoch_logger = EpochLogger(tracker, total=int(cfg.trainer.get("epochs", 1)))
    try:
        outcome = yolo.train_detector(
            model_yaml=cfg.model.yaml,
            weights=weights,
            data_yaml=data.data_yaml,
            save_dir=run_dir,
            args=cfg.trainer,
            seed=cfg.seed,
            resume_from=resume_from,
            image_plots=data.dataset.is_synthetic and bool(cfg.trainer.get("plots", False)),
            verbose=cfg.debug.verbose,
            on_epoch=epoch_logger,
            interrupt_after_epochs=cfg.debug.interrupt_after_epochs,
        )
    except (yolo.Interrupted, KeyboardInterrupt) as exc:
        info.update(status="interrupted", epochs_done=epoch_logger.last_epoch)
        rundir.write_run_info(run_dir, info)
        tracker.finish("KILLED")
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise RunInterrupted(f"{exc}; continue with resume={run_dir}") from exc
    except BaseException:
        info.update(status="failed", epochs_done=epoch_logger.last_epoch)
        rundir.write_run_info(run_dir, info)
        tracker.finish("FAILED")
        raise
    _finish(tracker, run_dir, info, outcome, epoch_logger)
    best = {k: v for k, v in outcome.final_metrics.items() if k.startswith("val/")}
    log.info("run %s finished: %s", run_dir, _summary(best))
    return TrainResult(
        run_dir,
        outcome.best,
        tracker.run_id,
        data.dataset.digest,
        info["git_commit"],
        outcome.epochs,
        outcome.final_metrics,
    )


def _summary(metrics: dict[str, float]) -> str:
    keys = ["val/mAP50", "val/mAP50-95", *(f"val/mAP50/{c}" for c in CLASS_NAMES)]
    return ", ".join(
        f"{k.removeprefix('val/')}={metrics[k]:.3f}"
        for k in keys
        if k in metrics and not math.isnan(metrics[k])
    )


def train(cfg: TrainConfig) -> TrainResult:
    """Train (or, with ``cfg.resume``, continue) one run; see the module docstring."""
    if cfg.resume:
        return resume(cfg)
    weights = _check_inputs(cfg)
    data = prepare(cfg.data)
    run_dir = rundir.new_run_dir(cfg)
    rundir.ensure_free(run_dir)
    tracker = _start_tracking(cfg, data, run_dir, None)  # unreachable server: fails here
    try:
        rundir.claim(run_dir)
        rundir.write_config(run_dir, cfg)
        info = {
            "status": "running",
            "started": _now(),
            "experiment": cfg.preset,
            "mlflow_run_id": tracker.run_id,
            "mlflow_experiment_id": tracker.experiment_id,
            "tracking_uri": rundir.public_uri(tracker.uri),
            "dataset_path": str(Path(data.dataset.path).resolve()),
            "dataset_digest": data.dataset.digest,
            "dataset_synthetic": data.dataset.is_synthetic,
            "git_commit": provenance.git_commit(),
            "versions": provenance.package_versions(),
            "host": provenance.host_info(),
            "seed": cfg.seed,
            "init_weights": _init_weights(cfg.model.weights, weights),
        }
        rundir.write_run_info(run_dir, info)
        _describe(tracker, cfg, data)
        tracker.log_artifact(run_dir / rundir.CONFIG_FILE, "config")
    except BaseException:
        tracker.finish("FAILED")
        raise
    return _run(cfg, data, run_dir, tracker, info, None, weights)


def resume(cfg: TrainConfig) -> TrainResult:
    """Continue the run in ``cfg.resume`` from ``weights/last.pt`` into the same MLflow run.

    The recorded config is authoritative (as in ultralytics); only where it is tracked
    (``tracking.uri``, since a server can move between sessions) and ``debug`` come from ``cfg``.
    """
    assert cfg.resume is not None
    run_dir = Path(cfg.resume)
    if not run_dir.is_dir():
        raise BadInputError(f"resume: run folder {run_dir} does not exist")
    info = rundir.read_run_info(run_dir)
    orig = rundir.read_config(run_dir)
    last = run_dir / "weights" / "last.pt"
    if info.get("status") == "finished":
        raise BadInputError(f"resume: run {run_dir} already finished all its epochs")
    if not last.is_file():
        raise BadInputError(f"resume: {last} does not exist; nothing to continue from")
    tracking = orig.tracking
    uri = cfg.tracking.uri or info.get("tracking_uri") or resolve_uri(tracking)
    if orig.tracking.backend != "none":
        tracking = replace(tracking, uri=uri)
    # debug switches belong to this session (a recorded "interrupt" must not fire again)
    orig = replace(orig, tracking=tracking, debug=cfg.debug, run_dir=str(run_dir), resume=None)
    data = prepare(orig.data)
    if data.dataset.digest != info.get("dataset_digest"):
        raise DatasetError(
            f"resume: dataset {orig.data.path} changed since the run started "
            f"(digest {data.dataset.digest[:12]} != {info.get('dataset_digest')!r:.14})"
        )
    tracker = _start_tracking(orig, data, run_dir, info.get("mlflow_run_id"))
    resumes = int(info.get("resumes", 0)) + 1
    info.update(status="running", resumes=resumes, resumed=_now())
    rundir.write_run_info(run_dir, info)
    tracker.set_tags({"figure_ml.resumes": str(resumes)})
    log.info("resuming %s from %s", run_dir, last)
    return _run(orig, data, run_dir, tracker, info, last)
