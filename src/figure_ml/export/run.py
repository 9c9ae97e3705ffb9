"""``export(cfg)``: FP32 ONNX -> INT8 -> ORT (-> FP16), each re-evaluated; manifest written last.

Everything is built in a staging folder next to ``out_dir`` and renamed into place at the end,
so an existing export is never half-replaced, and a crash leaves nothing at ``out_dir``.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from figure_ml import atomic, manifest
from figure_ml.classes import CLASS_NAMES
from figure_ml.config import ExportConfig
from figure_ml.errors import ConfigError, DatasetError
from figure_ml.eval.calibration import calibrated_point
from figure_ml.eval.data import EvalData, load_eval_data
from figure_ml.eval.metrics import compute_metrics
from figure_ml.eval.operating_point import OperatingPoint, load_operating_point
from figure_ml.eval.overlap import refuse_overlap, refuse_scoring_calibration_images
from figure_ml.eval.predictors import OnnxPredictor, TorchPredictor
from figure_ml.eval.redaction import redaction_stats
from figure_ml.eval.run import predict_split
from figure_ml.eval.shipped import artifact_predictor
from figure_ml.export import formats, quantize
from figure_ml.export.card import render_model_card
from figure_ml.export.contents import artifact_entry, left_out, manifest_data
from figure_ml.export.mirror_choice import MirrorChoice, calibrator, with_flip
from figure_ml.export.mirror_choice import choose as choose_mirror
from figure_ml.export.parity import ParityCheck, box_parity, paired_parity, parity_table
from figure_ml.export.sources import ExportSource, resolve_source
from figure_ml.tiling import manifest_block

log = logging.getLogger(__name__)

#: the miss-rate-versus-over-redaction chart written beside the model card
BUDGET_CHART = "miss_vs_over_redaction.png"


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


@dataclass
class Scored:
    """One artifact's predictions on the test split, scored at the shipped operating point."""

    metrics: dict[str, Any]
    gts: list
    dets: list

    def stats(self, op: OperatingPoint):
        thr = np.array([op.thresholds[c] for c in CLASS_NAMES])
        rho = np.array([op.padding[c] for c in CLASS_NAMES])
        return redaction_stats(self.gts, self.dets, thr, rho, kappa=op.kappa)


def _score(predictor, items, op: OperatingPoint, cfg: ExportConfig, *, curve=False) -> Scored:
    gts, dets, _ = predict_split(predictor, items, skip_bad=False)
    return _scored(gts, dets, predictor.imgsz, op, cfg, curve=curve)


def _scored(gts, dets, imgsz: int, op: OperatingPoint, cfg: ExportConfig, *, curve=False):
    m = compute_metrics(
        gts,
        dets,
        op.thresholds,
        op.padding,
        kappa=op.kappa,
        n_resamples=cfg.bootstrap_resamples,
        input_size=imgsz,
        diagnostics=False,
        budget=cfg.budget,
        curve=curve,
    )
    return Scored(m, gts, dets)


def _calibration_images(src: ExportSource, n: int, fallback_split: str) -> list[np.ndarray]:
    """``n`` images spread over the train split for INT8 ranges; a dataset without one (a
    held-out evaluation set made for a trained checkpoint) lends its calibration split, which
    the thresholds are fitted on anyway: the scored split stays unseen."""
    try:
        data = load_eval_data(src.data_path, "train", src.data_format, labels=False)  # images only
    except DatasetError:
        data = None
    if data is None or not data.items:
        log.info("INT8 ranges from the %s split: no train images", fallback_split)
        data = load_eval_data(src.data_path, fallback_split, src.data_format, labels=False)
    if not data.items:
        raise DatasetError(f"{src.data_path}: no images to calibrate INT8 with")
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
        if result.manifest is None and out.exists():
            # FP32 failed: nothing ships, and a working export already there must not be
            # replaced by a folder without a manifest
            log.error("%s kept as it was: this export wrote no manifest", out)
            shutil.rmtree(staging, ignore_errors=True)
        elif out.exists():
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


