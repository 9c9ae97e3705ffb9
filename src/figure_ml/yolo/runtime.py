"""Importing ultralytics isolated, offline and patched (once per process).

Its settings folder is never the user's home, its integrations, hub sync, analytics and
auto-install are off, and where it has no hook its internals are patched: each patch looks for
its target and logs a warning naming it when an ultralytics version no longer has it.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: one logger for the whole adapter, whichever of its modules speaks
log = logging.getLogger("figure_ml.yolo")

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
