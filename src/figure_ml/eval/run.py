"""``evaluate(cfg)``: predict once, calibrate on val if asked, measure the split, gate, write."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tqdm import tqdm

from figure_ml import atomic, provenance
from figure_ml.classes import CLASS_NAMES, NUM_CLASSES
from figure_ml.cli import CONFIG_DIR
from figure_ml.config import EvalConfig
from figure_ml.errors import BadInputError, ConfigError
from figure_ml.eval.calibration import calibrate, class_cover_thresholds
from figure_ml.eval.data import EvalData, load_eval_data
from figure_ml.eval.gates import GateResult, evaluate_gates, gate_table
from figure_ml.eval.metrics import compute_metrics
from figure_ml.eval.predictors import Predictor, make_predictor
from figure_ml.eval.records import Detections, GroundTruth
from figure_ml.eval.report import render_report
from figure_ml.manifest import sha256_file

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
THRESHOLDS_FILE = "thresholds.json"


@dataclass
class EvalResult:
    out_dir: Path
    metrics: dict[str, Any]
    gates: list[GateResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every gate passed (or no gate was asked for)."""
        return all(g.passed for g in self.gates)


def predict_split(
    predictor: Predictor, data: EvalData, *, skip_bad: bool
) -> tuple[list[GroundTruth], list[Detections], list[str]]:
    """Run the predictor over every item; bad items stop the run unless ``skip_bad``."""
    gts, dets, skipped = [], [], []
    for item in tqdm(data.items, desc=f"predict {data.description}", unit="img"):
        try:
            image, gt = item.read()
        except BadInputError as exc:
            if not skip_bad:
                raise BadInputError(f"{exc} (pass skip_bad=true to skip bad inputs)") from exc
            log.warning("skipped: %s", exc)
            skipped.append(str(exc))
            continue
        det = predictor.predict(image)
        bad = (det.classes < 0) | (det.classes >= NUM_CLASSES)
        if bad.any():
            raise BadInputError(
                f"{predictor.description}: predicted class id {int(det.classes[bad][0])} not in "
                f"0..{NUM_CLASSES - 1}; the model's classes differ from figure_ml.classes"
            )
        gts.append(gt)
        dets.append(det)
    if skipped:
        log.warning(
            "%d of %d images skipped as unreadable or mislabelled", len(skipped), len(data.items)
        )
    if not gts:
        raise BadInputError(f"{data.description}: no readable image to evaluate")
    return gts, dets, skipped


def load_gate(name: str) -> dict[str, Any]:
    """A gate config by name (``configs/gates/<name>.yaml``) or by path."""
    p = Path(name)
    if not p.suffix:
        p = CONFIG_DIR / "gates" / f"{name}.yaml"
    if not p.is_file():
        known = sorted(q.stem for q in (CONFIG_DIR / "gates").glob("*.yaml"))
        raise ConfigError(f"gate {name!r}: no file {p} (known gates: {known})")
    gate = yaml.safe_load(p.read_text()) or {}
    if not isinstance(gate, dict):
        raise ConfigError(f"gate {p}: expected a mapping")
    return gate


def _thresholds(cfg: EvalConfig) -> dict[str, float]:
    if not cfg.thresholds_file:
        return dict(cfg.thresholds)
    p = Path(cfg.thresholds_file)
    try:
        t = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"thresholds_file {p}: cannot read ({exc})") from exc
    t = t.get("thresholds", t)
    if set(t) != set(CLASS_NAMES):
        raise ConfigError(f"thresholds_file {p}: classes {sorted(t)} != {list(CLASS_NAMES)}")
    return {k: float(v) for k, v in t.items()}


def _out_dir(cfg: EvalConfig) -> Path:
    if cfg.out_dir:
        out = Path(cfg.out_dir)
        if out.exists() and any(out.iterdir()) and not (out / METRICS_FILE).exists():
            raise ConfigError(f"out_dir {out} holds other files; refusing to write into it")
        return out
    return Path(cfg.runs_root) / time.strftime("%Y%m%d-%H%M%S")


