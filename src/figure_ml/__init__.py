"""figure_ml: train, evaluate and ship detectors that hide PHI in clinical photos."""

import os as _os

# Offline by construction: no library may phone home (update checks, hubs) from this package.
# Set before any of them is imported; users can still override in their environment.
for _key, _value in {
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DISABLE_MLFLOW_INTEGRATION": "TRUE",
}.items():
    _os.environ.setdefault(_key, _value)

__version__ = "0.1.0"
