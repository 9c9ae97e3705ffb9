"""Realism score of a synthetic dataset (issue 14): how often pretrained detectors that were
trained on real photos recognise the synthetic PHI.

- **face realism** = share of synthetic face boxes that CenterFace finds,
- **text realism** = share of synthetic text boxes that PP-OCR det finds,

each at the teacher's default threshold (its authors' operating point); *found* means some
teacher box of that class has IoU >= 0.5 with the synthetic box. Reported overall and per
skin-tone bin with 95% intervals (the wider of Clopper–Pearson on the boxes and a bootstrap
over images, since a photo's boxes are found or missed together). A low score says the
generator's faces or text do not look like real ones to a real-photo detector; it is not a
quality figure of any model trained here.

Faces are also counted by **condition** (from the generator's object attributes; a face counts
under every condition it has): rolled more than 45° (lying patients, upside-down photos),
profile (yaw over 45°), masked, under a blanket, less than 80% visible, small (under 32 px
tall), cut by the photo's edge (its box touches the border), and **plain**: none of these. The
generator keeps the hard conditions on purpose (issue 14: never make faces easier), so the
plain row is the one that says whether an ordinary synthetic face looks real.

**Found in some quarter turn** (faces only, beside the score; not the score): a face counts
when CenterFace finds it in the photo as it is *or* turned by 90°, 180° or 270°
(:meth:`~figure_ml.teachers.centerface.CenterFace.detect_turn`, each turn alone). CenterFace's
training data holds few faces rolled past 45°, so it misses most of them however real they
look; this row tells that blind spot of the teacher from faces that do not look real to it.
The extra turns run only on photos where a face was missed upright.

Text lines are counted the same way by **kind**: a barcode or QR code (a ``text`` object by
DESIGN §3, but not a text line PP-OCR is made to find), handwriting on skin, on a screen, turned
more than 30° from a reading direction, small (capitals under 8 px), cut by the edge, and
**plain**: printed, level, readable and whole.

**Box agreement** says whether the generator draws its boxes as the teacher's training data
did (DESIGN §4: faces as WIDER FACE, text lines as PP-OCR's): for each synthetic box the teacher
found, its best-overlapping teacher box's width and height over the synthetic box's, and the
share of the synthetic box that teacher box covers; median and 10th–90th percentiles. A width
ratio well below 1 says the synthetic box runs wider than the teacher's convention, so a teacher
in the detector set must be padded to cover it.

**Restraint** is the other side: on the photos without any PHI box, the share on which each teacher
fires at its default threshold, overall and by the hard negatives painted in the photo, and the
mean share of such a photo its boxes cover (overall only). A real-photo detector firing on a
negative says that negative looks like PHI to it, and a student taught to ignore it may learn to
ignore real PHI of that look too (text at a distance, say).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from figure_ml import atomic
from figure_ml.boxes import clip_boxes, iou_matrix
from figure_ml.classes import CLASS_IDS
from figure_ml.data.canonical import open_dataset
from figure_ml.data.card import hard_negatives
from figure_ml.data.restraint_sheet import SheetCollector
from figure_ml.errors import DatasetError
from figure_ml.eval.bootstrap import Resamples, ratio_ci
from figure_ml.eval.coverage import image_areas
from figure_ml.eval.data import load_eval_data
from figure_ml.eval.exact import clopper_pearson
from figure_ml.eval.metrics import TONE_NAMES

#: PHI class -> the teacher whose recognition measures its realism
TEACHER_OF = {"face": "centerface", "text": "ppocr_det"}
MIN_IOU = 0.5
BOOTSTRAP_RESAMPLES = 1000
CARD_HEADING = "## Realism score"

#: face conditions (name, test on the generator's attributes); "edge" and "plain" are added
FACE_CONDITIONS: tuple[tuple[str, Callable[[dict[str, Any]], bool]], ...] = (
    ("rolled > 45°", lambda a: abs(float(a.get("roll_deg", 0.0))) > 45),
    ("profile (yaw > 45°)", lambda a: abs(float(a.get("yaw_deg", 0.0))) > 45),
    ("masked", lambda a: "mask" in a.get("wearing", [])),
    ("under a blanket", lambda a: a.get("occluded", "none") != "none"),
    ("< 80% visible", lambda a: float(a.get("visible_share", 1.0)) < 0.8),
    ("small (< 32 px)", lambda a: float(a.get("face_px", 1e9)) < 32),
)
EDGE, PLAIN = "cut by the edge", "plain"
CODES = frozenset({"barcode", "qr"})


def _tilt_deg(rotation: float) -> float:
    """Degrees from the nearest reading direction (0° or upside-down 180°)."""
    return abs((rotation + 90.0) % 180.0 - 90.0)


#: text kinds, as :data:`FACE_CONDITIONS`
TEXT_CONDITIONS: tuple[tuple[str, Callable[[dict[str, Any]], bool]], ...] = (
    ("barcode or QR code", lambda a: a.get("content") in CODES),
    ("handwritten on skin", lambda a: a.get("carrier") == "skin"),
    ("on a screen", lambda a: a.get("carrier") == "screen"),
    ("on a document page", lambda a: a.get("carrier") == "document"),
    ("turned > 30°", lambda a: _tilt_deg(float(a.get("rotation_deg", 0.0))) > 30),
    (
        "small (capitals < 8 px)",
        lambda a: a.get("content") not in CODES and 0 < float(a.get("char_px", 1e9)) < 8,
    ),
)
CONDITIONS = {"face": FACE_CONDITIONS, "text": TEXT_CONDITIONS}


def _best_match(gt_boxes: np.ndarray, det_boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per GT box: the highest IoU with a detected box (0 when none) and that box's index."""
    if not len(gt_boxes) or not len(det_boxes):
        return np.zeros(len(gt_boxes)), np.zeros(len(gt_boxes), int)
    iou = iou_matrix(gt_boxes, det_boxes)
    return iou.max(axis=1), iou.argmax(axis=1)


