"""What every thin Hydra main shares: where the configs are and how errors become exit codes."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from figure_ml.errors import BadInputError, ConfigError, DatasetError

#: the repository's ``configs/`` folder (src/figure_ml/cli.py -> repo root); overridable for
#: installs outside a checkout
CONFIG_DIR = Path(
    os.environ.get("FIGURE_ML_CONFIG_DIR", Path(__file__).resolve().parents[2] / "configs")
)

#: exit codes of every CLI
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

log = logging.getLogger("figure_ml")


def run_main(fn: Callable[[], int | None]) -> int:
    """Run ``fn``; map library errors to exit code 2 with a one-line message on stderr."""
    try:
        code = fn()
    except (ConfigError, DatasetError, BadInputError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if code is None else int(code)


def exit_with(code: int) -> None:
    """Exit the process with ``code`` (Hydra's main returns; this ends the interpreter)."""
    sys.stdout.flush()
    sys.exit(code)
