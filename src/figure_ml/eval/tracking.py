"""Evaluation results to MLflow: into the training run when its id is known (from config or the
weights' run folder), otherwise a new run tagged with the training run it evaluates.

Only aggregate numbers, metrics.json, report.md, thresholds.json and the charts go out — never
an image of the data or a file name.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from figure_ml.classes import CLASS_NAMES
from figure_ml.config import EvalConfig
from figure_ml.eval.gates import n_skipped

log = logging.getLogger(__name__)


def training_run_id(cfg: EvalConfig) -> str | None:
    """``cfg.run_id``, else the MLflow run id in ``<run dir>/run.json`` of ``weights``."""
    if cfg.run_id:
        return cfg.run_id
    if not cfg.weights:  # a manifest or a teacher baseline: no training run folder to read
        return None
    for parent in Path(cfg.weights).resolve().parents[:3]:
        info = parent / "run.json"
        if info.is_file():
            try:
                return json.loads(info.read_text()).get("mlflow_run_id")
            except ValueError:
                return None
    return None


def flat_metrics(m: dict[str, Any], prefix: str) -> dict[str, float]:
    """The headline numbers as MLflow metric names (``<prefix>.<name>``); NaN left out."""
    out: dict[str, float] = {}

    def put(key: str, value: Any) -> None:
        if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
            out[f"{prefix}.{key}"] = float(value)

    for key in (
        "miss_rate",
        "image_leak_rate",
        "over_redaction",
        "finding_occlusion",
        "map50",
        "map50_95",
    ):
        put(key, m.get(key))
        ci = m.get(f"{key}_ci")
        if ci:
            put(f"{key}_ci_low", ci[0])
            put(f"{key}_ci_high", ci[1])
    put("budget", m.get("budget"))
    put("at_budget.threshold", (m.get("at_budget") or {}).get("threshold"))
    put("at_budget.over_redaction", (m.get("at_budget") or {}).get("over_redaction"))
    put("image_leak_rate_upper", m.get("image_leak_rate_upper"))
    put("n_images_with_phi", m.get("n_images_with_phi"))
    put("n_skipped", n_skipped(m))
    for name, v in (m.get("over_redaction_by_class") or {}).items():
        put(f"{name}.over_redaction", v.get("value"))
    for name in CLASS_NAMES:
        c = m["per_class"][name]
        for key in (
            "miss_rate",
            "miss_rate_upper",
            "miss_at_budget",
            "miss_at_budget_upper",
            "recall",
            "precision",
            "ap50",
            "ap50_95",
        ):
            put(f"{name}.{key}", c.get(key))
        put(f"{name}.miss_rate_ci_high", c["miss_rate_ci"][1])
        put(f"{name}.padding", m["padding"][name])
        put(f"{name}.threshold", m["thresholds"][name])
    return out


def log_evaluation(cfg: EvalConfig, result: Any) -> None:
    """Log an :class:`~figure_ml.eval.run.EvalResult`; tracking problems only warn."""
    if cfg.tracking.backend == "none":
        return
    from figure_ml.tracking import CHART_KIND, image_policy, open_tracker

    train_run = training_run_id(cfg)
    m = result.metrics
    policy = image_policy(dataset_is_synthetic=bool(m["dataset"]["synthetic"]), log_images=False)
    try:
        tracker = open_tracker(
            cfg.tracking,
            policy,
            run_name=cfg.tracking.run_name or f"eval-{result.out_dir.name}",
            resume_run_id=train_run,
        )
    except Exception as exc:  # evaluation results are on disk; tracking is a copy
        log.warning("evaluation not logged to MLflow (%s); results are in %s", exc, result.out_dir)
        return
    split = m["dataset"]["split"]
    tracker.log_metrics(flat_metrics(m, f"eval.{split}"))
    tags = {"figure_ml.eval.split": split, "figure_ml.eval.model_sha256": m["model"]["sha256"]}
    if m["model"].get("teachers"):  # a baseline: the comparison notebook lists it by name
        tags["figure_ml.eval.teacher"] = "+".join(t["name"] for t in m["model"]["teachers"])
        tags["figure_ml.eval.teacher_sha256"] = m["model"]["sha256"]
        tags["figure_ml.kind"] = "teacher_baseline"
    if "members" in m:
        tags["figure_ml.eval.members"] = "+".join(m["members"])
    if m["dataset"]["digest"]:
        tags["figure_ml.eval.dataset_digest"] = m["dataset"]["digest"]
    if "gates" in m:
        verdict = "pass" if m["gates"]["passed"] else "fail"
        tags["figure_ml.eval.gate"] = f"{m['gates']['name']}:{verdict}"
    if train_run is None:
        tags.setdefault("figure_ml.kind", "evaluation")
    tracker.set_tags(tags)
    for name in ("metrics.json", "report.md", "thresholds.json"):
        tracker.log_artifact(result.out_dir / name, "evaluation", subdir=f"eval/{split}")
    for png in sorted(result.out_dir.glob("*.png")):
        tracker.log_artifact(png, CHART_KIND, subdir=f"eval/{split}")
    tracker.finish()
