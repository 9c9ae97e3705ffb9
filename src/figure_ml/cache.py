"""Where files made from installed packages on first use are kept (converted models)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$FIGURE_ML_CACHE`` or ``~/.cache/figure_ml``: converted starting points and teacher
    models live here, each keyed by its source file's sha256 and its conversion's version."""
    return Path(os.environ.get("FIGURE_ML_CACHE") or Path.home() / ".cache" / "figure_ml")