def found(gt_boxes: np.ndarray, det_boxes: np.ndarray, min_iou: float = MIN_IOU) -> np.ndarray:
    """Per GT box: does some detected box overlap it with IoU >= ``min_iou``?"""
    return _best_match(gt_boxes, det_boxes)[0] >= min_iou


def best_match_geometry(
    gt_boxes: np.ndarray, det_boxes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(found, geometry)``: :func:`found` per GT box, and for each found box ``(width ratio,
    height ratio, covered share)`` of its best-IoU detected box (detected over GT; area(gt ∩
    det) / area(gt)), ``(k, 3)`` — one IoU matrix for both."""
    best, idx = _best_match(gt_boxes, det_boxes)
    hit = best >= MIN_IOU
    g, d = gt_boxes[hit], det_boxes[idx[hit]] if len(det_boxes) else np.zeros((0, 4))
    gw, gh = g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]
    iw = np.clip(np.minimum(g[:, 2], d[:, 2]) - np.maximum(g[:, 0], d[:, 0]), 0, None)
    ih = np.clip(np.minimum(g[:, 3], d[:, 3]) - np.maximum(g[:, 1], d[:, 1]), 0, None)
    geo = np.stack([(d[:, 2] - d[:, 0]) / gw, (d[:, 3] - d[:, 1]) / gh, iw * ih / (gw * gh)], 1)
    return hit, geo.reshape(-1, 3)


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    p10, med, p90 = np.percentile(values, [10, 50, 90])
    return {"median": float(med), "p10": float(p10), "p90": float(p90)}


def geometry_summary(rows: list[np.ndarray]) -> dict[str, Any]:
    """``{"n", "width_ratio", "height_ratio", "covered"}`` (each a median and p10/p90, None
    when nothing was found) over the rows of :func:`best_match_geometry`."""
    g = np.concatenate(rows) if rows else np.zeros((0, 3))
    keys = ("width_ratio", "height_ratio", "covered")
    return {"n": len(g), **{k: _spread(g[:, j].tolist()) for j, k in enumerate(keys)}}


def conditions(
    cname: str, attrs: dict[str, Any], box: np.ndarray, width: int, height: int
) -> list[str]:
    """The conditions of one synthetic ``face`` or ``text`` box (:data:`CONDITIONS`, edge), or
    ``["plain"]``."""
    out = [name for name, test in CONDITIONS[cname] if test(attrs)]
    x0, y0, x1, y1 = (float(v) for v in box)
    if x0 <= 0.5 or y0 <= 0.5 or x1 >= width - 0.5 or y1 >= height - 0.5:
        out.append(EDGE)
    return out or [PLAIN]


def _rows(path: str | Path, split: str) -> list[dict[str, Any]] | None:
    """Annotation rows of ``split``; None when the data is not a canonical dataset (a YOLO
    folder has no attributes and no record of hard negatives)."""
    try:
        return open_dataset(path).annotations(split)
    except DatasetError:
        return None


def _attrs(rows: list[dict[str, Any]]) -> dict[str, list[list[dict[str, Any]]]]:
    """Per class of :data:`CONDITIONS` and row, the attributes of its objects of that class in
    box order."""
    return {
        cname: [
            [
                json.loads(o["attrs"] or "{}")
                for o in row["objects"]
                if o["category"] == CLASS_IDS[cname]
            ]
            for row in rows
        ]
        for cname in CONDITIONS
    }


def _rate(k: int, n: int, key: str = "found") -> dict[str, Any]:
    return {key: k, "n": n, "rate": k / n if n else None, "ci": list(clopper_pearson(k, n))}


class _Tally:
    """Boxes found / boxes, per key (``all``, a skin tone, a condition) and per image.

    A photo's boxes are not independent (a document page's lines are found or missed
    together), so a rate's ``ci`` is the wider of Clopper–Pearson on the boxes
    (``ci_exact``) and a bootstrap over images (``ci_bootstrap``), as DESIGN §4 asks of every
    counted rate."""

    def __init__(self) -> None:
        self.by_key: dict[str, dict[int, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0])
        )

    def add(self, key: str, image: int, found: int, n: int) -> None:
        c = self.by_key[key][image]
        c[0] += found
        c[1] += n

    def rate(self, key: str, rs: Resamples) -> dict[str, Any]:
        per = self.by_key.get(key, {})
        num = np.zeros(rs.counts.shape[1])
        den = np.zeros_like(num)
        for i, (k, n) in per.items():
            num[i], den[i] = k, n
        out = _rate(int(num.sum()), int(den.sum()))
        if out["n"]:
            _, lo, hi = ratio_ci(num, den, rs)
            out["ci_exact"], out["ci_bootstrap"] = out["ci"], [lo, hi]
            out["ci"] = [min(out["ci"][0], lo), max(out["ci"][1], hi)]
        return out


def covered_share(boxes: np.ndarray, width: int, height: int) -> float:
    """Share of a ``width x height`` photo inside the union of ``boxes`` (xyxy, pixels): the
    evaluator's exact over-redaction of a photo without PHI."""
    none = np.zeros((0, 4))
    areas = image_areas(none, clip_boxes(boxes, width, height), none, width, height)
    return areas.mask_outside_gt / areas.outside_gt if areas.outside_gt else 0.0


