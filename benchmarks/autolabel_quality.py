"""How good are the teachers' pseudo-labels? Recall and precision against true boxes.

    .venv/bin/python benchmarks/autolabel_quality.py --data DS [--split test]
        [--teachers centerface ppocr_det] [--min-score S] [--threads 2] [--limit N]

Runs the teachers on a labelled canonical dataset (e.g. a synthetic test split made with
``python -m figure_ml.data.synth out_dir=DS n_train=0 n_val=0 n_test=150 seed=5``) exactly as
``figure_ml.data.autolabel`` labels photos, and prints per class the teachers cover:

- **recall** = true boxes matched by a pseudo-label / true boxes, and **precision** = pseudo
  labels matched / pseudo-labels, class-aware, IoU >= 0.5, COCO greedy matching
  (:func:`figure_ml.eval.detection.detection_metrics`), at the threshold autolabel applies
  (each teacher's default, or ``--min-score``) and at a few others; 95% Clopper-Pearson
  intervals on the counts;
- **box offsets** of matched pairs (IoU >= 0.3): median of (pseudo - true) left, top, right,
  bottom edge, as a share of the true box's width / height (negative left/top = the pseudo
  box starts further out) — how the teachers' box conventions differ from the dataset's;
- milliseconds per image for all teachers together (pre- and post-processing included) and
  the CPU model.

Synthetic data labels the classes the teachers do not cover (tattoo, wristband) too: they are
left out of the table (a teacher cannot find what it was not trained on).
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from figure_ml.boxes import iou_matrix
from figure_ml.classes import CLASS_NAMES, class_id
from figure_ml.eval.data import load_eval_data
from figure_ml.eval.detection import detection_metrics
from figure_ml.eval.exact import clopper_pearson
from figure_ml.export.latency import cpu_model
from figure_ml.teachers import TeacherPredictor, make_teacher


def offsets(gts, dets, c: int, thr: float) -> np.ndarray:
    """(pseudo - true) edges / true size of each true box's best pseudo-label (IoU >= 0.3)."""
    rows = []
    for gt, det in zip(gts, dets, strict=True):
        g = gt.boxes[gt.classes == c]
        p = det.boxes[(det.classes == c) & (det.scores >= thr)]
        if not len(g) or not len(p):
            continue
        ious = iou_matrix(g, p)
        for i, j in enumerate(ious.argmax(1)):
            if ious[i, j] >= 0.3:
                w, h = g[i, 2] - g[i, 0], g[i, 3] - g[i, 1]
                rows.append((p[j] - g[i]) / [w, h, w, h])
    return np.array(rows).reshape(-1, 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="canonical dataset or YOLO folder")
    ap.add_argument("--split", default="test")
    ap.add_argument("--teachers", nargs="+", default=["centerface", "ppocr_det"])
    ap.add_argument("--min-score", type=float, default=None)
    ap.add_argument("--sweep", type=float, nargs="*", default=[0.1, 0.3, 0.5, 0.7])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    teachers = [make_teacher(n, threads=args.threads) for n in args.teachers]
    predictor = TeacherPredictor(teachers)
    data = load_eval_data(args.data, args.split)
    items = data.items[: args.limit] if args.limit else data.items
    gts, dets, seconds = [], [], 0.0
    for item in items:
        image, gt = item.read()
        t0 = time.perf_counter()
        dets.append(predictor.predict(image))
        seconds += time.perf_counter() - t0
        gts.append(gt)

    print(f"data: {data.description} split={args.split} images={len(items)}")
    print(f"cpu: {cpu_model()}  threads={args.threads}")
    print(f"teachers: {predictor.description}  {1000 * seconds / len(items):.1f} ms/image")
    for t in teachers:
        i = t.info
        print(f"  {i.name}: {i.package} {i.package_version} {i.model_file} sha256 {i.sha256[:12]}")
    print()
    print(
        f"{'class':6} {'thr':>5} {'n_gt':>5} {'n_pl':>5} {'tp':>5}  recall [95% CI]       "
        "precision [95% CI]"
    )
    for t in teachers:
        default = t.default_threshold if args.min_score is None else args.min_score
        for c_name in t.info.classes:
            c = class_id(c_name)
            for thr in [default, *[s for s in args.sweep if s != default]]:
                th = np.ones(len(CLASS_NAMES))
                th[c] = thr
                m = detection_metrics(gts, dets, th)["per_class"][c_name]
                n_gt, n_pl = m["n_gt"], m["n_pred"]
                tp = round(m["recall"] * n_gt) if n_gt else 0
                r_lo, r_hi = clopper_pearson(tp, n_gt)
                p_lo, p_hi = clopper_pearson(tp, n_pl)
                mark = "*" if thr == default else " "
                print(
                    f"{c_name:6} {thr:5.2f}{mark}{n_gt:5d} {n_pl:5d} {tp:5d}  "
                    f"{tp / max(n_gt, 1):.3f} [{r_lo:.3f}, {r_hi:.3f}]  "
                    f"{tp / max(n_pl, 1):.3f} [{p_lo:.3f}, {p_hi:.3f}]"
                )
            off = offsets(gts, dets, c, default)
            if len(off):
                med = np.median(off, axis=0)
                print(
                    f"{c_name:6} box offsets at {default:.2f} (median of {len(off)} pairs, share "
                    f"of true w/h): left {med[0]:+.2f} top {med[1]:+.2f} right {med[2]:+.2f} "
                    f"bottom {med[3]:+.2f}"
                )
    print("(* = the threshold autolabel applies)")


if __name__ == "__main__":
    main()