def _spec(cfg: ExportConfig, imgsz: int, fp32: Path) -> dict[str, Any]:
    """The manifest's input, output and tiling blocks: how the redactor runs the model."""
    from figure_ml.onnx_detect import OnnxDetector

    layout = OnnxDetector(str(fp32)).layout
    return {
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
            "nms_iou": cfg.nms_iou,
            "max_det": 300,
            "flip_tta": cfg.flip_mode == "true",  # auto: decided on val (_choose_mirror)
            "class_agnostic_nms": False,
        },
        # every TilingConfig field, so a new one reaches the manifest without another line,
        # less the optional ones at their defaults (tiling.manifest_block says why)
        "tiling": manifest_block(asdict(cfg.tiling) | {"tile": cfg.tiling.tile or imgsz}),
    }


def _file_point(cfg: ExportConfig, sha: str, test: EvalData) -> OperatingPoint:
    """The operating point of ``cfg.thresholds_file``, checked against these weights (``sha``),
    kappa and the scored images. Eval records in it whether the predictions it was fitted on
    used the mirrored pass (``flip_tta``; a file from before it: one pass); a forced
    ``flip_tta=true``/``false`` that says otherwise is refused, since the thresholds would not
    mean what they meant."""
    op = load_operating_point(cfg.thresholds_file, kappa=cfg.kappa, weights_sha256=sha)
    refuse_scoring_calibration_images(op.extra, test, f"thresholds_file {cfg.thresholds_file}")
    fitted = _fitted_with_mirror(op)
    if cfg.flip_mode != "auto" and (cfg.flip_mode == "true") != fitted:
        raise ConfigError(
            f"thresholds_file {cfg.thresholds_file}: fitted "
            f"{'with' if fitted else 'without'} the mirrored pass, but flip_tta="
            f"{cfg.flip_mode}; calibrate again with predictor.flip={str(not fitted).lower()} "
            "or leave flip_tta=auto"
        )
    return op


def _fitted_with_mirror(op: OperatingPoint) -> bool:
    return bool(op.extra.get("flip_tta", False))


def _calibration_split(cfg: ExportConfig, src: ExportSource, test: EvalData) -> EvalData:
    """The split thresholds and padding (and the mirrored pass) are chosen on, never the
    scored images."""
    val = load_eval_data(src.data_path, cfg.calibration.split, src.data_format)
    refuse_overlap(val, test)
    return val


def _choose_mirror(
    cfg: ExportConfig, src: ExportSource, fp32: Path, spec: dict[str, Any], sha: str, test
) -> MirrorChoice | None:
    """With ``flip_tta=auto`` and no thresholds file, whether the mirrored pass ships, decided
    on the calibration split (:mod:`figure_ml.export.mirror_choice`); None: as configured."""
    if cfg.flip_mode != "auto" or cfg.thresholds_file:
        return None
    c = cfg.calibration
    val = _calibration_split(cfg, src, test)
    memo: dict = {}  # one pass, then both: the first pass's results are reused, not re-run
    return choose_mirror(
        lambda flip: artifact_predictor(fp32, with_flip(spec, flip), memo=memo),
        val,
        # a detector set calibrates its members together later (build_set)
        None if cfg.teachers else calibrator(c, kappa=cfg.kappa, weights_sha256=sha, data=val),
        budget=cfg.budget,
        paddings=list(c.padding_grid),
        kappa=cfg.kappa,
        split=c.split,
    )


def _calibrated_point(
    cfg: ExportConfig, src: ExportSource, fp32_pred, sha: str, test: EvalData
) -> OperatingPoint:
    """Thresholds and padding calibrated now on the calibration split."""
    val = _calibration_split(cfg, src, test)
    vg, vd, _ = predict_split(fp32_pred, val, skip_bad=False)
    return calibrated_point(vg, vd, cfg.calibration, kappa=cfg.kappa, weights_sha256=sha, data=val)