class _Restraint:
    """Per teacher: PHI-free photos it fired on, and the share of each photo it covered."""

    def __init__(self) -> None:
        self.fired: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.area: list[float] = []

    def add(self, fired: bool, share: float, negatives: list[str]) -> None:
        self.area.append(share)
        for key in ("all", *negatives):
            self.fired[key][0] += int(fired)
            self.fired[key][1] += 1

    def result(self) -> dict[str, Any]:
        return {
            "fired": _rate(*self.fired["all"], key="fired"),
            "area": float(np.mean(self.area)) if self.area else None,
            "by_negative": {
                k: _rate(*v, key="fired") for k, v in sorted(self.fired.items()) if k != "all"
            },
        }


def realism_score(
    path: str | Path,
    split: str = "test",
    *,
    limit: int | None = None,
    threads: int | None = None,
    sheets: dict[str, SheetCollector] | None = None,
) -> dict[str, Any]:
    """``{class: {"teacher", "threshold", "all": rate, "skin_tone": {tone: rate},
    "restraint": {"fired", "area", "by_negative": {kind: fired}}}}`` where each rate is
    ``{"found", "n", "rate", "ci"}`` (``fired``: the same with the PHI-free photos the teacher
    fired on); each class also has ``"condition": {name: rate}`` when the dataset is canonical
    (hard negatives are known only then). ``sheets``: per class, a
    :class:`~figure_ml.data.restraint_sheet.SheetCollector` fed the boxes its teacher keeps on
    each PHI-free photo (the restraint row's boxes, from this same pass)."""
    from figure_ml.teachers import make_teacher

    data = load_eval_data(path, split)
    items = data.items[:limit] if limit else data.items
    rows = _rows(path, split)
    attrs = _attrs(rows) if rows is not None else None
    teachers = {c: make_teacher(t, threads=threads) for c, t in TEACHER_OF.items()}
    counts = {c: _Tally() for c in teachers}
    by_condition = {c: _Tally() for c in teachers}
    # per class whose teacher can turn the photo: found upright or in some quarter turn
    turned = {c: _Tally() for c, t in teachers.items() if hasattr(t, "detect_turn")}
    restraint = {c: _Restraint() for c in teachers}
    geometry: dict[str, list[np.ndarray]] = {c: [] for c in teachers}
    for i, item in enumerate(tqdm(items, desc="realism", unit="img")):
        image, gt = item.read()
        if not len(gt.boxes):  # a PHI-free photo: what do the teachers raise on its negatives?
            negatives = hard_negatives(rows[i]) if rows is not None else []
            for cname, teacher in teachers.items():
                det = teacher.predict(image)
                keep = (det.classes == CLASS_IDS[cname]) & (det.scores >= teacher.default_threshold)
                share = covered_share(det.boxes[keep], gt.width, gt.height)
                restraint[cname].add(bool(keep.any()), share, negatives)
                if sheets and cname in sheets:
                    sheets[cname].add(image, det.boxes[keep])
            continue
        tone = TONE_NAMES.get(gt.skin_tone, str(gt.skin_tone))
        for cname, teacher in teachers.items():
            g = gt.boxes[gt.classes == CLASS_IDS[cname]]
            if not len(g):
                continue
            det = teacher.predict(image)
            keep = (det.classes == CLASS_IDS[cname]) & (det.scores >= teacher.default_threshold)
            hit, geo = best_match_geometry(g, det.boxes[keep])
            geometry[cname].append(geo)
            for key in ("all", tone):
                counts[cname].add(key, i, int(hit.sum()), len(g))
            hit_turned = _found_turned(teacher, image, g, hit, cname) if cname in turned else None
            if hit_turned is not None:
                turned[cname].add("all", i, int(hit_turned.sum()), len(g))
            if attrs is not None:
                for j, (a, box, h) in enumerate(zip(attrs[cname][i], g, hit, strict=True)):
                    for cond in conditions(cname, a, box, gt.width, gt.height):
                        by_condition[cname].add(cond, i, int(h), 1)
                        if hit_turned is not None:
                            turned[cname].add(cond, i, int(hit_turned[j]), 1)
    out: dict[str, Any] = {"split": split, "n_images": len(items), "min_iou": MIN_IOU}
    rs = Resamples.draw(len(items), BOOTSTRAP_RESAMPLES, seed=0)
    for cname, teacher in teachers.items():
        c = counts[cname]
        out[cname] = {
            "teacher": teacher.name,
            "teacher_version": f"{teacher.info.package} {teacher.info.package_version}",
            "threshold": teacher.default_threshold,
            "all": c.rate("all", rs),
            "skin_tone": {t: c.rate(t, rs) for t in sorted(c.by_key) if t != "all"},
            "restraint": restraint[cname].result(),
            "geometry": geometry_summary(geometry[cname]),
        }
    for cname, tally in turned.items():
        out[cname]["turned"] = {"all": tally.rate("all", rs)}
    if attrs is not None:
        for cname in teachers:
            names = [PLAIN, EDGE, *(n for n, _ in CONDITIONS[cname])]
            out[cname]["condition"] = {n: by_condition[cname].rate(n, rs) for n in names}
            if cname in turned:
                out[cname]["turned"]["condition"] = {n: turned[cname].rate(n, rs) for n in names}
    return out


