"""Typed configs of every stage.

Hydra composes a ``DictConfig``; the entry point converts it once with :func:`to_typed` into one
of these dataclasses, and nothing past the entry point sees a ``DictConfig``. Conversion checks
types, rejects unknown keys (naming them) and runs each dataclass's ``validate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from figure_ml.boxes import NMS_IOU
from figure_ml.classes import CLASS_NAMES
from figure_ml.errors import ConfigError

T = TypeVar("T")


def to_typed(cfg: DictConfig | dict[str, Any], cls: type[T], *, drop: tuple[str, ...] = ()) -> T:
    """Convert a composed config into dataclass ``cls`` (keys in ``drop`` are ignored).

    Raises :class:`ConfigError` naming the offending key or value.
    """
    data = cfg if isinstance(cfg, dict) else OmegaConf.to_container(cfg, resolve=True)
    data = {k: v for k, v in dict(data).items() if k not in drop}
    try:
        merged = OmegaConf.merge(OmegaConf.structured(cls), data)
        obj = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        where = f"{cls.__name__}.{key}" if key else cls.__name__
        raise ConfigError(f"{where}: {str(exc).splitlines()[0]}") from exc
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate()
    return obj  # type: ignore[return-value]


def _check_range(name: str, pair: list[int] | tuple[int, int], low: int = 0) -> None:
    if len(pair) != 2 or pair[0] > pair[1] or pair[0] < low:
        raise ConfigError(f"{name} must be [min, max] with {low} <= min <= max, got {list(pair)}")


@dataclass
class SynthConfig:
    """``python -m figure_ml.data.synth``: the procedural PHI dataset."""

    out_dir: str = "data/synth/default"
    n_train: int = 2000
    n_val: int = 300
    n_test: int = 300
    seed: int = 0
    #: worker processes; the output does not depend on it
    workers: int = 2
    #: images per parquet shard
    shard_size: int = 500
    #: PHI classes to render (names from figure_ml.classes)
    classes: list[str] = field(default_factory=lambda: list(CLASS_NAMES))
    #: font file stems (matplotlib / Debian fonts) or paths
    fonts: list[str] = field(
        default_factory=lambda: [
            "DejaVuSans",
            "DejaVuSans-Bold",
            "DejaVuSansMono",
            "DejaVuSerif",
            "DejaVuSerif-Italic",
            "STIXGeneral",
            "cmtt10",
        ]
    )
    #: the long side of each photo is drawn uniformly from this range (px)
    long_side: list[int] = field(default_factory=lambda: [640, 1024])
    phi_per_image: list[int] = field(default_factory=lambda: [1, 6])
    findings_per_image: list[int] = field(default_factory=lambda: [0, 3])
    negatives_per_image: list[int] = field(default_factory=lambda: [1, 4])
    #: share of images without any PHI (with more hard negatives): they teach restraint
    phi_free_share: float = 0.3
    jpeg_quality: list[int] = field(default_factory=lambda: [55, 95])
    #: photometric and geometric realism (albumentations); off only for debugging
    augment: bool = True
    #: objects whose visible box is smaller than this on either side (px) are dropped
    min_box_side: int = 2
    #: thumbnails on the contact sheet
    contact_sheet_images: int = 24
    #: score the realism of this many images of the last split (test, else val, else train)
    #: with the teachers and write it into DATASET_CARD.md (0: off; needs the teachers extra)
    realism_images: int = 0
    #: replace an existing synthetic dataset at out_dir
    overwrite: bool = False

    def validate(self) -> None:
        if self.realism_images < 0:
            raise ConfigError(f"realism_images must be >= 0, got {self.realism_images}")
        for name in ("n_train", "n_val", "n_test"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.n_train + self.n_val + self.n_test == 0:
            raise ConfigError("n_train + n_val + n_test must be > 0")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if self.shard_size < 1:
            raise ConfigError(f"shard_size must be >= 1, got {self.shard_size}")
        unknown = [c for c in self.classes if c not in CLASS_NAMES]
        if unknown:
            raise ConfigError(f"classes: unknown class {unknown[0]!r}; known: {list(CLASS_NAMES)}")
        if not self.classes:
            raise ConfigError("classes: at least one PHI class is needed")
        _check_range("long_side", self.long_side, low=64)
        _check_range("phi_per_image", self.phi_per_image)
        _check_range("findings_per_image", self.findings_per_image)
        _check_range("negatives_per_image", self.negatives_per_image)
        _check_range("jpeg_quality", self.jpeg_quality, low=1)
        if not 0.0 <= self.phi_free_share <= 1.0:
            raise ConfigError(f"phi_free_share must be in [0, 1], got {self.phi_free_share}")
        if self.jpeg_quality[1] > 100:
            raise ConfigError(f"jpeg_quality must be within 1..100, got {self.jpeg_quality}")


@dataclass
class ExportYoloConfig:
    """``python -m figure_ml.data.export_yolo``: canonical dataset -> YOLO folder layout."""

    dataset: str = "data/synth/default"
    out_dir: str = "data/yolo/default"
    #: splits to write; null: every split the dataset has
    splits: list[str] | None = None
    overwrite: bool = False


# --- training (python -m figure_ml.train) -----------------------------------------------------


@dataclass
class TrainDataConfig:
    """Which canonical dataset to train on, and where its YOLO layout is materialised."""

    #: canonical dataset folder (read-only input)
    path: str = "data/synth/default"
    #: SynthConfig fields of the synthetic dataset this config owns: when ``path`` is missing
    #: and equals ``generate.out_dir`` it is generated first; any other missing path is an error
    generate: dict[str, Any] | None = None
    #: YOLO layouts are cached here under the dataset digest, so runs on one dataset share it
    cache_dir: str = "data/yolo_cache"


@dataclass
class ModelConfig:
    """The detector: an architecture YAML, optionally initialised from *local* weights."""

    name: str = "yolo11n"
    #: an ultralytics model YAML name (``yolo11n.yaml``) or a path to a local YAML
    yaml: str = "yolo11n.yaml"
    #: a local ``.pt`` to fine-tune from, the name of a checkpoint shipped in the package
    #: (``reference``, :mod:`figure_ml.models`) or of one converted from a registry package
    #: (``nudenet``, with ``model=yolov8n``); never ultralytics' names, which download
    weights: str | None = None

    def validate(self) -> None:
        from figure_ml.models import CONVERTED, SHIPPED
        from figure_ml.models.nudenet import MODEL_YAML

        names = [*SHIPPED, *CONVERTED]
        if not self.yaml.endswith((".yaml", ".yml")):
            raise ConfigError(f"model.yaml must name a .yaml file, got {self.yaml!r}")
        if self.weights is not None and not (self.weights.endswith(".pt") or self.weights in names):
            raise ConfigError(
                f"model.weights must be a local .pt file or one of {names}, got {self.weights!r}"
            )
        if self.weights in CONVERTED and Path(self.yaml).name != MODEL_YAML:
            raise ConfigError(
                f"model.weights={self.weights} is a {Path(MODEL_YAML).stem}: use "
                f"model={Path(MODEL_YAML).stem}, not model.yaml={self.yaml}"
            )


@dataclass
class TrackingConfig:
    """Experiment tracking. ``backend: none`` logs nothing anywhere."""

    backend: str = "mlflow"
    #: tracking URI; null: $MLFLOW_TRACKING_URI, else a SQLite store under ``local_dir``
    uri: str | None = None
    #: embedded store folder (SQLite file + artifacts), used when no URI is given
    local_dir: str = "mlruns"
    experiment: str = "figure_ml-train"
    #: MLflow run name; null: the run folder's name (train), eval-<out_dir> or export-<out_dir>
    run_name: str | None = None
    #: images (plots, mosaics) may go to the tracker only if this is on AND the data is synthetic
    log_images: bool = False
    #: seconds to wait for a remote server at start; HTTP retries are capped to keep runs moving
    connect_timeout_s: float = 10.0
    http_max_retries: int = 2
    http_timeout_s: int = 20

    def validate(self) -> None:
        if self.backend not in ("mlflow", "none"):
            raise ConfigError(f"tracking.backend must be 'mlflow' or 'none', got {self.backend!r}")


@dataclass
class DebugConfig:
    """Knobs for debugging and tests; all off by default."""

    #: ultralytics' own console output (per-batch progress) instead of one line per epoch
    verbose: bool = False
    #: simulate an interruption (like Ctrl-C) after this many epochs, to exercise resume
    interrupt_after_epochs: int | None = None


def check_imgsz(name: str, value: Any) -> None:
    """A model input size: an integer multiple of 32 (YOLO's largest stride), at least 32."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 32 or value % 32:
        raise ConfigError(f"{name} must be a positive multiple of 32, got {value!r}")


@dataclass
class TrainConfig:
    """``python -m figure_ml.train``: one YOLO training run, tracked."""

    data: TrainDataConfig = field(default_factory=TrainDataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    debug: DebugConfig = field(default_factory=DebugConfig)
    #: ultralytics training arguments, checked against figure_ml.yolo's allowlist
    trainer: dict[str, Any] = field(default_factory=dict)
    #: name of the experiment overlay that shaped this config (recorded with the run)
    preset: str = "default"
    seed: int = 0
    #: run folder; null: a timestamped folder under ``runs_root``
    run_dir: str | None = None
    runs_root: str = "runs/train"
    #: a previous run folder to continue from its last checkpoint (same MLflow run)
    resume: str | None = None

    def validate(self) -> None:
        self.model.validate()
        self.tracking.validate()
        t = self.trainer
        epochs = t.get("epochs", 1)
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
            raise ConfigError(f"trainer.epochs must be an integer >= 1, got {epochs!r}")
        check_imgsz("trainer.imgsz", t.get("imgsz", 640))
        batch = t.get("batch", 16)
        if isinstance(batch, bool) or not isinstance(batch, int | float) or batch == 0:
            raise ConfigError(
                f"trainer.batch must be a positive integer (or -1 / 0<x<1 for auto), got {batch!r}"
            )
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")
        if self.debug.interrupt_after_epochs is not None and self.debug.interrupt_after_epochs < 1:
            raise ConfigError("debug.interrupt_after_epochs must be >= 1 or null")


# --- evaluation (python -m figure_ml.eval) ----------------------------------------------------


def _per_class(value: float) -> dict[str, float]:
    return dict.fromkeys(CLASS_NAMES, value)


#: how an evaluation dataset is read (figure_ml.eval.data.load_eval_data)
DATA_FORMATS = ("canonical", "yolo", "auto")


@dataclass
class EvalDataConfig:
    """What to evaluate on: a canonical dataset or a YOLO folder."""

    path: str = "data/synth/default"
    #: canonical | yolo | auto (canonical when the folder holds dataset_info.json)
    format: str = "auto"


@dataclass
class PredictorConfig:
    """How predictions are made (once, at a low confidence; thresholds apply afterwards)."""

    #: model input size; null: the size the model was trained/exported at
    imgsz: int | None = None
    conf: float = 0.001
    #: class-aware NMS IoU (figure_ml.boxes.NMS_IOU says why it is above ultralytics' 0.7)
    iou: float = NMS_IOU
    max_det: int = 300
    #: also run on the mirrored image, boxes merged, as a manifest with ``output.flip_tta``
    #: runs (figure_ml.export.mirror_choice says when that helps); twice the model time
    flip: bool = False
    #: whole: one letterboxed pass; tiled: plus overlapping tiles (see figure_ml.redact)
    strategy: str = "whole"
    #: tiling used by strategy=tiled; give the manifest's values to measure what ships
    tiling: TilingConfig = field(default_factory=lambda: TilingConfig())


#: the predictor settings ``compare``'s candidate may change on its own (``candidate_predictor``)
CANDIDATE_PREDICTOR_KEYS = ("imgsz", "conf", "iou", "max_det", "flip")


@dataclass
class CompareConfig:
    """``python -m figure_ml.eval.compare``: is ``candidate`` better than ``baseline``? Both are
    scored on the same split at their own over-redaction-budget threshold and the GT boxes
    compared in pairs (figure_ml.eval.paired). Choose on a val split, never on test."""

    #: the model that would replace the baseline: a .pt/.onnx file or a shipped name
    candidate: str = "???"
    #: the model it must beat, e.g. ``reference`` (the shipped checkpoint) or a parent .pt
    baseline: str = "???"
    data: EvalDataConfig = field(default_factory=EvalDataConfig)
    split: str = "val"
    out_dir: str = "???"
    #: predictions of both models (strategy: whole only)
    predictor: PredictorConfig = field(default_factory=PredictorConfig)
    #: ``predictor`` settings that differ for the candidate only, e.g. ``{imgsz: 800}``: one
    #: model at two input sizes, or with and without the mirrored pass, paired on the same boxes.
    #: Keys: :data:`CANDIDATE_PREDICTOR_KEYS`; a null value keeps ``predictor``'s. A comparison
    #: with any is never a checkpoint's selection (``figure_ml.models.ship`` refuses it): the
    #: shipped model runs one way.
    candidate_predictor: dict[str, Any] = field(
        default_factory=lambda: dict.fromkeys(CANDIDATE_PREDICTOR_KEYS)
    )
    #: one padding per class for both models, so the only difference is the detector
    padding: dict[str, float] = field(default_factory=lambda: _per_class(0.1))
    kappa: float = 0.95
    budget: float = 0.05
    bootstrap_resamples: int = 1000
    bootstrap_seed: int = 0
    skip_bad: bool = False

    def candidate_overrides(self) -> dict[str, Any]:
        """The settings of ``candidate_predictor`` that are given (not null)."""
        return {k: v for k, v in self.candidate_predictor.items() if v is not None}

    def validate(self) -> None:
        for name in ("candidate", "baseline", "out_dir"):
            if getattr(self, name) in ("???", "", None):
                raise ConfigError(f"{name}=... is required")
        unknown = sorted(set(self.candidate_predictor) - set(CANDIDATE_PREDICTOR_KEYS))
        if unknown:
            raise ConfigError(
                f"candidate_predictor.{unknown[0]}: not a per-model setting "
                f"(allowed: {', '.join(CANDIDATE_PREDICTOR_KEYS)})"
            )
        if (imgsz := self.candidate_overrides().get("imgsz")) is not None:
            check_imgsz("candidate_predictor.imgsz", imgsz)
        if self.predictor.strategy != "whole":
            raise ConfigError(
                f"predictor.strategy={self.predictor.strategy!r}: compare scores one whole-image "
                "pass per model (strategy=whole)"
            )
        if set(self.padding) != set(CLASS_NAMES) or not all(
            0 <= v <= 1 for v in self.padding.values()
        ):
            raise ConfigError(f"padding: one value in [0, 1] per class {list(CLASS_NAMES)}")
        if not 0 < self.budget < 1:
            raise ConfigError(f"budget must be in (0, 1), got {self.budget}")
        if not 0 < self.kappa <= 1:
            raise ConfigError(f"kappa must be in (0, 1], got {self.kappa}")
        if self.bootstrap_resamples < 100:
            raise ConfigError("bootstrap_resamples must be >= 100")


#: ``calibration.budget_bound`` values (eval/calibration.py, *Budget bound*)
BUDGET_BOUNDS = ("upper", "point")
#: ``calibration.target_bound`` values (eval/calibration.py, *Target bound*)
TARGET_BOUNDS = ("point", "upper")


@dataclass
class CalibrationConfig:
    """How the shipped operating point is chosen on the validation split (DESIGN §4)."""

    #: per-class targets of the class-aware miss rate; they sit a margin below the release
    #: gate's maxima (configs/gates/release.yaml) so a calibrated model can pass it
    targets: dict[str, float] = field(
        default_factory=lambda: {"face": 0.01, "tattoo": 0.03, "wristband": 0.03, "text": 0.03}
    )
    #: paddings tried per class; the (padding, threshold) pair that meets the target with the
    #: least over-redaction is kept, and classes the budget binds share the padding that
    #: misses least at the budget threshold (eval/calibration.py)
    padding_grid: list[float] = field(default_factory=lambda: [0.05, 0.1, 0.15, 0.2, 0.3])
    #: over-redaction budget of the shipped point: thresholds are raised to the lowest global
    #: threshold whose validation over-redaction is at most this. The headline's budget by
    #: default (DESIGN §4 allows 0.10; why 0.05: eval/budget.py DEFAULT_MAX_OVER_REDACTION)
    max_over_redaction: float = 0.05
    #: what is held to that budget on the validation split: "upper", the upper end of its 95%
    #: bootstrap interval over images (a promise about unseen photos: risk control), or
    #: "point", the point estimate (eval/calibration.py, *Budget bound*)
    budget_bound: str = "upper"
    #: bootstrap resamples and seed of that interval
    budget_resamples: int = 1000
    budget_seed: int = 0
    #: when a class's target counts as met on the validation split: "point", its miss rate
    #: there is <= target; "upper", the exact upper end of its 95% interval is (risk control,
    #: as the budget bound; eval/calibration.py, *Target bound*)
    target_bound: str = "point"
    #: the lowest threshold calibration may choose
    floor: float = 0.01
    split: str = "val"

    def validate(self) -> None:
        if set(self.targets) != set(CLASS_NAMES):
            raise ConfigError(
                f"calibration.targets must give every class {list(CLASS_NAMES)}, "
                f"got {sorted(self.targets)}"
            )
        bad = {k: v for k, v in self.targets.items() if not 0 <= v <= 1}
        if bad:
            raise ConfigError(f"calibration.targets: values must be within 0..1, got {bad}")
        if not self.padding_grid or not all(0 <= r <= 1 for r in self.padding_grid):
            raise ConfigError(
                f"calibration.padding_grid: one or more paddings within 0..1, got "
                f"{list(self.padding_grid)}"
            )
        if not 0 < self.max_over_redaction <= 1:
            raise ConfigError(
                f"calibration.max_over_redaction must be within (0, 1], got "
                f"{self.max_over_redaction}"
            )
        if self.budget_bound not in BUDGET_BOUNDS:
            raise ConfigError(
                f"calibration.budget_bound must be one of {list(BUDGET_BOUNDS)}, got "
                f"{self.budget_bound!r}"
            )
        if self.target_bound not in TARGET_BOUNDS:
            raise ConfigError(
                f"calibration.target_bound must be one of {list(TARGET_BOUNDS)}, got "
                f"{self.target_bound!r}"
            )
        if self.budget_resamples < 100:
            raise ConfigError(
                f"calibration.budget_resamples must be at least 100 (a 95% bound from fewer "
                f"resamples rests on two or three of them), got {self.budget_resamples}"
            )
        if not 0 <= self.floor < 1:
            raise ConfigError(f"calibration.floor must be within [0, 1), got {self.floor}")


@dataclass
class EvalConfig:
    """``python -m figure_ml.eval``: PHI-miss evaluation, calibration and gates.

    What is scored: ``manifest=`` (an export: its detectors, thresholds, padding, kappa and
    tiling, sha256-verified — what ships) or ``weights=`` (a research run, at the thresholds
    and padding given here, from ``thresholds_file`` or calibrated on val).
    """

    #: a .pt/.onnx/.ort file (research runs) ...
    weights: str | None = None
    #: ... or an export's manifest.json (or its folder): evaluates exactly what ships
    manifest: str | None = None
    #: with manifest=: the artifact to run (null: the first ONNX, as the redactor does)
    manifest_artifact: str | None = None
    #: ... or a teacher baseline: a name or a list of names (figure_ml.teachers), scored as a
    #: model is; at its authors' default thresholds unless calibrate / thresholds_file
    teacher: Any = None
    data: EvalDataConfig = field(default_factory=EvalDataConfig)
    split: str = "test"
    #: output folder; null: a timestamped folder under ``runs_root``
    out_dir: str | None = None
    runs_root: str = "runs/eval"
    predictor: PredictorConfig = field(default_factory=PredictorConfig)
    #: operating thresholds per class (used unless calibrate or thresholds_file)
    thresholds: dict[str, float] = field(default_factory=lambda: _per_class(0.25))
    #: a thresholds.json written by an earlier calibration (checked against the weights)
    thresholds_file: str | None = None
    #: redaction padding per class: share of box width/height added on each side
    padding: dict[str, float] = field(default_factory=lambda: _per_class(0.05))
    #: coverage a GT box needs to count as hidden
    kappa: float = 0.95
    #: over-redaction budget of the headline figure miss@OR<=budget
    budget: float = 0.05
    calibrate: bool = False
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    bootstrap_resamples: int = 1000
    bootstrap_seed: int = 0
    #: gate name (configs/gates/<name>.yaml) or a path to a gate YAML; null: no gate
    gate: str | None = None
    #: skip unreadable images / bad labels (counted, named in the log) instead of stopping
    skip_bad: bool = False
    plots: bool = True
    #: experiment used only when the weights' training run is unknown
    tracking: TrackingConfig = field(
        default_factory=lambda: TrackingConfig(experiment="figure_ml-eval")
    )
    #: MLflow run to log into; null: read from the weights' run folder (run.json) if any
    run_id: str | None = None

    @property
    def teachers(self) -> list[str]:
        """``teacher`` as a list of names (empty: no teacher baseline)."""
        t = self.teacher
        if t in (None, "", "???"):
            return []
        return [t] if isinstance(t, str) else [str(x) for x in t]

    def validate(self) -> None:
        if self.teacher is not None and not isinstance(self.teacher, str | list | tuple):
            raise ConfigError(f"teacher must be a name or a list of names, got {self.teacher!r}")
        given = [k for k in ("weights", "manifest") if getattr(self, k) not in (None, "", "???")]
        given += ["teacher"] if self.teachers else []
        if len(given) != 1:
            raise ConfigError(
                "give exactly one of weights=FILE (.pt, .onnx, .ort), "
                "manifest=EXPORT/manifest.json or teacher=NAME (or [NAME,...]); "
                f"got {given or 'none'}"
            )
        if self.manifest and (self.calibrate or self.thresholds_file):
            raise ConfigError(
                "manifest= scores the operating point the manifest ships; calibrate=true and "
                "thresholds_file= apply to weights= runs only"
            )
        if self.calibrate and self.thresholds_file:
            raise ConfigError("give calibrate=true or thresholds_file=, not both")
        for name, table in (("thresholds", self.thresholds), ("padding", self.padding)):
            if set(table) != set(CLASS_NAMES):
                raise ConfigError(
                    f"{name} must give every class {list(CLASS_NAMES)}, got {sorted(table)}"
                )
            bad = {k: v for k, v in table.items() if not 0 <= v <= 1}
            if bad:
                raise ConfigError(f"{name}: values must be within 0..1, got {bad}")
        self.calibration.validate()
        if not 0 < self.kappa <= 1:
            raise ConfigError(f"kappa must be within (0, 1], got {self.kappa}")
        if not 0 < self.budget <= 1:
            raise ConfigError(f"budget must be within (0, 1], got {self.budget}")
        if self.predictor.strategy not in ("whole", "tiled"):
            raise ConfigError(
                f"predictor.strategy must be whole or tiled, got {self.predictor.strategy!r}"
            )
        if self.bootstrap_resamples < 10:
            raise ConfigError("bootstrap_resamples must be >= 10")
        self._refuse_settings_the_subject_ignores()
        self.tracking.validate()

    def _refuse_settings_the_subject_ignores(self) -> None:
        """``manifest=`` runs the manifest's own predictor, thresholds and padding; a teacher
        baseline runs its teachers at their thresholds (``padding`` still applies); only a
        manifest has artifacts to pick. A setting changed from its default where it is not
        used would be ignored while the figures looked as if it had applied: it is refused."""
        default = EvalConfig()
        ignored: list[str] = []
        if self.manifest or self.teachers:
            ignored += changed_settings(self.predictor, default.predictor, "predictor")
            ignored += changed_settings(self.thresholds, default.thresholds, "thresholds")
        if self.manifest:
            ignored += changed_settings(self.padding, default.padding, "padding")
        else:
            ignored += changed_settings(
                self.manifest_artifact, default.manifest_artifact, "manifest_artifact"
            )
        if not ignored:
            return
        subject = "manifest" if self.manifest else "teacher" if self.teachers else "weights"
        why = {
            "manifest": "it scores what the manifest ships (its own input size, NMS, mirrored "
            "pass, tiling, thresholds and padding); score weights=FILE to try others",
            "teacher": "a teacher runs as its module defines it, at its authors' thresholds "
            "(or calibrate=true, thresholds_file=), and has no manifest artifacts",
            "weights": "manifest_artifact picks an artifact of manifest= only",
        }[subject]
        raise ConfigError(f"{subject}= does not use {', '.join(ignored)}: {why}")


def changed_settings(value: Any, default: Any, name: str) -> list[str]:
    """Dotted names of the settings in ``value`` (a config dataclass, a dict or a value) that
    differ from ``default``."""
    if is_dataclass(value):
        return [
            n
            for f in fields(value)
            for n in changed_settings(
                getattr(value, f.name), getattr(default, f.name), f"{name}.{f.name}"
            )
        ]
    if isinstance(value, dict):
        return [
            f"{name}.{k}"
            for k in sorted(set(value) | set(default))
            if value.get(k) != default.get(k)
        ]
    return [name] if value != default else []


# --- public-dataset converters (python -m figure_ml.data.convert) -----------------------------


@dataclass
class DatasetWriteConfig:
    """Options of every writer of a canonical dataset (convert, autolabel): what is kept and
    how shards are written (figure_ml.data.convert.write.Target)."""

    #: the canonical dataset to write
    out_dir: str = "???"
    #: keep images with no PHI box (negatives)
    keep_empty: bool = True
    #: boxes smaller than this (px, either side, after clipping) are skipped
    min_box_side: float = 1.0
    #: at most this many images per split (quick trials); null: all
    limit: int | None = None
    shard_size: int = 500
    overwrite: bool = False

    def validate_writing(self) -> None:
        """The checks of these options; each writer's ``validate`` calls it."""
        if self.min_box_side <= 0:
            raise ConfigError(f"min_box_side must be > 0, got {self.min_box_side}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be >= 1 or null, got {self.limit}")
        if self.shard_size < 1:
            raise ConfigError(f"shard_size must be >= 1, got {self.shard_size}")


@dataclass
class ConvertConfig(DatasetWriteConfig):
    """``python -m figure_ml.data.convert``: a downloaded public dataset -> canonical dataset."""

    #: wider_face | fddb | textocr | coco_text | icdar2015 | total_text | coco | voc | yolo
    source: str = "???"
    #: the folder the dataset was downloaded/unpacked into, laid out as its authors ship it
    input: str = "???"
    #: all | train | val | test: which canonical split(s) to write
    split: str = "all"
    #: licence string; fixed for the named public datasets, required for coco/voc/yolo
    licence: str | None = None
    #: source label -> PHI class name (null: drop that label); merged over the source's defaults
    classes: dict[str, Any] = field(default_factory=dict)
    #: name recorded as meta.source for generic formats (coco/voc/yolo); null: the format name
    source_name: str | None = None
    #: share of the source's train images moved to val (by hashed file name); null: 0.1 when
    #: the source has no val split of its own, else 0
    val_fraction: float | None = None
    #: share of the source's train images moved to test (generic sources without a test split)
    test_fraction: float = 0.0
    #: FDDB has ten folds and no official split: fold numbers per canonical split
    fddb_folds: dict[str, list[int]] = field(
        default_factory=lambda: {"train": [1, 2, 3, 4, 5, 6, 7, 8], "val": [9], "test": [10]}
    )
    #: generic formats: split -> annotation file (coco) / list file (voc) / image folder (yolo),
    #: relative to input; empty: found from the usual layouts
    files: dict[str, str] = field(default_factory=dict)
    #: generic formats: split -> image folder relative to input (coco); empty: searched
    images: dict[str, str] = field(default_factory=dict)
    #: keep text marked illegible / don't-care as text boxes (it is still text on the photo)
    keep_illegible: bool = True

    def validate(self) -> None:
        from figure_ml.data.schema import SPLITS

        for name in ("source", "input", "out_dir"):
            if getattr(self, name) in ("???", ""):
                raise ConfigError(f"{name}=... is required")
        if self.split != "all" and self.split not in SPLITS:
            raise ConfigError(f"split must be all or one of {list(SPLITS)}, got {self.split!r}")
        bad = {k: v for k, v in self.classes.items() if v is not None and v not in CLASS_NAMES}
        if bad:
            raise ConfigError(f"classes: unknown PHI class in {bad}; known: {list(CLASS_NAMES)}")
        vf = self.val_fraction or 0.0
        if not (0 <= vf < 1 and 0 <= self.test_fraction < 1 and vf + self.test_fraction < 1):
            raise ConfigError("val_fraction and test_fraction must be within [0, 1), sum < 1")
        if set(self.fddb_folds) - set(SPLITS):
            raise ConfigError(f"fddb_folds keys must be splits {list(SPLITS)}")
        self.validate_writing()


# --- dataset mixes (python -m figure_ml.data.mix) ---------------------------------------------


@dataclass
class MixSourceConfig:
    """One canonical dataset in a mix."""

    path: str = "???"
    #: sampling weight of its train split (0: evaluation only)
    weight: float = 1.0
    #: take its val/test splits into the mix's val/test
    eval: bool = True


@dataclass
class MixConfig:
    """``python -m figure_ml.data.mix``: weighted mix of canonical datasets -> one dataset."""

    name: str = "???"
    sources: dict[str, MixSourceConfig] = field(default_factory=dict)
    #: training rows; null: as many as the weights allow without repeating any row
    train_size: int | None = None
    seed: int = 0
    #: drop sources whose licence is non-commercial, no-derivatives or unknown
    commercial_safe: bool = False
    out_dir: str = "???"
    shard_size: int = 500
    overwrite: bool = False

    def validate(self) -> None:
        if self.name in ("???", ""):
            raise ConfigError("name=... is required")
        if self.out_dir in ("???", ""):
            raise ConfigError("out_dir=... is required")
        if not self.sources:
            raise ConfigError("sources: a mix needs at least one source")
        for key, src in self.sources.items():
            if src.path in ("???", ""):
                raise ConfigError(f"sources.{key}.path is required")
            if src.weight < 0:
                raise ConfigError(f"sources.{key}.weight must be >= 0, got {src.weight}")
        if self.train_size is not None and self.train_size < 1:
            raise ConfigError(f"train_size must be >= 1 or null, got {self.train_size}")
        if self.shard_size < 1:
            raise ConfigError(f"shard_size must be >= 1, got {self.shard_size}")


# --- export (python -m figure_ml.export) ------------------------------------------------------


@dataclass
class Int8Config:
    enabled: bool = True
    #: training-split images used to calibrate activation ranges
    calibration_images: int = 64
    #: quantize the detection head too (never for shipping: shows the parity gate works)
    quantize_head: bool = False
    #: multiply every dequantization scale by this (1 = off; tests of the parity gate only)
    corrupt_scale_factor: float = 1.0


@dataclass
class ParityConfig:
    """Every artifact is re-evaluated; these bounds decide whether it ships."""

    #: per class, the upper 95% bound of the paired miss-rate difference (artifact minus FP32,
    #: same images) may be at most this (0.01 = 1 point)
    int8_max_delta: float = 0.01
    #: the same for over-redaction: upper 95% bound of the paired difference in points of the
    #: area outside GT (an artifact that hides more than FP32 is not shipped either)
    max_over_redaction_delta: float = 0.01
    #: FP32 ONNX vs .pt: IoU every matched box must reach
    box_iou: float = 0.99
    #: boxes compared above this score, on this many test images
    box_conf: float = 0.25
    box_images: int = 32


@dataclass
class TilingConfig:
    mode: str = "auto"
    #: tile side; null: the model input size
    tile: int | None = None
    overlap: float = 0.2
    min_long_side: int = 1600
    merge_iou: float = NMS_IOU
    #: tiles come from the photo shrunk to at most this long side; 0: full resolution
    tile_long_side: int = 0
    #: a tile's box longer than this share of the tile is dropped (1.0: keep every box)
    max_box_fraction: float = 1.0
    #: drop a tile's box that touches an inner tile border (a cut object)
    drop_cut_boxes: bool = False


@dataclass
class LatencyConfig:
    runs: int = 20
    warmup: int = 3
    #: onnxruntime intra-op threads; null: onnxruntime's default (all cores)
    threads: int | None = None


@dataclass
class RegistryConfig:
    enabled: bool = True
    name: str = "figure_ml-phi-detector"


@dataclass
class ExportConfig:
    """``python -m figure_ml.export``: ONNX FP32 / INT8 / ORT (/ FP16), re-evaluated, manifest."""

    #: a training run folder (weights/best.pt, config.yaml, run.json) ...
    run_dir: str | None = None
    #: ... or a weights file plus a dataset
    weights: str | None = None
    data: EvalDataConfig = field(default_factory=lambda: EvalDataConfig(path=""))
    out_dir: str = "???"
    overwrite: bool = False
    name: str = "figure_ml-phi-detector"
    #: model input size; null: the size the model was trained at
    imgsz: int | None = None
    #: the manifest's ``output.nms_iou``, the class-aware NMS the redactor applies
    nms_iou: float = NMS_IOU
    #: the manifest's ``output.flip_tta``: the redactor also runs the model on the mirrored
    #: photo and merges the boxes, twice the model time. auto: chosen on the calibration split
    #: (figure_ml.export.mirror_choice; with thresholds_file: the way it was fitted); true; false
    flip_tta: str = "auto"
    opset: int = 17
    dynamic_batch: bool = False
    int8: Int8Config = field(default_factory=Int8Config)
    ort: bool = True
    fp16: bool = False
    parity: ParityConfig = field(default_factory=ParityConfig)
    #: thresholds.json from an evaluation of the same weights (checked: classes, padding, kappa,
    #: weights sha256); null: calibrate thresholds and padding on val with the FP32 ONNX model
    thresholds_file: str | None = None
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    #: teachers shipped beside the model (figure_ml.teachers names): their ONNX copied into the
    #: export, every member calibrated on val so that the union meets the targets (a detector set)
    teachers: list[str] = field(default_factory=list)
    kappa: float = 0.95
    #: over-redaction budget of the headline figure miss@OR<=budget in the manifest and card
    budget: float = 0.05
    split: str = "test"
    tiling: TilingConfig = field(default_factory=TilingConfig)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    bootstrap_resamples: int = 1000
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)

    @property
    def flip_mode(self) -> str:
        """``flip_tta`` as ``auto``, ``true`` or ``false`` (the CLI's ``flip_tta=true`` arrives
        as the string ``True``)."""
        return str(self.flip_tta).lower()

    def validate(self) -> None:
        if bool(self.run_dir) == bool(self.weights):
            raise ConfigError("give exactly one of run_dir=OUT or weights=FILE (with data.path)")
        if self.weights and not self.data.path:
            raise ConfigError("weights=FILE needs data.path=DIR (calibration and test images)")
        if self.out_dir in ("???", ""):
            raise ConfigError("out_dir=X is required")
        if self.opset < 11:
            raise ConfigError(f"opset must be >= 11, got {self.opset}")
        if self.imgsz is not None:
            check_imgsz("imgsz", self.imgsz)
        if not 0 <= self.nms_iou <= 1:  # the manifest schema's range, refused before any work
            raise ConfigError(f"nms_iou must be within 0..1, got {self.nms_iou}")
        if self.flip_mode not in ("auto", "true", "false"):
            raise ConfigError(f"flip_tta must be auto, true or false, got {self.flip_tta!r}")
        if self.data.format not in DATA_FORMATS:
            raise ConfigError(
                f"data.format must be {', '.join(DATA_FORMATS)}, got {self.data.format!r}"
            )
        if self.tiling.mode not in ("auto", "on", "off"):
            raise ConfigError(f"tiling.mode must be auto, on or off, got {self.tiling.mode!r}")
        if self.int8.calibration_images < 1:
            raise ConfigError("int8.calibration_images must be >= 1")
        if not 0 < self.kappa <= 1:
            raise ConfigError(f"kappa must be within (0, 1], got {self.kappa}")
        if not 0 < self.budget <= 1:
            raise ConfigError(f"budget must be within (0, 1], got {self.budget}")
        if self.parity.max_over_redaction_delta < 0:
            raise ConfigError(
                "parity.max_over_redaction_delta must be >= 0, got "
                f"{self.parity.max_over_redaction_delta}"
            )
        if self.parity.int8_max_delta < 0:
            raise ConfigError(
                f"parity.int8_max_delta must be >= 0, got {self.parity.int8_max_delta}"
            )
        self.calibration.validate()
        self.tracking.validate()


# --- autolabel (python -m figure_ml.data.autolabel) -------------------------------------------


@dataclass
class AutolabelConfig(DatasetWriteConfig):
    """``python -m figure_ml.data.autolabel``: a folder of unlabelled photos -> a canonical
    dataset labelled by pretrained teachers (figure_ml.teachers), for review and training."""

    #: folder of the photos (searched recursively; jpg, png, heic, ...)
    input: str = "???"
    #: teacher names from figure_ml.teachers.registry.TEACHERS
    teachers: list[str] = field(default_factory=lambda: ["centerface", "ppocr_det"])
    #: licence of the photos, given by their owner: e.g. proprietary-owned, CC-BY-4.0, unknown
    licence: str = "???"
    #: keep boxes whose teacher score is >= this; null: each teacher's default threshold
    min_score: float | None = None
    #: per-teacher score thresholds that override min_score, e.g. {centerface: 0.4}
    thresholds: dict[str, float] = field(default_factory=dict)
    #: the split the photos go to; val_fraction / test_fraction move a hashed share of them
    split: str = "train"
    val_fraction: float = 0.0
    test_fraction: float = 0.0
    #: boxes smaller than this (px, either side, after clipping) are skipped: teacher boxes
    #: below 2 px are noise more often than PHI
    min_box_side: float = 2.0
    #: onnxruntime intra-op threads per teacher; null: onnxruntime's default (all cores)
    threads: int | None = None

    def validate(self) -> None:
        from figure_ml.data.schema import SPLITS
        from figure_ml.teachers.registry import TEACHERS, one_teacher_per_class

        for name in ("input", "out_dir", "licence"):
            if getattr(self, name) in ("???", ""):
                hint = " (the photos' licence, e.g. proprietary-owned)" if name == "licence" else ""
                raise ConfigError(f"{name}=... is required{hint}")
        if not self.teachers:
            raise ConfigError("teachers: name at least one teacher")
        unknown = [t for t in [*self.teachers, *self.thresholds] if t not in TEACHERS]
        if unknown:
            raise ConfigError(f"unknown teacher {unknown[0]!r}; known: {list(TEACHERS)}")
        if len(set(self.teachers)) != len(self.teachers):
            raise ConfigError(f"teachers: each teacher once, got {self.teachers}")
        one_teacher_per_class(list(self.teachers))
        scores = {"min_score": self.min_score, **self.thresholds}
        bad = {k: v for k, v in scores.items() if v is not None and not 0 <= v <= 1}
        if bad:
            raise ConfigError(f"score thresholds must be within 0..1, got {bad}")
        if self.split not in SPLITS:
            raise ConfigError(f"split must be one of {list(SPLITS)}, got {self.split!r}")
        vf, tf = self.val_fraction, self.test_fraction
        if not (0 <= vf < 1 and 0 <= tf < 1 and vf + tf < 1):
            raise ConfigError("val_fraction and test_fraction must be within [0, 1), sum < 1")
        self.validate_writing()
