"""Experiment tracking behind a small interface, with an allowlist of what may leave the machine.

Training code talks to a :class:`Tracker`; :func:`open_tracker` returns an MLflow-backed one or
a :class:`NullTracker`. Two rules are enforced here rather than trusted to callers:

- **PHI**: an artifact is logged only if its *kind* is allowlisted (:data:`ARTIFACT_KINDS`), and
  nothing that is or contains an image file goes out unless the policy allows images, which
  :func:`image_policy` grants only for synthetic data with ``tracking.log_images`` on.
- **Training outlives the tracker**: an unreachable server at start is a clear error before any
  work; a failure later (server gone mid-run) is logged once as a warning, tracking stops, and
  training carries on with its results on disk.
"""

from __future__ import annotations

import logging
import os
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from figure_ml.config import TrackingConfig
from figure_ml.errors import ConfigError

log = logging.getLogger(__name__)

# MLflow 3 sends usage telemetry over the internet unless told not to; runs here stay offline.
# Set before mlflow is first imported (this module imports it lazily).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

#: what may be logged as an artifact, by kind
ARTIFACT_KINDS: frozenset[str] = frozenset(
    {
        "config",
        "results",
        "weights",
        "model_yaml",
        "run_info",
        "dataset_info",
        "evaluation",
        "export",
        "chart",
    }
)
#: the kind that carries pixels; allowed only by an image policy
IMAGE_KIND = "image"
#: charts figure_ml draws from aggregate numbers (miss rate curves, bars): PNG files that hold
#: no pixel of any photo, so the image policy does not apply to them
CHART_KIND = "chart"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


class TrackingUnavailable(ConfigError):  # named for what the user sees
    """The configured tracking server cannot be reached (raised before training starts)."""


@dataclass(frozen=True)
class ArtifactPolicy:
    """Whether images may be logged. Build it with :func:`image_policy`."""

    images: bool = False


def image_policy(*, dataset_is_synthetic: bool, log_images: bool) -> ArtifactPolicy:
    """Images only for synthetic data whose config opts in; everything else says no."""
    if log_images and not dataset_is_synthetic:
        log.warning("tracking.log_images ignored: the dataset is not synthetic (may hold PHI)")
    return ArtifactPolicy(images=bool(log_images and dataset_is_synthetic))


def _has_images(path: Path) -> bool:
    if path.is_dir():
        return any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.rglob("*") if p.is_file())
    return path.suffix.lower() in IMAGE_SUFFIXES


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": "1"}``; values as strings, the way MLflow stores params."""
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(flatten(v, f"{key}."))
        else:
            out[key] = str(v)[:6000]  # MLflow's limit on a param value
    return out


def default_uri(local_dir: str | os.PathLike[str]) -> str:
    """The embedded store: a SQLite file inside ``local_dir``."""
    return f"sqlite:///{(Path(local_dir).resolve() / 'mlflow.db').as_posix()}"


def resolve_uri(cfg: TrackingConfig) -> str:
    """Config URI, else ``$MLFLOW_TRACKING_URI``, else the embedded store."""
    return cfg.uri or os.environ.get("MLFLOW_TRACKING_URI") or default_uri(cfg.local_dir)


def check_server(uri: str, timeout_s: float) -> None:
    """For an HTTP(S) URI, :class:`TrackingUnavailable` unless ``/health`` answers in time."""
    if not uri.startswith(("http://", "https://")):
        return
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            if resp.status == 200:
                return
            problem = f"HTTP {resp.status}"
    except (urllib.error.URLError, OSError) as exc:
        problem = str(getattr(exc, "reason", exc))
    raise TrackingUnavailable(
        f"MLflow tracking server {uri} is unreachable ({problem}); start it, fix tracking.uri "
        f"or MLFLOW_TRACKING_URI, or train with tracking=none"
    )


_OWN_ENV: set[str] = set()


def _set_env(key: str, value: object) -> None:
    """Set an MLflow client variable unless the user set it (then theirs wins)."""
    if key not in os.environ or key in _OWN_ENV:
        os.environ[key] = str(value)
        _OWN_ENV.add(key)


