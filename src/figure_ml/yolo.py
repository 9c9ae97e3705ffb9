"""The ultralytics adapter: the ONLY module of figure_ml that imports ultralytics.

Why one module: ultralytics reads its settings, phones home, downloads fonts and checker weights
and registers tracker integrations as side effects of import and training. Everything that keeps
it offline, quiet and PHI-safe lives here, and so does every difference between its versions.

- Its settings directory is isolated (``YOLO_CONFIG_DIR``, never the user's home) and its
  settings forced: hub sync, analytics, its own MLflow/ClearML/Comet/DVC/W&B/... callbacks off.
- ``YOLO_OFFLINE``/``YOLO_AUTOINSTALL`` stop online checks, update checks and pip installs; the
  font it would download for plots is provided from matplotlib's bundled fonts; the AMP check,
  which downloads a checker model on GPUs, is answered locally.
- Where ultralytics has no hook, its internals are patched (``PIL.Image.open`` restored, CPU
  thread count, AMP check, fonts). Each patch looks for its target and logs a warning naming
  it when an ultralytics version no longer has it; ``tests/test_yolo.py`` proves each applies.
- Training arguments pass through :data:`TRAIN_ARGS` (an allowlist); anything else is a
  :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from figure_ml.errors import BadInputError, ConfigError

log = logging.getLogger(__name__)

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
        # loss gains
        "box", "cls", "dfl",
        # augmentation
        "hsv_h", "hsv_s", "hsv_v", "degrees", "translate", "scale", "shear", "perspective",
        "flipud", "fliplr", "mosaic", "mixup", "cutmix", "copy_paste",
        # validation during training
        "conf", "iou", "max_det",
        # image plots (training mosaics, val predictions): gated, see train_detector(plots=)
        "plots",
    }
)  # fmt: skip

#: integrations ultralytics would otherwise switch on by itself
_INTEGRATIONS_OFF = ("sync", "clearml", "comet", "dvc", "mlflow", "raytune", "tensorboard", "wandb")

_ultralytics: Any = None  # the imported module, once isolated


def settings_dir() -> Path:
    """Folder of ultralytics' settings, fonts and scratch files (never the user's home).

    ``FIGURE_ML_YOLO_DIR`` overrides; the default is a per-user folder under the temp dir.
    """
    env = os.environ.get("FIGURE_ML_YOLO_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return Path(tempfile.gettempdir()) / f"figure_ml-ultralytics-{os.getuid()}"


def _provide_fonts(cfg_dir: Path) -> bool:
    """Put a local font where ultralytics looks before it would download Arial.

    Dataset checks and plots call ``check_font('Arial.ttf')``, which looks in its settings
    folder first and otherwise makes an HTTP request. Only the glyph shapes of plot labels
    depend on it, so matplotlib's bundled DejaVuSans stands in.
    """
    import matplotlib

    src = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    if not src.is_file():
        _patch_missing("matplotlib's DejaVuSans.ttf", "plots may try to download Arial.ttf")
        return False
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        dst = cfg_dir / name
        if not dst.exists():
            shutil.copyfile(src, dst)
    return True


def _patch_missing(target: str, consequence: str) -> None:
    """Every patch of ultralytics checks its target; a missing one is said, never skipped."""
    version = getattr(sys.modules.get("ultralytics"), "__version__", "?")
    log.warning("ultralytics %s has no %s (patch not applied): %s", version, target, consequence)


def _restore_pillow_open(patches: Any) -> bool:
    """Undo ultralytics' process-wide replacement of ``PIL.Image.open``.

    Its wrapper tries to pip-install a HEIF plugin when Pillow cannot identify a file; with
    Pillow's own function back, a corrupt image is a plain ``UnidentifiedImageError``
    everywhere in figure_ml (HEIF is pillow-heif's job, registered by figure_ml.imageio).
    """
    original = getattr(patches, "_image_open", None)
    if original is None:
        _patch_missing(
            "ultralytics.utils.patches._image_open",
            "PIL.Image.open stays ultralytics' wrapper (an unreadable image tries a pip install)",
        )
        return False
    from PIL import Image

    Image.open = original
    return True


def _set_cpu_threads(torch_utils: Any, threads: int) -> bool:
    """Make ultralytics train on CPU with ``threads`` threads.

    ultralytics uses cpu_count - 1 threads (1 on a 2-core machine) and sets them in
    ``select_device``, leaving a core for data loading that its CPU path does in the main
    process anyway. figure_ml uses OMP_NUM_THREADS (default: every core); 1 suits a machine
    shared with other jobs.
    """
    if not hasattr(torch_utils, "NUM_THREADS"):
        _patch_missing(
            "ultralytics.utils.torch_utils.NUM_THREADS",
            "CPU training uses ultralytics' own thread count, not OMP_NUM_THREADS",
        )
        return False
    torch_utils.NUM_THREADS = max(threads, 1)
    return True


def _wrap_check_amp(trainer_mod: Any) -> bool:
    """Replace the trainer's AMP check with :func:`_offline_check_amp` of the original."""
    original = getattr(trainer_mod, "check_amp", None)
    if original is None:
        _patch_missing(
            "ultralytics.engine.trainer.check_amp",
            "a GPU training may try to download the AMP checker model",
        )
        return False
    if not getattr(original, "figure_ml_offline", False):  # wrap once, however often called
        trainer_mod.check_amp = _offline_check_amp(original)
    return True


def _offline_check_amp(original: Callable[..., bool]) -> Callable[..., bool]:
    """Wrap ultralytics' AMP check so it never downloads its checker model.

    Offline, ultralytics itself skips the check and keeps AMP on; we do the same without the
    attempted download, and run the real check only when the checker weights are already local.
    """

    @functools.wraps(original)
    def check_amp(model: Any, *args: Any, **kwargs: Any) -> bool:
        from ultralytics.utils import WEIGHTS_DIR

        if (Path(WEIGHTS_DIR) / "yolo26n.pt").is_file():
            return original(model, *args, **kwargs)
        device = next(model.parameters()).device
        if device.type in ("cpu", "mps"):
            return False
        log.info("AMP check skipped (offline, no local checker weights); AMP stays on")
        return True

    check_amp.figure_ml_offline = True  # type: ignore[attr-defined]
    return check_amp


def ultralytics_module() -> Any:
    """Import ultralytics isolated and offline (once) and return the module."""
    global _ultralytics
    if _ultralytics is not None:
        return _ultralytics
    cfg_root = settings_dir()
    if "ultralytics" in sys.modules:
        # Settings were read already; forcing them below still disables the integrations.
        log.warning("ultralytics was imported before figure_ml.yolo; its settings dir may differ")
    os.environ["YOLO_CONFIG_DIR"] = str(cfg_root)
    os.environ["YOLO_OFFLINE"] = "1"  # no online checks, no analytics, no update checks
    os.environ["YOLO_AUTOINSTALL"] = "False"  # never pip-install missing requirements
    os.environ.setdefault("YOLO_VERBOSE", "False")
    os.environ.pop("ULTRALYTICS_API_KEY", None)  # the Platform callback keys off it
    # ultralytics pins OMP threads to 1 unless set; CPU training wants every core.
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))

    import ultralytics
    from ultralytics.engine import trainer as trainer_mod
    from ultralytics.utils import SETTINGS, USER_CONFIG_DIR

    SETTINGS.update(
        {
            **dict.fromkeys(_INTEGRATIONS_OFF, False),
            "api_key": "",
            "vscode_msg": False,
            "openvino_msg": False,
            "datasets_dir": str(cfg_root / "datasets"),
            "weights_dir": str(cfg_root / "weights"),
            "runs_dir": str(cfg_root / "runs"),
        }
    )
    if hasattr(SETTINGS, "save"):  # older versions persist explicitly
        SETTINGS.save()
    _provide_fonts(Path(USER_CONFIG_DIR))
    from ultralytics.utils import patches, torch_utils

    _restore_pillow_open(patches)
    _set_cpu_threads(torch_utils, int(os.environ["OMP_NUM_THREADS"] or 1))
    _wrap_check_amp(trainer_mod)
    _ultralytics = ultralytics
    return ultralytics


