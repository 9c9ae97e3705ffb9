"""Training with ultralytics: the argument allowlist, model building and ``train_detector``.

Everything figure_ml sets itself (data, project, name, seed, plots, resume) stays out of the
allowlist; ultralytics' epoch events become :class:`EpochReport` s for the caller.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from figure_ml.classes import NUM_CLASSES, check_names
from figure_ml.errors import BadInputError, ConfigError
from figure_ml.yolo.runtime import ultralytics_module, version

#: one logger for the whole adapter, whichever of its modules speaks
log = logging.getLogger("figure_ml.yolo")

#: ultralytics training arguments a config may set. Everything figure_ml sets itself (data,
#: project, name, seed, plots, resume, ...) is deliberately absent.
TRAIN_ARGS: frozenset[str] = frozenset(
    {
        # schedule and batch
        "epochs", "imgsz", "batch", "patience", "time", "fraction", "rect", "cache",
        "device", "workers", "amp", "deterministic", "val", "save_period", "freeze",
        "close_mosaic", "multi_scale", "nbs",
        # optimiser
        "optimizer", "lr0", "lrf", "momentum", "weight_decay", "warmup_epochs",
        "warmup_momentum", "warmup_bias_lr", "cos_lr",
        # loss gains; cls_pw weighs each class's classification loss by its inverse training
        # frequency to that power (0: off; in ultralytics since before the 8.4.60 we require)
        "box", "cls", "dfl", "cls_pw",
        # augmentation
        "hsv_h", "hsv_s", "hsv_v", "degrees", "translate", "scale", "shear", "perspective",
        "flipud", "fliplr", "mosaic", "mixup", "cutmix", "copy_paste",
        # validation during training
        "conf", "iou", "max_det",
        # image plots (training mosaics, val predictions): gated, see train_detector(plots=)
        "plots",
    }
)  # fmt: skip


def check_train_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``args`` as a dict if every key is allowlisted; :class:`ConfigError` otherwise."""
    unknown = sorted(set(args) - TRAIN_ARGS)
    if unknown:
        raise ConfigError(
            f"trainer.{unknown[0]} is not an allowed ultralytics training argument "
            f"(allowed: {', '.join(sorted(TRAIN_ARGS))})"
        )
    out = dict(args)
    if isinstance(out.get("device"), list | tuple):  # trainer.device=[0,1] from the command line
        out["device"] = ",".join(str(d) for d in out["device"])
    return out


def resolve_model_yaml(spec: str) -> dict[str, Any]:
    """The model definition of ``spec``: a local YAML file or a YAML shipped with ultralytics.

    Scale-suffixed names (``yolo11n.yaml``) resolve to their family file as ultralytics does;
    nothing is downloaded. :class:`ConfigError` when neither exists.
    """
    p = Path(spec)
    if p.parent != Path(".") and not p.is_file():
        raise ConfigError(f"model.yaml: file {spec} does not exist")
    ultralytics_module()
    from ultralytics.nn.tasks import yaml_model_load

    try:
        return dict(yaml_model_load(str(p)))
    except (FileNotFoundError, OSError) as exc:
        raise ConfigError(
            f"model.yaml: {spec!r} is neither a local file nor a model YAML shipped with "
            f"ultralytics {version()}"
        ) from exc


@dataclass
class EpochReport:
    """What one validated epoch produced, in figure_ml's metric names."""

    epoch: int  # 1-based
    metrics: dict[str, float] = field(default_factory=dict)
    final: bool = False  # the re-validation of best.pt after the last epoch
    #: wall time of the training pass (data loading, augmentation, forward, backward), seconds
    train_seconds: float = 0.0
    #: images in that pass
    train_images: int = 0
    #: the run's planned epochs as of this one (ultralytics re-plans it when ``time`` is set)
    epochs: int = 0


