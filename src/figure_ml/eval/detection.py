"""Detection diagnostics beside the redaction metrics (DESIGN §4): class-aware recall and
precision at IoU >= 0.5 at the operating thresholds, and mAP50 / mAP50-95.

Matching is the COCO rule: per image and class, predictions in descending score order take
the unmatched GT box of highest IoU if that IoU reaches the threshold. AP is the area under the
101-point interpolated precision-recall curve; mAP averages classes that have GT boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from figure_ml.boxes import iou_matrix
from figure_ml.classes import CLASS_NAMES
from figure_ml.eval.records import Detections, GroundTruth

IOU_THRESHOLDS = np.round(np.arange(0.5, 0.96, 0.05), 2)


def _match(gt: np.ndarray, pred: np.ndarray, iou_thr: np.ndarray) -> np.ndarray:
    """``(len(iou_thr), len(pred))`` bool: prediction (in score order) is a true positive."""
    tp = np.zeros((len(iou_thr), len(pred)), bool)
    if not len(gt) or not len(pred):
        return tp
    ious = iou_matrix(pred, gt)
    for t, thr in enumerate(iou_thr):
        taken = np.zeros(len(gt), bool)
        for k in range(len(pred)):
            cand = np.where(taken, -1.0, ious[k])
            j = int(cand.argmax())
            if cand[j] >= thr:
                taken[j] = True
                tp[t, k] = True
    return tp


def _ap(tp: np.ndarray, scores: np.ndarray, n_gt: int) -> float:
    """101-point interpolated AP of one class at one IoU threshold."""
    if n_gt == 0:
        return float("nan")
    if not len(tp):
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tps = np.cumsum(tp[order])
    fps = np.cumsum(~tp[order])
    recall = tps / n_gt
    precision = tps / np.maximum(tps + fps, 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # monotone envelope
    points = np.linspace(0, 1, 101)
    idx = np.searchsorted(recall, points, side="left")
    return float(
        np.where(idx < len(precision), precision[np.minimum(idx, len(precision) - 1)], 0).mean()
    )


def detection_metrics(
    gts: Sequence[GroundTruth], dets: Sequence[Detections], thresholds: np.ndarray
) -> dict[str, Any]:
    """Per class: AP50, AP50-95, and recall/precision at IoU 0.5 at ``thresholds[c]``;
    plus the class means ``map50`` and ``map50_95``."""
    per_class: dict[str, Any] = {}
    for c, name in enumerate(CLASS_NAMES):
        tps, scores, n_gt = [], [], 0
        for gt, det in zip(gts, dets, strict=True):
            g = gt.boxes[gt.classes == c]
            sel = det.classes == c
            order = np.argsort(-det.scores[sel], kind="stable")
            p, s = det.boxes[sel][order], det.scores[sel][order]
            tps.append(_match(g, p, IOU_THRESHOLDS))
            scores.append(s)
            n_gt += len(g)
        tp = np.concatenate(tps, axis=1) if tps else np.zeros((len(IOU_THRESHOLDS), 0), bool)
        sc = np.concatenate(scores) if scores else np.zeros(0)
        aps = [_ap(tp[t], sc, n_gt) for t in range(len(IOU_THRESHOLDS))]
        at_op = sc >= thresholds[c]
        n_tp = int(tp[0][at_op].sum())
        n_pred = int(at_op.sum())
        per_class[name] = {
            "ap50": aps[0],
            "ap50_95": float(np.mean(aps)) if n_gt else float("nan"),
            "recall": n_tp / n_gt if n_gt else float("nan"),
            "precision": n_tp / n_pred if n_pred else float("nan"),
            "n_gt": n_gt,
            "n_pred": n_pred,
        }
    with_gt = [v for v in per_class.values() if v["n_gt"]]
    return {
        "per_class": per_class,
        "map50": float(np.mean([v["ap50"] for v in with_gt])) if with_gt else float("nan"),
        "map50_95": float(np.mean([v["ap50_95"] for v in with_gt])) if with_gt else float("nan"),
    }


def pr_curve(
    gts: Sequence[GroundTruth], dets: Sequence[Detections], c: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and score threshold along the class-``c`` curve at IoU 0.5."""
    tps, scores, n_gt = [], [], 0
    for gt, det in zip(gts, dets, strict=True):
        g = gt.boxes[gt.classes == c]
        sel = det.classes == c
        order = np.argsort(-det.scores[sel], kind="stable")
        tps.append(_match(g, det.boxes[sel][order], IOU_THRESHOLDS[:1])[0])
        scores.append(det.scores[sel][order])
        n_gt += len(g)
    tp, sc = np.concatenate(tps), np.concatenate(scores)
    order = np.argsort(-sc, kind="stable")
    tpc = np.cumsum(tp[order])
    precision = tpc / np.arange(1, len(tpc) + 1)
    recall = tpc / max(n_gt, 1)
    return precision, recall, sc[order]
