"""Export results to MLflow: artifacts + manifest into the training run, a registered model
version tagged with the manifest's figures, alias ``candidate`` only when every gate passed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from figure_ml.classes import CLASS_NAMES
from figure_ml.config import ExportConfig

log = logging.getLogger(__name__)


def register(
    cfg: ExportConfig, out: Path, manifest: dict[str, Any], passed: bool, run_id: str | None
) -> dict[str, Any] | None:
    """Log and register; returns ``{"name", "version", "alias"}`` or None (tracking off or
    unavailable: exports never fail because a tracker is down)."""
    if cfg.tracking.backend == "none":
        return None
    from figure_ml.tracking import image_policy, open_tracker

    try:
        tracker = open_tracker(
            cfg.tracking,
            image_policy(dataset_is_synthetic=False, log_images=False),
            run_name=cfg.tracking.run_name or f"export-{out.name}",
            resume_run_id=run_id,
        )
    except Exception as exc:
        log.warning("export not logged to MLflow (%s); files are in %s", exc, out)
        return None
    for a in manifest["artifacts"]:
        tracker.log_artifact(out / a["file"], "weights", subdir="export")
    for f in ("manifest.json", "MODEL_CARD.md"):
        tracker.log_artifact(out / f, "export", subdir="export")
    from figure_ml.tracking import CHART_KIND

    for png in sorted(out.glob("*.png")):  # aggregate charts only (miss vs over-redaction)
        tracker.log_artifact(png, CHART_KIND, subdir="export")
    tags = _figures(manifest)
    tracker.set_tags({f"figure_ml.export.{k}": v for k, v in tags.items()})
    result = None
    if cfg.registry.enabled and getattr(tracker, "client", None) is not None:
        try:
            result = _register_version(tracker, cfg.registry.name, tags, passed)
        except Exception as exc:  # registry is optional; the export is on disk
            log.warning("model registry: %s", exc)
    tracker.finish()
    return result


def _figures(manifest: dict[str, Any]) -> dict[str, str]:
    tags = {"sha256": manifest["artifacts"][0]["sha256"], "git_commit": manifest["git_commit"]}
    for a in manifest["artifacts"]:
        pc = (a.get("metrics") or {}).get("per_class") or {}
        for c in CLASS_NAMES:
            if c in pc and pc[c].get("miss_rate") is not None:
                tags[f"{a['name']}.miss_rate.{c}"] = f"{pc[c]['miss_rate']:.4f}"
            if c in pc and pc[c].get("miss_at_budget") is not None:
                tags[f"{a['name']}.miss_at_budget.{c}"] = f"{pc[c]['miss_at_budget']:.4f}"
        if a.get("latency"):
            tags[f"{a['name']}.latency_ms"] = str(a["latency"]["median_ms"])
    met = (manifest.get("calibration") or {}).get("met") or {}
    for c in CLASS_NAMES:
        tags[f"threshold.{c}"] = f"{manifest['thresholds'][c]:.4f}"
        tags[f"padding.{c}"] = f"{manifest['padding'][c]:.2f}"
        if c in met:
            tags[f"target_met.{c}"] = str(bool(met[c])).lower()
    if manifest.get("budget") is not None:
        tags["budget"] = str(manifest["budget"])
    return tags


def _register_version(tracker: Any, name: str, tags: dict[str, str], passed: bool):
    client = tracker.client
    try:
        client.get_registered_model(name)
    except Exception:
        client.create_registered_model(name, description="figure_ml PHI detector exports")
    source = f"runs:/{tracker.run_id}/export"
    mv = client.create_model_version(name, source, run_id=tracker.run_id, tags=tags)
    alias = None
    if passed:
        client.set_registered_model_alias(name, "candidate", mv.version)
        alias = "candidate"
    log.info("registered %s version %s%s", name, mv.version, " as candidate" if alias else "")
    return {"name": name, "version": str(mv.version), "alias": alias}
