"""The model manifest: the contract with the apps (DESIGN §5).

``manifest.json`` sits beside the artifacts it names. It is written **last** and atomically by
export, so its presence means every file it names is complete. :func:`load` validates it
against ``figure_ml/schemas/manifest.schema.json`` (package data) and checks each artifact's
size and SHA-256, refusing a mismatch: an app never runs a model that is not the one evaluated.

Every number must be finite and in range. JSON has no NaN or Infinity, but Python's ``json``
reads the tokens ``NaN`` / ``Infinity`` (and ``1e999`` as infinity), and a JSON Schema
``minimum``/``maximum`` accepts NaN (every comparison with NaN is false): a NaN padding hid
nothing and a NaN threshold kept no detection, with exit 0. So the reader refuses non-finite
numbers while parsing, validates the schema, and then checks the ranges the redactor relies on
once more in code (:data:`RANGES`), naming the field.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from figure_ml import atomic
from figure_ml.classes import CLASS_NAMES
from figure_ml.errors import BadInputError

#: the newest manifest version. A manifest is written at the *oldest* version that describes it
#: completely (:func:`schema_version_of`): version 2 adds ``output.flip_tta`` (a mirrored second
#: pass), which a version-1 reader would ignore and so run one pass with thresholds fitted for
#: two; it refuses version 2 instead. A one-pass manifest stays version 1 and loads anywhere.
SCHEMA_VERSION = 2
MANIFEST_FILE = "manifest.json"
#: package data (importlib.resources): an installed wheel carries the schema it validates with
SCHEMA_PATH = Path(str(importlib.resources.files("figure_ml") / "schemas" / "manifest.schema.json"))


class ManifestError(BadInputError):
    """A manifest that is malformed, or whose artifacts do not match it."""


#: ``(path, low, high, low inclusive)`` of the numbers the redactor runs with; ``*`` matches
#: every key of a per-class table; ``high`` None: no upper bound. The schema says the same.
RANGES: list[tuple[str, float, float | None, bool]] = [
    ("thresholds/*", 0.0, 1.0, True),
    ("padding/*", 0.0, 1.0, True),
    ("kappa", 0.0, 1.0, False),
    ("input/size", 32, None, True),
    ("input/pad_value", 0, 255, True),
    ("output/nms_iou", 0.0, 1.0, True),
    ("output/max_det", 1, None, True),
    ("tiling/tile", 32, None, True),
    ("tiling/overlap", 0.0, 0.5, True),
    ("tiling/min_long_side", 0, None, True),
    ("tiling/merge_iou", 0.0, 1.0, True),
    ("tiling/tile_long_side", 0, None, True),
    ("tiling/max_box_fraction", 0.0, 1.0, False),
]


class _NonFinite:
    """What the strict parser puts where the text held ``NaN``, ``Infinity`` or an overflow,
    so that the error can name the field rather than a character offset."""

    def __init__(self, token: str) -> None:
        self.token = token


def _parse_float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def loads_strict(text: str) -> Any:
    """``json.loads`` that leaves a :class:`_NonFinite` marker for NaN / Infinity / overflow."""
    return json.loads(text, parse_constant=_NonFinite, parse_float=_parse_float)


def _walk(obj: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, (*path, i))


def _name(path: tuple) -> str:
    return "/".join(str(p) for p in path) or "(top level)"


def check_finite(data: Any, *, where: str = "manifest") -> None:
    """Refuse any NaN or infinity (a parsed token or a Python float), naming its field."""
    for path, value in _walk(data):
        if isinstance(value, _NonFinite):
            raise ManifestError(f"{where}: {_name(path)}: {value.token} is not a finite number")
        if isinstance(value, float) and not math.isfinite(value):
            raise ManifestError(f"{where}: {_name(path)}: {value} is not a finite number")


def check_ranges(data: dict[str, Any], *, where: str = "manifest") -> None:
    """The ranges of :data:`RANGES`, checked in code whatever the schema validator did."""
    for spec, low, high, low_inclusive in RANGES:
        section, key = spec.split("/") if "/" in spec else (None, spec)
        table = data if section is None else data.get(section)
        if not isinstance(table, dict):
            continue  # required sections are the schema's job; optional ones may be absent
        keys = list(table) if key == "*" else [key] if key in table else []
        for k in keys:
            v = table[k]
            field = f"{section}/{k}" if section else k
            ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            ok = ok and (v >= low if low_inclusive else v > low) and (high is None or v <= high)
            if not ok:
                lo = "[" if low_inclusive else "("
                allowed = f"{lo}{low}, {high}]" if high is not None else f">= {low}"
                raise ManifestError(f"{where}: {field}: {v!r} is outside {allowed}")


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
    """Finite numbers, schema, ranges again, and the rules a schema cannot say (class list,
    per-class keys)."""
    import jsonschema

    check_finite(data, where=where)
    try:
        jsonschema.validate(data, schema())
    except jsonschema.ValidationError as exc:
        path = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ManifestError(f"{where}: {path}: {exc.message}") from None
    check_ranges(data, where=where)
    names = [c["name"] for c in sorted(data["classes"], key=lambda c: c["id"])]
    if names != list(CLASS_NAMES):
        raise ManifestError(f"{where}: classes {names} differ from figure_ml {list(CLASS_NAMES)}")
    for key in ("thresholds", "padding"):
        if set(data[key]) != set(CLASS_NAMES):
            raise ManifestError(f"{where}: {key} must name every class, got {sorted(data[key])}")
    files = [a["file"] for a in data["artifacts"]]
    files += [f["file"] for f in member_files(data)]
    if len(set(files)) != len(files):
        raise ManifestError(f"{where}: an artifact file is listed twice")
    check_detectors(data, where=where)


def member_files(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every detector-set member's file entries (``file``, ``size_bytes``, ``sha256``): each
    member's FP32 file and, where one ships, its INT8 version."""
    out = []
    for d in data.get("detectors") or []:
        out.append(d)
        if d.get("int8"):
            out.append(d["int8"])
    return out