def _found_turned(
    teacher: Any, image: np.ndarray, gt_boxes: np.ndarray, hit: np.ndarray, cname: str
) -> np.ndarray:
    """Per GT box: found upright (``hit``) or by the teacher alone on the photo turned by one
    of the other three quarter turns (run only when some box was missed upright)."""
    out = hit.copy()
    for k in (1, 2, 3):
        if out.all():
            break
        boxes, scores, classes = teacher.detect_turn(image, k)
        keep = (classes == CLASS_IDS[cname]) & (scores >= teacher.default_threshold)
        out |= found(gt_boxes, boxes[keep])
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
        "95% intervals, the wider of Clopper–Pearson on the boxes and a bootstrap over images "
        "(a photo's boxes are found or missed together). Written by the generator "
        "(`realism_images=N`) or by `benchmarks/synth_realism.py --update-card`.",
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
    intro = {
        "face": "Faces by condition (a face counts under each condition it has; *plain*: none "
        "of them). The hard conditions stay in the data on purpose.",
        "text": "Text by kind (a box counts under each kind it has; *plain*: printed, level, "
        "readable and whole). Barcodes and QR codes are `text` objects but not text lines, "
        "so PP-OCR det is not expected to find them.",
    }
    for cname, what in (("face", "condition"), ("text", "kind")):
        cond = score[cname].get("condition")
        if not cond:
            continue
        turned = (score[cname].get("turned") or {}).get("condition")
        head = f"| {what} | found by {score[cname]['teacher']} |"
        if turned:
            all_turned = pct(score[cname]["turned"]["all"])
            intro[cname] += (
                " *In some quarter turn*: found in the photo as it is or turned by 90°, 180° "
                "or 270° (each turn alone), which tells CenterFace's blind spot for rolled faces "
                f"from faces that do not look real to it; all faces: {all_turned}. The realism "
                "score is the upright column."
            )
            head += " in some quarter turn |"
        lines += ["", intro[cname], "", head, "|---|---|" + ("---|" if turned else "")]
        for name, r in cond.items():
            extra = f" {pct(turned[name])} |" if turned else ""
            lines.append(f"| {name} | {pct(r)} |{extra}")
    return "\n".join(lines + _geometry_lines(score) + _restraint_lines(score, pct)) + "\n"


