"""The ultralytics adapter: the ONLY package of figure_ml that imports ultralytics.

Why one place: ultralytics reads its settings, phones home, downloads fonts and checker weights
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

Modules: :mod:`.runtime` (isolated, offline, patched import), :mod:`.training` (allowlist,
model building, ``train_detector``), :mod:`.inference` (checkpoints, raw output, ONNX export).
"""

from figure_ml.yolo.inference import export_onnx, forward_raw, load_detector, trained_imgsz
from figure_ml.yolo.runtime import settings_dir, ultralytics_module, version
from figure_ml.yolo.training import (
    TRAIN_ARGS,
    EpochReport,
    Interrupted,
    TrainOutcome,
    build_model,
    check_train_args,
    conv_blocks,
    detection_model,
    metric_name,
    resolve_model_yaml,
    train_detector,
)

__all__ = [
    "TRAIN_ARGS",
    "EpochReport",
    "Interrupted",
    "TrainOutcome",
    "build_model",
    "check_train_args",
    "conv_blocks",
    "detection_model",
    "export_onnx",
    "forward_raw",
    "load_detector",
    "metric_name",
    "resolve_model_yaml",
    "settings_dir",
    "train_detector",
    "trained_imgsz",
    "ultralytics_module",
    "version",
]