def check_detectors(data: dict[str, Any], *, where: str = "manifest") -> None:
    """The optional ``detectors`` members: known classes, per-class tables naming exactly the
    member's classes, numbers in [0, 1] (checked in code too), distinct names."""
    names = ["model"]
    for i, d in enumerate(data.get("detectors") or []):
        at = f"{where}: detectors/{i}"
        if d["name"] in names:
            raise ManifestError(f"{at}: member name {d['name']!r} is used twice")
        names.append(d["name"])
        classes = d["classes"]
        for cid, cname in classes.items():
            if cname not in CLASS_NAMES or str(CLASS_NAMES.index(cname)) != cid:
                raise ManifestError(f"{at}/classes: {cid}: {cname!r} is not figure_ml class {cid}")
        for key in ("thresholds", "padding"):
            if set(d[key]) != set(classes.values()):
                raise ManifestError(
                    f"{at}/{key} must name the member's classes {sorted(classes.values())}, "
                    f"got {sorted(d[key])}"
                )
            for c, v in d[key].items():
                ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                if not (ok and 0 <= v <= 1):
                    raise ManifestError(f"{at}/{key}/{c}: {v!r} is outside [0, 1]")


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

    @property
    def detectors(self) -> list[dict[str, Any]]:
        """The members beside the top-level model (empty: a single-model manifest)."""
        return list(self.data.get("detectors") or [])


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
        data = loads_strict(p.read_text())
    except FileNotFoundError:
        raise ManifestError(f"{p}: no such manifest") from None
    except ValueError as exc:
        raise ManifestError(f"{p}: not valid JSON ({exc})") from None
    validate(data, where=str(p))
    for a in data["artifacts"]:
        if verify is True or (isinstance(verify, list) and a["name"] in verify):
            verify_artifact(p.parent, a)
    if verify is not False:  # every member runs on every photo: all are checked
        for f in member_files(data):
            verify_artifact(p.parent, f)
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


def flip_tta(data: dict[str, Any]) -> bool:
    """Whether a manifest's model also runs on the mirrored photo (``output.flip_tta``;
    absent, as in manifests from before it: one pass)."""
    return bool((data.get("output") or {}).get("flip_tta", False))


def schema_version_of(data: dict[str, Any]) -> int:
    """The oldest schema version that holds everything ``data`` says (see SCHEMA_VERSION)."""
    return 2 if flip_tta(data) else 1


def write(folder: str | Path, data: dict[str, Any]) -> Path:
    """Validate, check every artifact on disk, then write ``manifest.json`` atomically."""
    folder = Path(folder)
    data = {"schema_version": schema_version_of(data), **data}
    validate(data, where=str(folder / MANIFEST_FILE))
    for a in [*data["artifacts"], *member_files(data)]:
        verify_artifact(folder, a)
    return atomic.write_json(folder / MANIFEST_FILE, data)