def version() -> str:
    """The installed ultralytics version (imports it isolated)."""
    return str(ultralytics_module().__version__)


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


def build_model(model_yaml: str, weights: str | None = None) -> Any:
    """A YOLO model from its YAML, optionally loaded with *local* weights (never downloaded)."""
    ul = ultralytics_module()
    resolve_model_yaml(model_yaml)  # a clear error before ultralytics tries anything else
    model = ul.YOLO(model_yaml, task="detect")
    if weights:
        wp = Path(weights)
        if not wp.is_file():
            raise BadInputError(
                f"model.weights: {weights} does not exist (weights are never "
                f"downloaded; give a local .pt file)"
            )
        try:
            model.load(str(wp))
        except Exception as exc:
            raise BadInputError(f"model.weights: cannot load {weights}: {exc}") from exc
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
        model.add_callback("on_train_epoch_end", self.train_epoch_end)
        model.add_callback("on_fit_epoch_end", self.fit_epoch_end)

    def train_epoch_start(self, trainer: Any) -> None:
        self._t0 = time.perf_counter()

    def train_epoch_end(self, trainer: Any) -> None:
        self._epoch_ended = True
        self._dt = time.perf_counter() - self._t0

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


# --- inference and export (evaluation, export) -----------------------------------------------


def load_detector(weights: str | Path) -> Any:
    """A ``.pt`` detection checkpoint; :class:`BadInputError` when it is missing, not a
    detection model, or its classes differ from :mod:`figure_ml.classes`."""
    from figure_ml.classes import check_names

    ul = ultralytics_module()
    p = Path(weights)
    if not p.is_file():
        raise BadInputError(f"weights {p}: no such file")
    try:
        model = ul.YOLO(str(p))
    except Exception as exc:  # ultralytics raises many types for a bad file
        raise BadInputError(f"weights {p}: not an ultralytics checkpoint ({exc})") from exc
    if model.task != "detect":
        raise BadInputError(f"weights {p}: a {model.task!r} model, not a detection model")
    try:
        check_names(dict(model.names), where=f"weights {p}")
    except ValueError as exc:
        raise BadInputError(str(exc)) from exc
    model.model.eval()
    return model