class Tracker:
    """Logging interface; this base class logs nothing (``tracking=none``)."""

    run_id: str | None = None
    uri: str | None = None
    experiment_id: str | None = None

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log (flattened) parameters."""

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log numeric metrics at ``step``."""

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Set run tags."""

    def log_dataset(self, *, name: str, path: str, digest: str, context: str = "training") -> None:
        """Record the dataset as a run input (by digest; never its content)."""

    def log_artifact(
        self, path: str | os.PathLike[str], kind: str, subdir: str | None = None
    ) -> bool:
        """Log a file if policy allows; returns whether it was logged."""
        return False

    def finish(self, status: str = "FINISHED") -> None:
        """Close the run with ``FINISHED``, ``FAILED`` or ``KILLED``."""


NullTracker = Tracker


class MlflowTracker(Tracker):
    """One MLflow run driven through ``MlflowClient`` (no global active-run state, so several
    runs in one process — a Hydra multirun — never leak into each other)."""

    def __init__(
        self,
        cfg: TrackingConfig,
        policy: ArtifactPolicy,
        *,
        run_name: str,
        resume_run_id: str | None = None,
    ) -> None:
        self.policy = policy
        self.uri = resolve_uri(cfg)
        self.broken = False
        if self.uri.startswith(("http://", "https://")):
            # MLflow retries HTTP calls for minutes by default; a dead server must not stall us.
            _set_env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", cfg.http_max_retries)
            _set_env("MLFLOW_HTTP_REQUEST_TIMEOUT", cfg.http_timeout_s)
            _set_env("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", 1)
            check_server(self.uri, cfg.connect_timeout_s)
        elif self.uri.startswith("sqlite:///"):
            Path(self.uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=self.uri)
        try:
            if resume_run_id:
                run = self.client.get_run(resume_run_id)
                self.experiment_id = run.info.experiment_id
                self.client.update_run(resume_run_id, status="RUNNING")
                self.run_id = resume_run_id
            else:
                self.experiment_id = self._experiment(cfg)
                run = self.client.create_run(self.experiment_id, run_name=run_name)
                self.run_id = run.info.run_id
        except Exception as exc:
            raise TrackingUnavailable(f"MLflow at {self.uri}: cannot open the run ({exc})") from exc
        log.info("MLflow run %s in experiment %s at %s", self.run_id, self.experiment_id, self.uri)

    def _experiment(self, cfg: TrackingConfig) -> str:
        exp = self.client.get_experiment_by_name(cfg.experiment)
        if exp is not None:
            return str(exp.experiment_id)
        artifacts = None
        if self.uri == default_uri(cfg.local_dir):  # embedded: artifacts beside the SQLite file
            artifacts = (Path(cfg.local_dir).resolve() / "artifacts").as_uri()
        try:
            return str(self.client.create_experiment(cfg.experiment, artifact_location=artifacts))
        except Exception:
            exp = self.client.get_experiment_by_name(cfg.experiment)  # created concurrently
            if exp is None:
                raise
            return str(exp.experiment_id)

    def _safe(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> bool:
        if self.broken:
            return False
        try:
            fn(*args, **kwargs)
            return True
        except Exception as exc:
            self.broken = True
            log.warning(
                "MLflow %s failed (%s); tracking stops, training goes on and its results "
                "stay on disk",
                what,
                exc,
            )
            return False

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, v) for k, v in flatten(params).items()]
        for i in range(0, len(items), 100):  # MLflow's batch limit for params
            self._safe("log_params", self.client.log_batch, self.run_id, params=items[i : i + 100])

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        ts = int(time.time() * 1000)
        items = [Metric(k, float(v), ts, step or 0) for k, v in metrics.items()]
        self._safe("log_metrics", self.client.log_batch, self.run_id, metrics=items)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        items = [RunTag(k, str(v)) for k, v in tags.items()]
        self._safe("set_tags", self.client.log_batch, self.run_id, tags=items)

    def log_dataset(self, *, name: str, path: str, digest: str, context: str = "training") -> None:
        from mlflow.data.dataset_source_registry import resolve_dataset_source
        from mlflow.data.meta_dataset import MetaDataset
        from mlflow.entities import DatasetInput, InputTag

        with warnings.catch_warnings():  # "can be interpreted in multiple ways": all local
            warnings.simplefilter("ignore", UserWarning)
            source = resolve_dataset_source(path)
        # MLflow caps dataset digests at 36 characters; the full digest goes into a tag.
        ds = MetaDataset(source, name=name, digest=digest[:32])
        tags = [InputTag("mlflow.data.context", context), InputTag("figure_ml.digest", digest)]
        entity = DatasetInput(ds._to_mlflow_entity(), tags=tags)
        self._safe("log_inputs", self.client.log_inputs, self.run_id, datasets=[entity])

    def log_artifact(
        self, path: str | os.PathLike[str], kind: str, subdir: str | None = None
    ) -> bool:
        path = Path(path)
        if kind == IMAGE_KIND or (kind != CHART_KIND and _has_images(path)):
            if not self.policy.images:
                log.warning(
                    "not logging %s: images go to the tracker only for synthetic data "
                    "with tracking.log_images on",
                    path.name,
                )
                return False
        elif kind not in ARTIFACT_KINDS:
            raise ValueError(
                f"artifact kind {kind!r} is not allowlisted ({sorted(ARTIFACT_KINDS)})"
            )
        if not path.exists():
            log.warning("artifact %s does not exist; not logged", path)
            return False
        fn = self.client.log_artifacts if path.is_dir() else self.client.log_artifact
        return self._safe(f"log_artifact({path.name})", fn, self.run_id, str(path), subdir)

    def finish(self, status: str = "FINISHED") -> None:
        self._safe("set_terminated", self.client.set_terminated, self.run_id, status)


def open_tracker(
    cfg: TrackingConfig, policy: ArtifactPolicy, *, run_name: str, resume_run_id: str | None = None
) -> Tracker:
    """The tracker ``cfg`` asks for; :class:`TrackingUnavailable` if its server is unreachable."""
    if cfg.backend == "none":
        return NullTracker()
    return MlflowTracker(cfg, policy, run_name=run_name, resume_run_id=resume_run_id)