@dataclass
class TrainOutcome:
    """Files and final metrics of a finished ultralytics run."""

    save_dir: Path
    best: Path
    last: Path
    results_csv: Path
    epochs: int
    final_metrics: dict[str, float]
    #: the model definition as trained (scale and class count filled in)
    model_yaml: dict[str, Any]


class Interrupted(Exception):  # not an "Error": it stops a run on purpose
    """Raised from a callback to stop training the way Ctrl-C would (last.pt stays resumable)."""


def metric_name(key: str) -> str:
    """``metrics/mAP50-95(B)`` -> ``val/mAP50-95``: MLflow rejects parentheses in metric keys."""
    key = key.replace("(B)", "")
    if key.startswith("metrics/"):
        key = "val/" + key.removeprefix("metrics/")
    return key


def _epoch_metrics(trainer: Any, names: Mapping[int, str]) -> dict[str, float]:
    """Losses, lr, overall and per-class validation metrics of the trainer's current state."""
    out: dict[str, float] = {}
    if trainer.tloss is not None:
        out.update(trainer.label_loss_items(trainer.tloss, prefix="train"))
    out.update(getattr(trainer, "lr", {}) or {})
    for k, v in (trainer.metrics or {}).items():
        out[metric_name(k)] = v
    m = getattr(trainer.validator, "metrics", None)
    idx = getattr(m, "ap_class_index", None)  # a list or an ndarray, depending on the version
    index = [] if idx is None else [int(c) for c in idx]
    for i, c in enumerate(index):
        p, r, ap50, ap = (float(x) for x in m.class_result(i))
        name = names.get(int(c), str(c))
        out[f"val/precision/{name}"], out[f"val/recall/{name}"] = p, r
        out[f"val/mAP50/{name}"], out[f"val/mAP50-95/{name}"] = ap50, ap
    return {k: float(v) for k, v in out.items()}


def detection_model(model_yaml: str | Mapping[str, Any], nc: int = NUM_CLASSES) -> Any:
    """A bare ultralytics ``DetectionModel`` (torch module) from a model YAML at ``nc`` classes,
    randomly initialised: what conversions fill and what ultralytics' trainer rebuilds."""
    ultralytics_module()
    from ultralytics.nn.tasks import DetectionModel

    cfg = model_yaml if isinstance(model_yaml, str) else dict(model_yaml)
    return DetectionModel(cfg, nc=nc, verbose=False)


def conv_blocks(net: Any) -> dict[str, Any]:
    """ultralytics' ``Conv`` blocks (convolution, BatchNorm, activation) of ``net`` by name."""
    ultralytics_module()
    from ultralytics.nn.modules import Conv

    return {name: m for name, m in net.named_modules() if isinstance(m, Conv)}


def build_model(model_yaml: str, weights: str | None = None) -> Any:
    """A YOLO model from its YAML at figure_ml's class count, optionally loaded with *local*
    weights (never downloaded).

    Why the class count matters: ultralytics builds a YAML at the YAML's ``nc`` (80), and its
    trainer later rebuilds the model at the dataset's ``nc`` and copies over only tensors of equal
    shape. Loaded into an 80-class model, a checkpoint's class-logit convolutions (one per
    stride) were silently dropped, and every fine-tune restarted them from random. Built at
    :data:`NUM_CLASSES` they transfer; a checkpoint of other classes (COCO) still gives its
    backbone, neck and box branch. A checkpoint with :data:`NUM_CLASSES` classes of other names
    is refused: its class head would be transferred under the wrong names.
    """
    ul = ultralytics_module()
    resolve_model_yaml(model_yaml)  # a clear error before ultralytics tries anything else
    model = ul.YOLO(model_yaml, task="detect")
    if not weights:
        return model
    wp = Path(weights)
    if not wp.is_file():
        raise BadInputError(
            f"model.weights: {weights} does not exist (weights are never "
            f"downloaded; give a local .pt file)"
        )
    at_our_nc = detection_model(dict(model.model.yaml, nc=NUM_CLASSES))
    at_our_nc.args, at_our_nc.task = model.model.args, model.model.task
    model.model = at_our_nc
    try:
        model.load(str(wp))
    except Exception as exc:
        raise BadInputError(f"model.weights: cannot load {weights}: {exc}") from exc
    # what ultralytics loaded: the EMA when there is one (an unfinished last.pt has model None)
    loaded = (model.ckpt.get("ema") or model.ckpt.get("model")) if model.ckpt else None
    names = getattr(loaded, "names", None)
    if names is not None and len(names) == NUM_CLASSES:
        try:
            check_names(names, where=f"model.weights {weights}")
        except ValueError as exc:
            raise BadInputError(str(exc)) from exc
    return model


