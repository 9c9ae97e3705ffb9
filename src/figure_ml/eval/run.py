"""``evaluate(cfg)``: predict once, calibrate on val if asked, measure the split, gate, write."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tqdm import tqdm

from figure_ml import atomic, provenance
from figure_ml.atomic import jsonable
from figure_ml.classes import CLASS_NAMES, NUM_CLASSES
from figure_ml.cli import CONFIG_DIR
from figure_ml.config import EvalConfig
from figure_ml.errors import BadInputError, ConfigError, DatasetError
from figure_ml.eval.calibration import calibrated_point, class_cover_thresholds
from figure_ml.eval.data import EvalData, load_eval_data
from figure_ml.eval.gates import GateResult, evaluate_gates, gate_table
from figure_ml.eval.metrics import compute_metrics
from figure_ml.eval.operating_point import (
    OperatingPoint,
    load_operating_point,
    require_same_kappa,
)
from figure_ml.eval.overlap import refuse_overlap, refuse_scoring_calibration_images
from figure_ml.eval.predictors import Predictor, make_predictor
from figure_ml.eval.records import Detections, GroundTruth
from figure_ml.eval.report import render_report
from figure_ml.eval.tiling import tiling_of
from figure_ml.manifest import sha256_file
from figure_ml.models import resolve_weights

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
    """Run the predictor over every item; bad items stop the run unless ``skip_bad``.

    A detector set (:class:`figure_ml.ensemble.UnionPredictor`) returns channel ids: its
    ``n_channels`` bounds them instead of the class count."""
    n_ids = int(getattr(predictor, "n_channels", NUM_CLASSES))
    gts, dets, skipped = [], [], []
    for item in tqdm(data.items, desc=f"predict {data.description}", unit="img"):
        try:
            image, gt = item.read()
        except (BadInputError, DatasetError) as exc:  # DatasetError: e.g. a size mismatch
            if not skip_bad:
                raise type(exc)(f"{exc} (pass skip_bad=true to skip bad inputs)") from exc
            log.warning("skipped: %s", exc)
            skipped.append(str(exc))
            continue
        det = predictor.predict(image)
        bad = (det.classes < 0) | (det.classes >= n_ids)
        if bad.any():
            raise BadInputError(
                f"{predictor.description}: predicted class id {int(det.classes[bad][0])} not in "
                f"0..{n_ids - 1}; the model's classes differ from figure_ml.classes"
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


def _out_dir(cfg: EvalConfig) -> Path:
    if cfg.out_dir:
        out = Path(cfg.out_dir)
        if out.exists() and any(out.iterdir()) and not (out / METRICS_FILE).exists():
            raise ConfigError(f"out_dir {out} holds other files; refusing to write into it")
        return out
    return Path(cfg.runs_root) / time.strftime("%Y%m%d-%H%M%S")


@dataclass
class Subject:
    """What is being scored: its predictor, a fixed operating point (manifest) and its identity
    for metrics.json."""

    predictor: Predictor
    operating_point: OperatingPoint | None
    info: dict[str, Any]
    weights_sha256: str | None


def _subject(cfg: EvalConfig, predictor: Predictor | None) -> Subject:
    pcfg = cfg.predictor
    if cfg.teachers:
        return _teacher_subject(cfg, predictor)
    if cfg.manifest:
        from figure_ml.eval.shipped import manifest_predictor

        pred, op, info = manifest_predictor(cfg.manifest, cfg.manifest_artifact)
        require_same_kappa(f"manifest {cfg.manifest}", op.kappa, cfg.kappa)
        info |= {"predictor": pred.description, "imgsz": pred.imgsz, "strategy": "manifest"}
        return Subject(predictor or pred, op, info, op.weights_sha256)
    weights = Path(str(resolve_weights(cfg.weights)))
    predictor = predictor or make_predictor(
        weights,
        imgsz=pcfg.imgsz,
        conf=pcfg.conf,
        iou=pcfg.iou,
        max_det=pcfg.max_det,
        flip=pcfg.flip,
    )
    if pcfg.strategy == "tiled":
        from figure_ml.eval.tiling import TiledPredictor
        from figure_ml.tiling import TilingPolicy

        policy = TilingPolicy(**asdict(pcfg.tiling) | {"tile": pcfg.tiling.tile or predictor.imgsz})
        predictor = TiledPredictor(predictor, policy)
    sha = sha256_file(weights)
    info = {
        "file": weights.name,
        "sha256": sha,
        "predictor": predictor.description,
        "imgsz": predictor.imgsz,
        "strategy": pcfg.strategy,
        "nms_iou": pcfg.iou,
        "flip_tta": pcfg.flip,
    }
    return Subject(predictor, None, info, sha)


def _teacher_subject(cfg: EvalConfig, predictor: Predictor | None) -> Subject:
    """A teacher baseline: the teachers as installed (sha256 recorded), at their authors'
    default thresholds unless the run calibrates or reads a thresholds file."""
    from figure_ml.teachers import TeacherPredictor

    pred = predictor or TeacherPredictor.from_names(cfg.teachers)
    teachers = getattr(pred, "teachers", ())
    shas = [t.info.sha256 for t in teachers]
    sha = shas[0] if len(shas) == 1 else "+".join(shas)
    info = {
        "file": "+".join(cfg.teachers),
        "sha256": sha,
        "teachers": [t.info.as_dict() for t in teachers],
        "predictor": pred.description,
        "imgsz": pred.imgsz,
        "strategy": "teacher",
    }
    op = None
    if not (cfg.calibrate or cfg.thresholds_file) and isinstance(pred, TeacherPredictor):
        op = OperatingPoint(pred.default_thresholds(), dict(cfg.padding), cfg.kappa)
        op.extra["source"] = "teacher_defaults"
    return Subject(pred, op, info, sha)


def evaluate(cfg: EvalConfig, predictor: Predictor | None = None) -> EvalResult:
    """Evaluate ``cfg.manifest`` (what ships) or ``cfg.weights`` on ``cfg.split``; write
    metrics.json, report.md, plots (and thresholds.json when calibrating)."""
    cfg.validate()
    out = _out_dir(cfg)
    gate = load_gate(cfg.gate) if cfg.gate else None
    subject = _subject(cfg, predictor)
    predictor = subject.predictor
    data = load_eval_data(cfg.data.path, cfg.split, cfg.data.format)
    op = subject.operating_point
    skipped: dict[str, int] = {}  # per split: a count, not file names (those go to the log)
    messages: list[str] = []
    if cfg.calibrate:
        val = load_eval_data(cfg.data.path, cfg.calibration.split, cfg.data.format)
        refuse_overlap(val, data)
        vg, vd, skipped_val = predict_split(predictor, val, skip_bad=cfg.skip_bad)
        skipped[cfg.calibration.split] = len(skipped_val)
        messages += skipped_val
        op = calibrated_point(
            vg,
            vd,
            cfg.calibration,
            kappa=cfg.kappa,
            weights_sha256=subject.weights_sha256,
            data=val,
        )
        # how the predictions were made: export refuses these thresholds for the other way
        op.extra["flip_tta"] = bool(subject.info.get("flip_tta", False))
        log.info(
            "calibrated on %s: thresholds %s padding %s",
            cfg.calibration.split,
            op.thresholds,
            op.padding,
        )
    elif cfg.thresholds_file:
        op = load_operating_point(
            cfg.thresholds_file, kappa=cfg.kappa, weights_sha256=subject.weights_sha256
        )
    elif op is None:
        op = OperatingPoint(dict(cfg.thresholds), dict(cfg.padding), cfg.kappa)
    if cfg.thresholds_file or cfg.manifest:  # a shipped point: never score the images that chose it
        source = (
            f"thresholds_file {cfg.thresholds_file}"
            if cfg.thresholds_file
            else f"manifest {cfg.manifest}"
        )
        refuse_scoring_calibration_images(op.extra, data, source)
    gts, dets, skipped_test = predict_split(predictor, data, skip_bad=cfg.skip_bad)
    skipped[cfg.split] = len(skipped_test)
    messages += skipped_test
    scoring = dict(
        kappa=op.kappa,
        n_resamples=cfg.bootstrap_resamples,
        seed=cfg.bootstrap_seed,
        input_size=predictor.imgsz,
        budget=cfg.budget,
    )
    members = op.extra.get("members")
    if members:  # a detector set: the union, and each member alone
        from figure_ml.eval.union import union_metrics

        tables = [(mb["thresholds"], mb["padding"]) for mb in members]
        metrics = union_metrics(gts, dets, [mb["name"] for mb in members], tables, **scoring)
    else:
        metrics = compute_metrics(gts, dets, op.thresholds, op.padding, **scoring)
    metrics["dataset"] = {
        "path": str(cfg.data.path),
        "split": cfg.split,
        "digest": data.digest,
        "synthetic": data.synthetic,
        "n_skipped": skipped,
    }
    # the trained weights behind what was scored (a manifest's training.weights_sha256, else
    # the file itself): what ship checks the figures it copies belong to
    metrics["model"] = subject.info | {
        "tiling": tiling_of(subject.predictor),
        "weights_sha256": subject.weights_sha256,
    }
    metrics["operating_point"] = {
        "source": _op_source(cfg, op),
        "met": op.met,
        "targets": op.targets,
        "not_met": op.not_met(),
    }
    if cfg.calibrate:
        metrics["calibration"] = {
            "split": cfg.calibration.split,
            "budget": op.extra["budget"],
            **op.extra["details"],
        }
    gates = evaluate_gates(metrics, gate) if gate else []
    if gate:
        metrics["gates"] = {
            "name": cfg.gate,
            "passed": all(g.passed for g in gates),
            "results": [g.__dict__ for g in gates],
        }
    metrics["git_commit"] = provenance.git_commit()
    _write(out, cfg, metrics, gates, op if cfg.calibrate else None, gts, dets)
    result = EvalResult(out, metrics, gates, messages)
    from figure_ml.eval.tracking import log_evaluation

    log_evaluation(cfg, result)
    return result


def _op_source(cfg: EvalConfig, op: OperatingPoint) -> str:
    """Where the scored thresholds came from; ``teacher_defaults``: a teacher baseline at its
    authors' default thresholds (neither calibrate nor thresholds_file given)."""
    if op.extra.get("source"):
        return str(op.extra["source"])
    if cfg.manifest:
        return "manifest"
    if cfg.calibrate:
        return "calibrated"
    return "thresholds_file" if cfg.thresholds_file else "config"


def _write(
    out: Path,
    cfg: EvalConfig,
    metrics: dict[str, Any],
    gates: list[GateResult],
    calibrated: OperatingPoint | None,
    gts: Sequence[GroundTruth],
    dets: Sequence[Detections],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if calibrated is not None:
        calibrated.write(out / THRESHOLDS_FILE)
    model = metrics["model"].get("artifact") or metrics["model"].get("file")
    title = f"{model} on {metrics['dataset']['split']}"
    atomic.write_text(out / "report.md", render_report(metrics, title=title, gates=gates))
    if cfg.plots:
        from figure_ml.eval.plots import plot_all

        rho = np.array([metrics["padding"][c] for c in CLASS_NAMES])
        if "members" in metrics:  # a set: plots of its detections by class, member 0's padding
            from figure_ml.ensemble import to_classes

            dets = [to_classes(d) for d in dets]
        plot_all(out, metrics, class_cover_thresholds(gts, dets, rho, metrics["kappa"]), gts, dets)
    # metrics.json last: its presence means the folder is complete
    atomic.write_json(out / METRICS_FILE, jsonable(metrics))
    if gates:
        print(gate_table(gates))