def trained_imgsz(model: Any) -> int | None:
    """The image size a checkpoint was trained at (from its saved training arguments)."""
    ckpt = getattr(model, "ckpt", None) or {}
    args = ckpt.get("train_args") or getattr(model, "overrides", {}) or {}
    size = args.get("imgsz")
    return int(size) if isinstance(size, int) else None


def forward_raw(model: Any, x: np.ndarray) -> np.ndarray:
    """The raw head output of a letterboxed ``(1, 3, S, S)`` float32 input — the same tensor
    the ONNX export returns, so both are decoded by :mod:`figure_ml.onnx_detect`."""
    import torch

    net = model.model
    with torch.inference_mode():
        out = net(torch.from_numpy(x).to(next(net.parameters()).device))
    if isinstance(out, list | tuple):
        out = out[0]
    if isinstance(out, dict):  # some heads return {"one2one": ..., "one2many": ...}
        out = out.get("one2one", next(iter(out.values())))
        out = out[0] if isinstance(out, list | tuple) else out
    return out.float().cpu().numpy()


def export_onnx(
    weights: str | Path, out_path: Path, *, imgsz: int, opset: int, dynamic_batch: bool = False
) -> Path:
    """FP32 ONNX of a ``.pt`` checkpoint via ultralytics' exporter, written to ``out_path``.

    ``simplify`` stays off: it needs onnxslim, which ultralytics would otherwise try to
    pip-install (offline machines have no index). The export runs on a copy of the weights in
    a temporary folder, because ultralytics writes its output beside the weights file.
    """
    load_detector(weights)  # clear errors before exporting
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "model.pt"
        shutil.copy(weights, src)
        model = ultralytics_module().YOLO(str(src))
        try:
            produced = model.export(
                format="onnx",
                imgsz=imgsz,
                opset=opset,
                dynamic=dynamic_batch,
                simplify=False,
                half=False,
                int8=False,
                batch=1,
                device="cpu",
                verbose=False,
            )
        except Exception as exc:
            raise BadInputError(f"weights {weights}: ONNX export failed ({exc})") from exc
        out_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(produced), out_path)
    return out_path
