"""Realism score of a synthetic dataset (issue 14): how often pretrained detectors that were
trained on real photos recognise the synthetic PHI.

- **face realism** = share of synthetic face boxes that CenterFace finds,
- **text realism** = share of synthetic text boxes that PP-OCR det finds,

each at the teacher's default threshold (its authors' operating point); *found* means some
teacher box of that class has IoU >= 0.5 with the synthetic box. Reported overall and per
skin-tone bin with 95% Clopper–Pearson intervals. A low score says the generator's faces or
text do not look like real ones to a real-photo detector; it is not a quality figure of any
model trained here.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from figure_ml import atomic
from figure_ml.boxes import iou_matrix
from figure_ml.classes import CLASS_IDS
from figure_ml.eval.data import load_eval_data
from figure_ml.eval.exact import clopper_pearson
from figure_ml.eval.metrics import TONE_NAMES

#: PHI class -> the teacher whose recognition measures its realism
TEACHER_OF = {"face": "centerface", "text": "ppocr_det"}
MIN_IOU = 0.5
CARD_HEADING = "## Realism score"


def found(gt_boxes: np.ndarray, det_boxes: np.ndarray, min_iou: float = MIN_IOU) -> np.ndarray:
    """Per GT box: does some detected box overlap it with IoU >= ``min_iou``?"""
    if not len(gt_boxes):
        return np.zeros(0, bool)
    if not len(det_boxes):
        return np.zeros(len(gt_boxes), bool)
    return iou_matrix(gt_boxes, det_boxes).max(axis=1) >= min_iou


def _rate(k: int, n: int) -> dict[str, Any]:
    return {"found": k, "n": n, "rate": k / n if n else None, "ci": list(clopper_pearson(k, n))}


def realism_score(
    path: str | Path, split: str = "test", *, limit: int | None = None, threads: int | None = None
) -> dict[str, Any]:
    """``{class: {"teacher", "threshold", "all": rate, "skin_tone": {tone: rate}}}`` where
    each rate is ``{"found", "n", "rate", "ci"}``."""
    from figure_ml.teachers import make_teacher

    data = load_eval_data(path, split)
    items = data.items[:limit] if limit else data.items
    teachers = {c: make_teacher(t, threads=threads) for c, t in TEACHER_OF.items()}
    counts: dict[str, dict[str, list[int]]] = {c: defaultdict(lambda: [0, 0]) for c in teachers}
    for item in tqdm(items, desc="realism", unit="img"):
        image, gt = item.read()
        tone = TONE_NAMES.get(gt.skin_tone, str(gt.skin_tone))
        for cname, teacher in teachers.items():
            g = gt.boxes[gt.classes == CLASS_IDS[cname]]
            if not len(g):
                continue
            det = teacher.predict(image)
            keep = (det.classes == CLASS_IDS[cname]) & (det.scores >= teacher.default_threshold)
            hit = found(g, det.boxes[keep])
            for key in ("all", tone):
                counts[cname][key][0] += int(hit.sum())
                counts[cname][key][1] += len(g)
    out: dict[str, Any] = {"split": split, "n_images": len(items), "min_iou": MIN_IOU}
    for cname, teacher in teachers.items():
        c = counts[cname]
        out[cname] = {
            "teacher": teacher.name,
            "teacher_version": f"{teacher.info.package} {teacher.info.package_version}",
            "threshold": teacher.default_threshold,
            "all": _rate(*c["all"]),
            "skin_tone": {t: _rate(*v) for t, v in sorted(c.items()) if t != "all"},
        }
    return out


def card_section(score: dict[str, Any]) -> str:
    """The DATASET_CARD.md section for a realism score."""

    def pct(r: dict[str, Any]) -> str:
        if r["rate"] is None:
            return "n/a"
        return (
            f"{100 * r['rate']:.1f}% [{100 * r['ci'][0]:.1f}, {100 * r['ci'][1]:.1f}] of {r['n']}"
        )

    lines = [
        CARD_HEADING,
        "",
        f"Share of synthetic boxes a real-photo detector finds at its default threshold (IoU >= "
        f"{score['min_iou']}), on {score['n_images']} images of the {score['split']} split; "
        "95% Clopper–Pearson intervals. Written by the generator (`realism_images=N`) or by "
        "`benchmarks/synth_realism.py --update-card`.",
        "",
        "| class | teacher | all | " + " | ".join(f"tone {t}" for t in _tones(score)) + " |",
        "|---|---|---|" + "---|" * len(_tones(score)),
    ]
    for cname in TEACHER_OF:
        s = score[cname]
        cells = [pct(s["skin_tone"][t]) if t in s["skin_tone"] else "n/a" for t in _tones(score)]
        lines.append(
            f"| {cname} | {s['teacher']} ({s['teacher_version']}, >= {s['threshold']}) | "
            f"{pct(s['all'])} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


def unavailable_section(reason: str) -> str:
    """The card section when the teachers cannot run here."""
    return f"{CARD_HEADING}\n\nNot measured: {reason}.\n"


def _tones(score: dict[str, Any]) -> list[str]:
    return sorted({t for c in TEACHER_OF for t in score[c]["skin_tone"]})


def update_card(card: Path, section: str) -> Path:
    """Replace (or append) the realism section of a DATASET_CARD.md, atomically."""
    text = card.read_text() if card.exists() else ""
    if CARD_HEADING in text:
        head, _, rest = text.partition(CARD_HEADING)
        nxt = rest.find("\n## ")
        text = head + section + (rest[nxt + 1 :] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    return atomic.write_text(card, text)
