"""What an export's manifest says: the per-artifact entries and the top-level fields.

Kept apart from :mod:`figure_ml.export.run` (which builds, scores and stages the files) so the
contract with the apps reads in one place.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from figure_ml import manifest, provenance
from figure_ml.atomic import jsonable
from figure_ml.classes import CLASS_NAMES
from figure_ml.config import ExportConfig
from figure_ml.eval.operating_point import OperatingPoint
from figure_ml.eval.overlap import RECORD_KEYS
from figure_ml.export import latency
from figure_ml.export.parity import ParityCheck
from figure_ml.export.sources import ExportSource


def by_photo_size(m: dict[str, Any]) -> dict[str, Any]:
    """Over-redaction and miss rate per photo-size band (``slices.photo_size``): which sizes of
    photo the pooled over-redaction was measured on, and whether it holds on each."""
    keep = (
        "n_images",
        "over_redaction",
        "over_redaction_ci",
        "n_gt",
        "n_missed",
        "miss_rate",
        "miss_rate_ci",
        "miss_rate_ci_exact",
    )
    bands = (m.get("slices") or {}).get("photo_size") or {}
    return {band: {k: b[k] for k in keep} for band, b in bands.items()}


def summary(m: dict[str, Any]) -> dict[str, Any]:
    """The per-artifact metrics the manifest carries (no per-image data)."""
    worst = []
    for key in ("size", "skin_tone", "source", "photo_size"):
        for name, s in (m["slices"].get(key) or {}).items():
            if s.get("n_gt"):
                worst.append(
                    {
                        "slice": f"{key}={name}",
                        "miss_rate": s["miss_rate"],
                        "miss_rate_ci": s["miss_rate_ci"],
                        "n_gt": s["n_gt"],
                    }
                )
    worst.sort(key=lambda w: -w["miss_rate"])
    keep = (
        "miss_rate",
        "miss_rate_ci",
        "miss_rate_ci_exact",
        "miss_rate_upper",
        "n_gt",
        "n_missed",
        "miss_at_budget",
        "miss_at_budget_ci",
        "miss_at_budget_ci_exact",
        "miss_at_budget_upper",
    )
    return jsonable(
        {
            "per_class": {c: {k: m["per_class"][c].get(k) for k in keep} for c in CLASS_NAMES},
            "image_leak_rate": m["image_leak_rate"],
            "image_leak_rate_ci": m["image_leak_rate_ci"],
            "image_leak_rate_ci_exact": m["image_leak_rate_ci_exact"],
            "image_leak_rate_upper": m["image_leak_rate_upper"],
            "n_images_with_phi": m["n_images_with_phi"],
            "over_redaction": m["over_redaction"],
            "over_redaction_ci": m["over_redaction_ci"],
            "finding_occlusion": m["finding_occlusion"],
            "finding_occlusion_ci": m["finding_occlusion_ci"],
            "budget": m.get("budget"),
            "at_budget": m.get("at_budget"),
            "n_images": m["n_images"],
            # which photo sizes the over-redaction above was measured on (figure_ml.sizes)
            "by_photo_size": by_photo_size(m),
            "worst_slices": worst[:5],
        }
    )


def artifact_entry(
    cfg: ExportConfig,
    name: str,
    path: Path,
    fmt: str,
    precision: str,
    metrics: dict[str, Any],
    checks: list[ParityCheck],
    imgsz: int,
    passes: int = 1,
) -> dict[str, Any]:
    """One ``artifacts[]`` entry: file, sha256, its test metrics, latency (of ``passes`` model
    runs, two with the mirrored pass) and parity checks."""
    lat = latency.measure(
        path,
        imgsz,
        runs=cfg.latency.runs,
        warmup=cfg.latency.warmup,
        threads=cfg.latency.threads,
        passes=passes,
    )
    parity = {
        "passed": True,
        "checks": [c.__dict__ for c in checks if c.artifact == name],
        "int8_max_delta": cfg.parity.int8_max_delta,
        "max_over_redaction_delta": cfg.parity.max_over_redaction_delta,
    }
    return manifest.artifact_entry(
        path,
        name=name,
        fmt=fmt,
        precision=precision,
        opset=cfg.opset,
        metrics=summary(metrics),
        latency=lat,
        parity=jsonable(parity),
    )


def manifest_data(
    cfg: ExportConfig,
    src: ExportSource,
    spec: dict[str, Any],
    op: OperatingPoint,
    entries: list,
    test_digest: str | None,
) -> dict[str, Any]:
    """Everything ``manifest.json`` says besides the schema version (the manifest contract,
    docs/design.md)."""
    budget = op.extra.get("budget") or {}
    return {
        "name": cfg.name,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "classes": [{"id": i, "name": n} for i, n in enumerate(CLASS_NAMES)],
        **spec,
        "thresholds": {c: float(op.thresholds[c]) for c in CLASS_NAMES},
        "padding": {c: float(op.padding[c]) for c in CLASS_NAMES},
        "kappa": op.kappa,
        "calibration": {
            "source": "thresholds_file" if cfg.thresholds_file else "export",
            "met": op.met,
            "not_met": op.not_met(),
            "targets": op.targets,
            "max_over_redaction": budget.get("max_over_redaction"),
            # the shipped point's over-redaction on that split, and whether it is within
            "over_redaction": budget.get("over_redaction"),
            # what was held to the budget: its upper 95% bound ("upper") or the point itself
            "budget_bound": budget.get("bound", "point"),
            "over_redaction_ci": budget.get("over_redaction_ci"),
            # what "met" means for a class target: its val miss rate ("point") or the exact
            # upper 95% bound of it ("upper") within the target (eval/calibration.py)
            "target_bound": budget.get("target_bound", "point"),
            "budget_met": budget.get("met"),
            # split, dataset digest and image fingerprints: eval refuses to score those images
            **{k: op.extra.get(k) for k in RECORD_KEYS},
        },
        "budget": cfg.budget,
        "artifacts": entries,
        "training": {
            "mlflow_run_id": src.mlflow_run_id,
            "model": src.model_name,
            "weights_sha256": manifest.sha256_file(src.weights),
        },
        "datasets": {
            "train": {"digest": src.train_digest, "licences": src.licences},
            "evaluation": {"digest": test_digest, "split": cfg.split},
        },
        "git_commit": provenance.git_commit(),
        "packages": provenance.package_versions(),
    }


def left_out(failed: set[str], checks: list[ParityCheck]) -> list[dict[str, Any]]:
    """The artifacts not shipped, each with the parity checks it failed. One with no failed
    check of its own is made from a failed artifact (the INT8 ORT file from INT8), and export
    does not build it then (``export.run._derived_artifacts``): it says so."""
    out = []
    for name in sorted(failed):
        own = [c for c in checks if c.artifact == name and not c.passed]
        reason = "; ".join(f"{c.check} {c.value:.4f} > {c.bound:.4f}" for c in own)
        out.append({"artifact": name, "reason": reason or "not built: from a left-out artifact"})
    return out
