"""``export(cfg)``: FP32 ONNX -> INT8 -> ORT (-> FP16), each re-evaluated; manifest written last.

Everything is built in a staging folder next to ``out_dir`` and renamed into place at the end,
so an existing export is never half-replaced, and a crash leaves nothing at ``out_dir``.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from figure_ml import atomic, manifest, provenance
from figure_ml.classes import CLASS_NAMES
from figure_ml.config import ExportConfig
from figure_ml.errors import ConfigError, DatasetError
from figure_ml.eval.calibration import calibrate
from figure_ml.eval.data import load_eval_data
from figure_ml.eval.metrics import compute_metrics
from figure_ml.eval.predictors import OnnxPredictor, TorchPredictor
from figure_ml.eval.run import jsonable, predict_split
from figure_ml.export import formats, latency, quantize
from figure_ml.export.card import render_model_card
from figure_ml.export.parity import ParityCheck, box_parity, miss_rate_parity, parity_table
from figure_ml.export.sources import ExportSource, resolve_source

log = logging.getLogger(__name__)


@dataclass
class ExportResult:
    out_dir: Path
    manifest: dict[str, Any] | None
    checks: list[ParityCheck] = field(default_factory=list)
    registry: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def _check_out(out: Path, overwrite: bool) -> None:
    if not out.exists():
        return
    if any(out.iterdir()) and not overwrite:
        raise ConfigError(
            f"out_dir {out} holds a previous export; pass overwrite=true to replace "
            "it (it is kept until the new one is complete)"
        )
    if (
        any(out.iterdir())
        and not (out / manifest.MANIFEST_FILE).exists()
        and not any(out.glob("*.onnx"))
    ):
        raise ConfigError(f"out_dir {out} holds files that are not an export; refusing")


def _evaluate(predictor, items, thresholds, cfg: ExportConfig) -> tuple[dict, list, list]:
    gts, dets, _ = predict_split(predictor, items, skip_bad=False)
    m = compute_metrics(
        gts,
        dets,
        thresholds,
        dict(cfg.padding),
        kappa=cfg.kappa,
        n_resamples=cfg.bootstrap_resamples,
        input_size=predictor.imgsz,
        diagnostics=False,
    )
    return m, gts, dets


def _summary(m: dict[str, Any]) -> dict[str, Any]:
    """The per-artifact metrics the manifest carries (no per-image data)."""
    worst = []
    for key in ("size", "skin_tone", "source"):
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
    keep = ("miss_rate", "miss_rate_ci", "n_gt", "n_missed")
    return jsonable(
        {
            "per_class": {c: {k: m["per_class"][c][k] for k in keep} for c in CLASS_NAMES},
            "image_leak_rate": m["image_leak_rate"],
            "image_leak_rate_ci": m["image_leak_rate_ci"],
            "over_redaction": m["over_redaction"],
            "over_redaction_ci": m["over_redaction_ci"],
            "finding_occlusion": m["finding_occlusion"],
            "finding_occlusion_ci": m["finding_occlusion_ci"],
            "n_images": m["n_images"],
            "worst_slices": worst[:5],
        }
    )


def _calibration_images(src: ExportSource, n: int) -> list[np.ndarray]:
    data = load_eval_data(src.data_path, "train")
    if not data.items:
        raise DatasetError(f"{src.data_path}: no training images to calibrate INT8 with")
    step = max(1, len(data.items) // n)
    return [data.items[i].read()[0] for i in range(0, len(data.items), step)[:n]]


def export(cfg: ExportConfig) -> ExportResult:
    cfg.validate()
    out = Path(cfg.out_dir)
    _check_out(out, cfg.overwrite)
    src = resolve_source(cfg)
    staging = Path(str(out) + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        result = _export_into(cfg, src, staging)
        if out.exists():
            old = Path(str(out) + ".old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            staging.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    result.out_dir = out
    if result.manifest is not None:
        from figure_ml.export.registry import register

        result.registry = register(cfg, out, result.manifest, result.passed, src.mlflow_run_id)
    return result


def _export_into(cfg: ExportConfig, src: ExportSource, dst: Path) -> ExportResult:
    from figure_ml import yolo

    imgsz = src.imgsz
    test = load_eval_data(src.data_path, cfg.split)
    fp32 = yolo.export_onnx(
        src.weights,
        dst / "model_fp32.onnx",
        imgsz=imgsz,
        opset=cfg.opset,
        dynamic_batch=cfg.dynamic_batch,
    )
    fp32_pred = OnnxPredictor(fp32)
    # thresholds: from an evaluation, or calibrated now on val with the FP32 artifact
    rho = np.array([cfg.padding[c] for c in CLASS_NAMES])
    if cfg.thresholds_file:
        t = json.loads(Path(cfg.thresholds_file).read_text())
        thresholds = {k: float(v) for k, v in t.get("thresholds", t).items()}
    else:
        val = load_eval_data(src.data_path, cfg.calibration.split)
        vg, vd, _ = predict_split(fp32_pred, val, skip_bad=False)
        thresholds = calibrate(
            vg, vd, cfg.calibration.targets, rho, kappa=cfg.kappa, floor=cfg.calibration.floor
        )["thresholds"]
    artifacts: list[tuple[str, Path, str, str, dict]] = []
    checks: list[ParityCheck] = []
    ref_m, _, fp32_dets = _evaluate(fp32_pred, test, thresholds, cfg)
    # FP32 ONNX vs the .pt it came from, box for box
    n = min(cfg.parity.box_images, len(test.items))
    pt = TorchPredictor(src.weights, imgsz=imgsz, conf=cfg.parity.box_conf)
    pt_dets = [pt.predict(test.items[i].read()[0]) for i in range(n)]
    fp32_box = box_parity(
        "fp32", fp32_dets[:n], pt_dets, conf=cfg.parity.box_conf, min_iou=cfg.parity.box_iou
    )
    checks.append(fp32_box)
    artifacts.append(("fp32", fp32, "onnx", "fp32", _summary(ref_m)))
    if cfg.int8.enabled:
        int8 = quantize.quantize_int8(
            fp32,
            dst / "model_int8.onnx",
            _calibration_images(src, cfg.int8.calibration_images),
            imgsz=imgsz,
            quantize_head=cfg.int8.quantize_head,
        )
        if cfg.int8.corrupt_scale_factor != 1.0:
            quantize.corrupt_scales(int8, int8, cfg.int8.corrupt_scale_factor)
        m8, _, _ = _evaluate(OnnxPredictor(int8), test, thresholds, cfg)
        c8 = miss_rate_parity("int8", m8, ref_m, cfg.parity.int8_max_delta)
        checks += c8
        artifacts.append(("int8", int8, "onnx", "int8", _summary(m8)))
        if cfg.ort:
            ort_path = formats.to_ort(int8, dst / "model_int8.ort")
            m_ort, _, _ = _evaluate(OnnxPredictor(ort_path), test, thresholds, cfg)
            checks += miss_rate_parity("int8_ort", m_ort, ref_m, cfg.parity.int8_max_delta)
            artifacts.append(("int8_ort", ort_path, "ort", "int8", _summary(m_ort)))
    if cfg.fp16:
        fp16 = formats.to_fp16(fp32, dst / "model_fp16.onnx")
        m16, _, _ = _evaluate(OnnxPredictor(fp16), test, thresholds, cfg)
        checks += miss_rate_parity("fp16", m16, ref_m, cfg.parity.int8_max_delta)
        artifacts.append(("fp16", fp16, "onnx", "fp16", _summary(m16)))
    print(parity_table(checks))
    failed = {c.artifact for c in checks if not c.passed}
    if "int8" in failed:
        failed.add("int8_ort")  # built from the INT8 model: it goes with it
    if "fp32" in failed:  # every other artifact derives from FP32: nothing ships
        log.error("FP32 ONNX does not reproduce the .pt boxes; no manifest written")
        return ExportResult(dst, None, checks)
    entries = []
    for name, path, fmt, precision, summary in artifacts:
        if name in failed:
            log.error("%s failed its parity check: left out of the manifest and deleted", name)
            path.unlink(missing_ok=True)
            continue
        lat = latency.measure(
            path,
            imgsz,
            runs=cfg.latency.runs,
            warmup=cfg.latency.warmup,
            threads=cfg.latency.threads,
        )
        parity = {
            "passed": True,
            "checks": [c.__dict__ for c in checks if c.artifact == name],
            "int8_max_delta": cfg.parity.int8_max_delta,
        }
        entries.append(
            manifest.artifact_entry(
                path,
                name=name,
                fmt=fmt,
                precision=precision,
                opset=cfg.opset,
                metrics=summary,
                latency=lat,
                parity=jsonable(parity),
            )
        )
    data = _manifest_data(cfg, src, imgsz, thresholds, entries, fp32, test.digest)
    atomic.write_text(dst / "MODEL_CARD.md", render_model_card(data))
    manifest.write(dst, data)  # last: its presence means the export is complete
    return ExportResult(dst, {"schema_version": manifest.SCHEMA_VERSION, **data}, checks)


def _manifest_data(
    cfg: ExportConfig,
    src: ExportSource,
    imgsz: int,
    thresholds: dict,
    entries: list,
    fp32: Path,
    test_digest: str | None,
) -> dict[str, Any]:
    from figure_ml.onnx_detect import OnnxDetector

    layout = OnnxDetector(str(fp32)).layout
    tile = cfg.tiling.tile or imgsz
    return {
        "name": cfg.name,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "classes": [{"id": i, "name": n} for i, n in enumerate(CLASS_NAMES)],
        "input": {
            "size": imgsz,
            "letterbox": True,
            "pad_value": 114,
            "normalisation": "divide_by_255",
            "channel_order": "RGB",
            "layout": "NCHW",
            "dtype": "float32",
            "exif_orientation": True,
        },
        "output": {
            "layout": layout,
            "nms_in_graph": layout == "end2end",
            "nms_iou": 0.7,
            "max_det": 300,
            "class_agnostic_nms": False,
        },
        "thresholds": {c: float(thresholds[c]) for c in CLASS_NAMES},
        "padding": {c: float(cfg.padding[c]) for c in CLASS_NAMES},
        "kappa": cfg.kappa,
        "tiling": {
            "mode": cfg.tiling.mode,
            "tile": tile,
            "overlap": cfg.tiling.overlap,
            "min_long_side": cfg.tiling.min_long_side,
            "merge_iou": cfg.tiling.merge_iou,
        },
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