def _geometry_lines(score: dict[str, Any]) -> list[str]:
    """The card's box-agreement table (module docstring); none for a score without it."""
    geo = {c: score[c].get("geometry") for c in TEACHER_OF}
    if not all(g and g["n"] for g in geo.values()):
        return []

    def cell(s: dict[str, float]) -> str:
        return f"{s['median']:.2f} ({s['p10']:.2f}–{s['p90']:.2f})"

    return [
        "",
        "Box agreement: for each synthetic box a teacher found, its best-overlapping teacher box "
        "over the synthetic box (width, height) and the share of the synthetic box it covers; "
        "median (10th–90th percentile). A width ratio below 1 means the synthetic boxes run "
        "wider than the teacher's training convention.",
        "",
        "| class | found | width ratio | height ratio | covered |",
        "|---|---|---|---|---|",
        *(
            f"| {c} | {g['n']} | {cell(g['width_ratio'])} | {cell(g['height_ratio'])} | "
            f"{cell(g['covered'])} |"
            for c, g in geo.items()
        ),
    ]


def _restraint_lines(score: dict[str, Any], pct: Callable[[dict[str, Any]], str]) -> list[str]:
    """The card's restraint table (module docstring); none when no photo was PHI-free."""
    rs = {c: score[c].get("restraint") for c in TEACHER_OF}
    if not all(r and r["fired"]["n"] for r in rs.values()):
        return []
    kinds = sorted({k for r in rs.values() for k in r["by_negative"]})
    area = ", ".join(f"{score[c]['teacher']} {100 * r['area']:.1f}%" for c, r in rs.items())
    return [
        "",
        "Restraint: PHI-free photos on which each teacher fires at its default threshold, "
        "overall and by the hard negative painted in the photo (a photo counts under each it "
        f"holds). Mean share of a PHI-free photo its boxes cover: {area}.",
        "",
        "| PHI-free photos | " + " | ".join(f"{score[c]['teacher']} fires" for c in rs) + " |",
        "|---|" + "---|" * len(rs),
        "| all | " + " | ".join(pct(r["fired"]) for r in rs.values()) + " |",
        *(
            f"| with {k} | "
            + " | ".join(
                pct(r["by_negative"][k]) if k in r["by_negative"] else "n/a" for r in rs.values()
            )
            + " |"
            for k in kinds
        ),
    ]


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