def evaluate(cfg: EvalConfig, predictor: Predictor | None = None) -> EvalResult:
    """Evaluate ``cfg.weights`` on ``cfg.split``; write metrics.json, report.md, plots."""
    cfg.validate()
    out = _out_dir(cfg)
    gate = load_gate(cfg.gate) if cfg.gate else None
    weights = Path(cfg.weights)
    pcfg = cfg.predictor
    predictor = predictor or make_predictor(
        weights, imgsz=pcfg.imgsz, conf=pcfg.conf, iou=pcfg.iou, max_det=pcfg.max_det
    )
    if pcfg.strategy == "tiled":
        from figure_ml.eval.tiling import TiledPredictor
        from figure_ml.tiling import TilingPolicy

        t = pcfg.tiling
        policy = TilingPolicy(
            mode=t.mode,
            tile=t.tile or predictor.imgsz,
            overlap=t.overlap,
            min_long_side=t.min_long_side,
            merge_iou=t.merge_iou,
        )
        predictor = TiledPredictor(predictor, policy)
    rho = np.array([cfg.padding[c] for c in CLASS_NAMES])
    thresholds = _thresholds(cfg)
    calibration = None
    skipped: list[str] = []
    if cfg.calibrate:
        val = load_eval_data(cfg.data.path, cfg.calibration.split, cfg.data.format)
        vg, vd, skipped_val = predict_split(predictor, val, skip_bad=cfg.skip_bad)
        skipped += skipped_val
        calibration = calibrate(
            vg, vd, cfg.calibration.targets, rho, kappa=cfg.kappa, floor=cfg.calibration.floor
        )
        thresholds = calibration["thresholds"]
        log.info("calibrated thresholds on %s: %s", cfg.calibration.split, thresholds)
    data = load_eval_data(cfg.data.path, cfg.split, cfg.data.format)
    gts, dets, skipped_test = predict_split(predictor, data, skip_bad=cfg.skip_bad)
    skipped += skipped_test
    metrics = compute_metrics(
        gts,
        dets,
        thresholds,
        dict(cfg.padding),
        kappa=cfg.kappa,
        n_resamples=cfg.bootstrap_resamples,
        seed=cfg.bootstrap_seed,
        input_size=predictor.imgsz,
    )
    metrics["dataset"] = {
        "path": str(cfg.data.path),
        "split": cfg.split,
        "digest": data.digest,
        "synthetic": data.synthetic,
        "n_skipped": len(skipped),
    }
    metrics["model"] = {
        "file": weights.name,
        "sha256": sha256_file(weights),
        "predictor": predictor.description,
        "imgsz": predictor.imgsz,
        "strategy": pcfg.strategy,
    }
    if calibration:
        metrics["calibration"] = {"split": cfg.calibration.split, **calibration["details"]}
    gates = evaluate_gates(metrics, gate) if gate else []
    if gate:
        metrics["gates"] = {
            "name": cfg.gate,
            "passed": all(g.passed for g in gates),
            "results": [g.__dict__ for g in gates],
        }
    metrics["git_commit"] = provenance.git_commit()
    _write(out, cfg, metrics, gates, calibration, gts, dets, rho)
    result = EvalResult(out, metrics, gates, skipped)
    from figure_ml.eval.tracking import log_evaluation

    log_evaluation(cfg, result)
    return result


def _write(
    out: Path,
    cfg: EvalConfig,
    metrics: dict[str, Any],
    gates: list[GateResult],
    calibration: dict[str, Any] | None,
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
    rho: np.ndarray,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if calibration:
        atomic.write_text(
            out / THRESHOLDS_FILE,
            json.dumps(
                {
                    "thresholds": calibration["thresholds"],
                    "details": calibration["details"],
                    "split": cfg.calibration.split,
                    "padding": dict(cfg.padding),
                    "kappa": cfg.kappa,
                },
                indent=2,
                sort_keys=True,
            )
            + "\n",
        )
    title = f"{metrics['model']['file']} on {metrics['dataset']['split']}"
    atomic.write_text(out / "report.md", render_report(metrics, title=title, gates=gates))
    if cfg.plots:
        from figure_ml.eval.plots import plot_all

        plot_all(out, metrics, class_cover_thresholds(gts, dets, rho, cfg.kappa), gts, dets)
    # metrics.json last: its presence means the folder is complete
    atomic.write_text(out / METRICS_FILE, json.dumps(jsonable(metrics), indent=2) + "\n")
    if gates:
        print(gate_table(gates))


def jsonable(x: Any) -> Any:
    """NaN -> null (strict JSON), numpy scalars -> Python."""
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x