class _EpochHooks:
    """ultralytics callbacks that turn its epoch events into :class:`EpochReport` s.

    ``on_fit_epoch_end`` fires after every validated epoch and once more from ``final_eval()``
    (best.pt re-validated, no training epoch before it): the flag set by
    ``on_train_epoch_end`` tells the two apart.
    """

    def __init__(
        self,
        on_epoch: Callable[[EpochReport], None] | None,
        interrupt_after_epochs: int | None,
    ) -> None:
        self.on_epoch = on_epoch
        self.interrupt_after_epochs = interrupt_after_epochs
        #: class id -> name, as the trainer's dataset gives them
        self.names: dict[int, str] = {}
        self._epoch_ended = False
        self._t0 = 0.0
        self._dt = 0.0

    def attach(self, model: Any) -> None:
        model.add_callback("on_train_epoch_start", self.train_epoch_start)
        model.add_callback("on_train_batch_end", self.train_batch_end)
        model.add_callback("on_train_epoch_end", self.train_epoch_end)
        model.add_callback("on_fit_epoch_end", self.fit_epoch_end)

    def train_epoch_start(self, trainer: Any) -> None:
        self._t0 = time.perf_counter()
        # a per-batch bar with rate and ETA: ultralytics' own bar is off with its logger
        # quiet, and an epoch on a CPU takes minutes
        self._bar = tqdm(
            total=len(getattr(trainer, "train_loader", ()) or ()),
            desc=f"epoch {trainer.epoch + 1}/{trainer.epochs}",
            unit="batch",
            leave=False,
        )

    def train_batch_end(self, trainer: Any) -> None:
        bar = getattr(self, "_bar", None)
        if bar is None:
            return
        bar.update(1)
        loss = getattr(trainer, "tloss", None)
        if loss is not None:
            with contextlib.suppress(TypeError, ValueError, AttributeError):
                bar.set_postfix(loss=f"{float(loss.sum()):.3f}", refresh=False)

    def train_epoch_end(self, trainer: Any) -> None:
        self._epoch_ended = True
        self._dt = time.perf_counter() - self._t0
        bar = getattr(self, "_bar", None)
        if bar is not None:
            bar.close()
            self._bar = None

    def fit_epoch_end(self, trainer: Any) -> None:
        self.names.update({int(k): v for k, v in (trainer.data or {}).get("names", {}).items()})
        final = not self._epoch_ended  # final_eval(): that's best.pt's score
        self._epoch_ended = False
        report = EpochReport(
            trainer.epoch + (0 if final else 1),
            _epoch_metrics(trainer, self.names),
            final=final,
            train_seconds=0.0 if final else self._dt,
            train_images=0 if final else len(getattr(trainer.train_loader, "dataset", ())),
            epochs=int(getattr(trainer, "epochs", 0) or 0),
        )
        if self.on_epoch is not None:
            self.on_epoch(report)
        limit = self.interrupt_after_epochs
        if not final and limit and report.epoch >= limit:
            raise Interrupted(f"interrupted after epoch {report.epoch} (debug)")


