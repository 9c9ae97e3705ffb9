"""Where an output came from: git commit, package versions, host. Recorded by every stage."""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import subprocess
from pathlib import Path

#: packages whose versions are recorded with every run and artifact
TRACKED_PACKAGES: tuple[str, ...] = (
    "figure_ml",
    "torch",
    "torchvision",
    "ultralytics",
    "onnx",
    "onnxruntime",
    "albumentations",
    "mlflow",
    "hydra-core",
    "datasets",
    "numpy",
    "pillow",
    "opencv-python-headless",
)


@functools.cache
def git_commit(repo: str | None = None) -> str:
    """HEAD commit of the repository holding this package (``"unknown"`` outside git);
    ``-dirty`` is appended when tracked files have uncommitted changes."""
    cwd = repo or str(Path(__file__).resolve().parent)
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`TRACKED_PACKAGES` (missing ones are left out)."""
    out: dict[str, str] = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def host_info() -> dict[str, str]:
    """Machine facts that explain timings (no user names, no paths)."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
    }
