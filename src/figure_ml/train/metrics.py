"""Per-epoch metrics: from the adapter's epoch reports (or results.csv) to the tracker and log."""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

from figure_ml.tracking import Tracker
from figure_ml.yolo import EpochReport

log = logging.getLogger(__name__)


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    # MLflow stores NaN, but a NaN mAP of a class without validation boxes only misleads charts
    return {k: v for k, v in metrics.items() if math.isfinite(v)}


class EpochLogger:
    """Callback for :func:`figure_ml.yolo.train_detector`: logs each epoch at ``step=epoch``;
    the final re-validation of best.pt goes in as ``best/...`` (no step)."""

    def __init__(self, tracker: Tracker, total: int) -> None:
        self.tracker = tracker
        self.total = total
        self.epochs_logged = 0
        self.last_epoch = 0

    def __call__(self, report: EpochReport) -> None:
        metrics = _finite(report.metrics)
        if report.final:
            best = {
                "best/" + k.removeprefix("val/"): v
                for k, v in metrics.items()
                if k.startswith("val/")
            }
            self.tracker.log_metrics(best, step=report.epoch)
            return
        if report.train_seconds > 0:
            metrics["time/train_images_per_s"] = report.train_images / report.train_seconds
        self.tracker.log_metrics(metrics, step=report.epoch)
        self.epochs_logged += 1
        self.last_epoch = report.epoch
        log.info(
            "epoch %d/%d (%.0f s): box_loss %.3f cls_loss %.3f | P %.3f R %.3f mAP50 %.3f "
            "mAP50-95 %.3f",
            report.epoch,
            report.epochs or self.total,
            report.train_seconds,
            metrics.get("train/box_loss", math.nan),
            metrics.get("train/cls_loss", math.nan),
            metrics.get("val/precision", math.nan),
            metrics.get("val/recall", math.nan),
            metrics.get("val/mAP50", math.nan),
            metrics.get("val/mAP50-95", math.nan),
        )


def read_results_csv(path: Path) -> list[dict[str, float]]:
    """Rows of ultralytics' ``results.csv`` with figure_ml metric names."""
    from figure_ml.yolo import metric_name

    rows = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            rows.append({metric_name(k.strip()): float(v) for k, v in row.items() if v})
    return rows


def log_results_csv(tracker: Tracker, path: Path) -> int:
    """Log every epoch of ``results.csv`` (used when no epoch callback reached us, e.g. DDP)."""
    if not path.is_file():
        return 0
    rows = read_results_csv(path)
    for row in rows:
        step = int(row.pop("epoch"))
        row.pop("time", None)
        tracker.log_metrics(_finite(row), step=step)
    return len(rows)
