"""What every thin Hydra main shares: where the configs are and how errors become exit codes."""

from __future__ import annotations

import importlib.resources
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from figure_ml.errors import BadInputError, ConfigError, DatasetError

#: the Hydra configs, package data of figure_ml (found with importlib.resources, so an installed
#: wheel finds them as an editable checkout does); overridable with FIGURE_ML_CONFIG_DIR
CONFIG_DIR = Path(
    os.environ.get("FIGURE_ML_CONFIG_DIR")
    or str(importlib.resources.files("figure_ml") / "configs")
)

#: exit codes of every CLI
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

log = logging.getLogger("figure_ml")

_job_started = False  # set once Hydra composed the config and the job runs


def run_main(fn: Callable[[], int | None]) -> int:
    """Run ``fn``; map library errors to exit code 2 with a one-line message on stderr."""
    global _job_started
    _job_started = True
    try:
        code = fn()
    except (ConfigError, DatasetError, BadInputError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if code is None else int(code)


def hydra_usage_errors(main: Callable[[], None]) -> None:
    """Call a ``@hydra.main`` function; a composition error (unknown key, bad override,
    missing config) exits with :data:`EXIT_USAGE` instead of Hydra's 1, which stays reserved
    for "ran, and the result failed" (a gate)."""
    try:
        main()
    except SystemExit as exc:
        if not _job_started and exc.code not in (0, None):
            raise SystemExit(EXIT_USAGE) from exc
        raise


def exit_with(code: int) -> None:
    """Exit the process with ``code`` (Hydra's main returns; this ends the interpreter)."""
    sys.stdout.flush()
    sys.exit(code)