def _image_plots(train_args: dict[str, Any], image_plots: bool) -> bool:
    """Pop ``plots`` from ``train_args``: honoured only when the caller allows image plots."""
    requested = bool(train_args.pop("plots", False))
    if requested and not image_plots:
        log.info("ultralytics plots stay off: they draw dataset images (synthetic data + opt-in)")
    return requested and image_plots


def _quiet_and_fast(verbose: bool) -> None:
    """ultralytics' console output and the CPU's handling of subnormal floats, for training."""
    import torch
    from ultralytics.utils import LOGGER

    LOGGER.setLevel(logging.INFO if verbose else logging.WARNING)
    # Subnormal floats (tiny optimiser moments late in training) make x86 CPUs many times
    # slower; flushing them to zero costs no accuracy that matters here.
    torch.set_flush_denormal(True)


def _resume_kwargs(
    common: dict[str, Any], train_args: Mapping[str, Any], resume_from: Path
) -> dict[str, Any]:
    """Only arguments ultralytics lets a resume change; the rest comes from the checkpoint."""
    kw = {**common, "resume": str(resume_from)}
    for k in ("device", "batch", "cache", "patience", "val"):
        if k in train_args:
            kw[k] = train_args[k]
    return kw


def _new_run_kwargs(
    common: dict[str, Any],
    train_args: Mapping[str, Any],
    *,
    save_dir: Path,
    seed: int,
    pretrained: bool,
) -> dict[str, Any]:
    """Every argument of a new run: the config's, then those figure_ml owns."""
    return {
        **common,
        **train_args,
        "project": str(save_dir.parent.resolve()),
        "name": save_dir.name,
        "exist_ok": True,
        "seed": seed,
        "deterministic": train_args.get("deterministic", True),
        "pretrained": pretrained,
    }


def _outcome(trainer: Any, names: Mapping[int, str]) -> TrainOutcome:
    out_dir = Path(trainer.save_dir)
    return TrainOutcome(
        save_dir=out_dir,
        best=Path(trainer.best),
        last=Path(trainer.last),
        results_csv=out_dir / "results.csv",
        epochs=int(trainer.epochs),
        final_metrics=_epoch_metrics(trainer, names) if trainer.metrics else {},
        model_yaml=dict(getattr(trainer.model, "yaml", {}) or {}),
    )


def train_detector(
    *,
    model_yaml: str,
    data_yaml: Path,
    save_dir: Path,
    args: Mapping[str, Any],
    seed: int,
    weights: str | None = None,
    resume_from: Path | None = None,
    image_plots: bool = False,
    verbose: bool = False,
    on_epoch: Callable[[EpochReport], None] | None = None,
    interrupt_after_epochs: int | None = None,
) -> TrainOutcome:
    """Train a detector with ultralytics into ``save_dir``.

    ``image_plots`` must be decided by the caller (synthetic data AND opt-in); ``args['plots']``
    is only honoured when it is true. ``on_epoch`` sees every validated epoch and the final
    re-validation; its exceptions are the caller's to contain. ``resume_from`` is a ``last.pt``.
    """
    ul = ultralytics_module()
    train_args = check_train_args(args)
    plots = _image_plots(train_args, image_plots)
    _quiet_and_fast(verbose)
    hooks = _EpochHooks(on_epoch, interrupt_after_epochs)
    common = {
        "data": str(data_yaml),
        "plots": plots,
        "verbose": verbose,
        "workers": train_args.pop("workers", 0),
    }
    if resume_from is not None:
        model = ul.YOLO(str(resume_from), task="detect")
        kw = _resume_kwargs(common, train_args, resume_from)
    else:
        model = build_model(model_yaml, weights)
        kw = _new_run_kwargs(
            common, train_args, save_dir=save_dir, seed=seed, pretrained=bool(weights)
        )
    hooks.attach(model)
    model.train(**kw)
    return _outcome(model.trainer, hooks.names)