def _derived_artifacts(
    cfg: ExportConfig,
    src: ExportSource,
    dst: Path,
    fp32: Path,
    spec: dict,
    test,
    op,
    ref,
    int8_images: list[np.ndarray] | None,
) -> tuple[list[tuple[str, Path, str, str, Scored]], list[ParityCheck]]:
    """INT8 (and its ORT twin) and FP16, each re-scored and paired against FP32."""
    out: list[tuple[str, Path, str, str, Scored]] = []
    checks: list[ParityCheck] = []
    ref_stats = ref.stats(op)

    def add(name: str, path: Path, fmt: str, precision: str) -> None:
        scored = _score(artifact_predictor(path, spec), test, op, cfg)
        checks.extend(
            paired_parity(
                name,
                scored.stats(op),
                ref_stats,
                miss_delta=cfg.parity.int8_max_delta,
                over_redaction_delta=cfg.parity.max_over_redaction_delta,
                n_resamples=cfg.bootstrap_resamples,
            )
        )
        out.append((name, path, fmt, precision, scored))

    if cfg.int8.enabled:
        int8 = quantize.quantize_int8(
            fp32,
            dst / "model_int8.onnx",
            int8_images,
            imgsz=spec["input"]["size"],
            quantize_head=cfg.int8.quantize_head,
        )
        if cfg.int8.corrupt_scale_factor != 1.0:
            quantize.corrupt_scales(int8, int8, cfg.int8.corrupt_scale_factor)
        add("int8", int8, "onnx", "int8")
        # the ORT twin runs the same quantized graph and is left out with it (_export_into):
        # built and scored only when INT8 passed, which saves a test pass when it did not
        if cfg.ort and all(c.passed for c in checks if c.artifact == "int8"):
            add("int8_ort", formats.to_ort(int8, dst / "model_int8.ort"), "ort", "int8")
    if cfg.fp16:
        add("fp16", formats.to_fp16(fp32, dst / "model_fp16.onnx"), "onnx", "fp16")
    return out, checks


