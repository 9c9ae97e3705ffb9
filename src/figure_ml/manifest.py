"""The model manifest: the contract with the apps (DESIGN §5).

``manifest.json`` sits beside the artifacts it names. It is written **last** and atomically by
export, so its presence means every file it names is complete. :func:`load` validates it
against ``schemas/manifest.schema.json`` and checks each artifact's size and SHA-256, refusing
a mismatch: an app never runs a model that is not the one evaluated.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from figure_ml import atomic
from figure_ml.classes import CLASS_NAMES
from figure_ml.errors import BadInputError

SCHEMA_VERSION = 1
MANIFEST_FILE = "manifest.json"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "manifest.schema.json"


class ManifestError(BadInputError):
    """A manifest that is malformed, or whose artifacts do not match it."""


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def validate(data: dict[str, Any], *, where: str = "manifest") -> None:
    """Schema check plus the rules a schema cannot say (class list, per-class keys)."""
    import jsonschema

    try:
        jsonschema.validate(data, schema())
    except jsonschema.ValidationError as exc:
        path = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ManifestError(f"{where}: {path}: {exc.message}") from None
    names = [c["name"] for c in sorted(data["classes"], key=lambda c: c["id"])]
    if names != list(CLASS_NAMES):
        raise ManifestError(f"{where}: classes {names} differ from figure_ml {list(CLASS_NAMES)}")
    for key in ("thresholds", "padding"):
        if set(data[key]) != set(CLASS_NAMES):
            raise ManifestError(f"{where}: {key} must name every class, got {sorted(data[key])}")
    files = [a["file"] for a in data["artifacts"]]
    if len(set(files)) != len(files):
        raise ManifestError(f"{where}: an artifact file is listed twice")


@dataclass(frozen=True)
class Manifest:
    """A loaded, verified manifest."""

    path: Path
    data: dict[str, Any]

    @property
    def folder(self) -> Path:
        return self.path.parent

    def artifact(self, name: str | None = None, *, precision: str | None = None) -> dict[str, Any]:
        """The artifact called ``name`` (or the first of ``precision``; or the first ONNX)."""
        for a in self.data["artifacts"]:
            if name is not None and a["name"] == name:
                return a
            if name is None and precision is not None and a["precision"] == precision:
                return a
        if name is None and precision is None:
            return next(a for a in self.data["artifacts"] if a["format"] == "onnx")
        raise ManifestError(f"{self.path}: no artifact {name or precision!r}")

    def artifact_path(self, artifact: dict[str, Any]) -> Path:
        return self.folder / artifact["file"]

    def thresholds(self) -> list[float]:
        return [float(self.data["thresholds"][c]) for c in CLASS_NAMES]

    def padding(self) -> list[float]:
        return [float(self.data["padding"][c]) for c in CLASS_NAMES]


def verify_artifact(folder: Path, artifact: dict[str, Any]) -> None:
    """Refuse an artifact whose file is missing or whose size or SHA-256 differ."""
    p = folder / artifact["file"]
    if not p.is_file():
        raise ManifestError(f"{p}: artifact named in the manifest is missing")
    size = p.stat().st_size
    if size != artifact["size_bytes"]:
        raise ManifestError(f"{p}: size {size} bytes != {artifact['size_bytes']} in the manifest")
    digest = sha256_file(p)
    if digest != artifact["sha256"]:
        raise ManifestError(
            f"{p}: sha256 {digest[:16]}… does not match the manifest ({artifact['sha256'][:16]}…);"
            " refusing a file that is not the one evaluated"
        )


def load(path: str | Path, *, verify: bool | list[str] = True) -> Manifest:
    """Read and validate a manifest (a file or its folder); check artifacts' SHA-256.

    ``verify``: True checks every artifact, a list checks the named ones, False none.
    """
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST_FILE
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise ManifestError(f"{p}: no such manifest") from None
    except ValueError as exc:
        raise ManifestError(f"{p}: not valid JSON ({exc})") from None
    validate(data, where=str(p))
    for a in data["artifacts"]:
        if verify is True or (isinstance(verify, list) and a["name"] in verify):
            verify_artifact(p.parent, a)
    return Manifest(p, data)


def artifact_entry(path: Path, *, name: str, fmt: str, precision: str, **extra: Any) -> dict:
    """An ``artifacts[]`` entry for a file (hash and size computed now)."""
    return {
        "name": name,
        "file": path.name,
        "format": fmt,
        "precision": precision,
        "sha256": sha256_file(path),
        "size_bytes": path.stat().st_size,
        **extra,
    }


def write(folder: str | Path, data: dict[str, Any]) -> Path:
    """Validate, check every artifact on disk, then write ``manifest.json`` atomically."""
    folder = Path(folder)
    data = {"schema_version": SCHEMA_VERSION, **data}
    validate(data, where=str(folder / MANIFEST_FILE))
    for a in data["artifacts"]:
        verify_artifact(folder, a)
    return atomic.write_text(folder / MANIFEST_FILE, json.dumps(data, indent=2) + "\n")