def _export_into(cfg: ExportConfig, src: ExportSource, dst: Path) -> ExportResult:
    from figure_ml import yolo

    imgsz = src.imgsz
    test = load_eval_data(src.data_path, cfg.split, src.data_format)
    fp32 = yolo.export_onnx(
        src.weights,
        dst / "model_fp32.onnx",
        imgsz=imgsz,
        opset=cfg.opset,
        dynamic_batch=cfg.dynamic_batch,
    )
    spec = _spec(cfg, imgsz, fp32)
    sha = manifest.sha256_file(src.weights)
    # (a detector set refuses a thresholds file: build_set says why)
    file_op = _file_point(cfg, sha, test) if cfg.thresholds_file and not cfg.teachers else None
    if file_op is not None:  # the thresholds were fitted one way: the manifest runs that way
        spec = with_flip(spec, _fitted_with_mirror(file_op))
    mirror = _choose_mirror(cfg, src, fp32, spec, sha, test)
    if mirror is not None:
        spec = with_flip(spec, mirror.flip)
    # every artifact is scored as the redactor runs it (the manifest's spec, tiling included)
    fp32_pred = artifact_predictor(fp32, spec)
    det_set = None
    int8_images = (
        _calibration_images(src, cfg.int8.calibration_images, cfg.calibration.split)
        if cfg.int8.enabled
        else None
    )
    if cfg.teachers:  # a detector set: members calibrated together, the union scored
        from figure_ml.export.ensemble import build_set

        det_set = build_set(cfg, src, dst, fp32_pred, test, sha, int8_images)
        op = det_set.op
        ref = _scored(det_set.gts, det_set.dets0, fp32_pred.imgsz, op, cfg, curve=True)
    else:  # from the file, from the mirror's choice (calibrated on val already), or now
        op = file_op or (mirror and mirror.op) or _calibrated_point(cfg, src, fp32_pred, sha, test)
        ref = _score(fp32_pred, test, op, cfg, curve=True)
    # FP32 ONNX vs the .pt it came from, box for box (one whole-image pass each)
    n = min(cfg.parity.box_images, len(test.items))
    images = [test.items[i].read()[0] for i in range(n)]
    pt = TorchPredictor(src.weights, imgsz=imgsz, conf=cfg.parity.box_conf, iou=cfg.nms_iou)
    # imgsz given: a dynamic_batch graph has dynamic height and width too, read as 640
    onnx = OnnxPredictor(fp32, imgsz=imgsz, conf=cfg.parity.box_conf, iou=cfg.nms_iou)
    checks = [
        box_parity(
            "fp32",
            [onnx.predict(im) for im in images],
            [pt.predict(im) for im in images],
            conf=cfg.parity.box_conf,
            min_iou=cfg.parity.box_iou,
        )
    ]
    derived, paired = _derived_artifacts(cfg, src, dst, fp32, spec, test, op, ref, int8_images)
    checks += paired
    teacher_int8 = [] if det_set is None else det_set.checks
    checks += teacher_int8
    artifacts = [("fp32", fp32, "onnx", "fp32", ref), *derived]
    print(parity_table(checks))
    failed = {c.artifact for c in checks if not c.passed}
    if "int8" in failed and cfg.ort:
        failed.add("int8_ort")  # made from the INT8 model: it goes with it (not even built)
    if "fp32" in failed:  # every other artifact derives from FP32: nothing ships
        log.error("FP32 ONNX does not reproduce the .pt boxes; no manifest written")
        return ExportResult(dst, None, checks)
    entries = []
    passes = 2 if manifest.flip_tta(spec) else 1  # the mirrored pass runs the model again
    for name, path, fmt, precision, scored in artifacts:
        if name in failed:
            log.error("%s failed its parity check: left out of the manifest and deleted", name)
            path.unlink(missing_ok=True)
            continue
        entries.append(
            artifact_entry(
                cfg, name, path, fmt, precision, scored.metrics, checks, imgsz, passes=passes
            )
        )
    data = manifest_data(cfg, src, spec, op, entries, test.digest)
    data["calibration"]["mirror_choice"] = None if mirror is None else mirror.record
    data["left_out"] = left_out(failed, checks)
    if det_set is not None:
        from figure_ml.export.ensemble import union_block

        data["detectors"] = det_set.entries
        lat = {e["name"]: e.get("latency") for e in entries}
        data["union"] = union_block(det_set, lat.get("fp32"), lat.get("int8"))
        int8_entry = next((e for e in entries if e["name"] == "int8"), None)
        if int8_entry is not None:  # the set --precision int8 runs, scored as a whole
            from figure_ml.export.ensemble import score_int8_set

            int8_file = dst / int8_entry["file"]
            data["union"]["int8"] = score_int8_set(cfg, dst, int8_file, spec, det_set, test)
        data["calibration"]["source"] = "export_union"
    _write_charts(dst, ref.metrics)
    card = render_model_card(data)
    if det_set is not None:
        from figure_ml.export.ensemble import card_section

        card += "\n" + "\n".join(card_section(data))
    atomic.write_text(dst / "MODEL_CARD.md", card)
    manifest.write(dst, data)  # last: its presence means the export is complete
    return ExportResult(dst, {"schema_version": manifest.schema_version_of(data), **data}, checks)


def _write_charts(dst: Path, metrics: dict[str, Any]) -> None:
    """The miss-vs-over-redaction chart of the FP32 artifact, beside the model card."""
    from figure_ml.eval.plots import plot_budget_curve

    plot_budget_curve(dst / BUDGET_CHART, metrics)
