"""Detector sets (DESIGN §5): the trained model plus teachers, whose masks are united.

Member 0 is the manifest's top-level model; members 1.. are its ``detectors`` entries. To score
and redact a set with the single-model code unchanged, each ``(member k, class c)`` pair is a
**channel** ``k * NUM_CLASSES + c``: a set's :class:`~figure_ml.eval.records.Detections` carry
channel ids in ``classes``, and thresholds and padding are arrays of ``n_members * NUM_CLASSES``
values indexed by them. ``redaction_mask`` / ``redaction_stats`` / ``GlobalSweep`` index
thresholds and padding by ``det.classes`` and coverage is class-agnostic, so the union's mask,
miss rates and over-redaction are computed by exactly the code that scores one model. A channel
a member does not produce has threshold ``inf`` (never kept). :func:`to_classes` maps channels
back to classes where a real class is needed (class-aware diagnostics, sidecars).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from figure_ml.boxes import Detections
from figure_ml.classes import CLASS_NAMES, NUM_CLASSES


def channel(member: int, class_id: int | np.ndarray) -> Any:
    return member * NUM_CLASSES + class_id


def to_channels(det: Detections, member: int) -> Detections:
    """``det`` (class ids) of member ``member`` with channel ids."""
    return Detections(
        det.boxes, det.scores, np.asarray(det.classes, np.int64) + member * NUM_CLASSES
    )


def to_classes(det: Detections) -> Detections:
    """Channel ids back to class ids (the member is forgotten)."""
    return Detections(det.boxes, det.scores, np.asarray(det.classes, np.int64) % NUM_CLASSES)


def member_part(det: Detections, member: int) -> Detections:
    """The detections of one member, with class ids."""
    sel = np.asarray(det.classes, np.int64) // NUM_CLASSES == member
    return to_classes(det.select(sel))


def channel_arrays(
    tables: Sequence[tuple[dict[str, float], dict[str, float]]],
) -> tuple[np.ndarray, np.ndarray]:
    """``(thresholds, padding)`` of length ``len(tables) * NUM_CLASSES`` from per-member
    ``(thresholds, padding)`` dicts by class name; classes a member does not name: ``inf``, 0."""
    thr = np.full(len(tables) * NUM_CLASSES, np.inf)
    pad = np.zeros(len(tables) * NUM_CLASSES)
    for k, (t, p) in enumerate(tables):
        for c, name in enumerate(CLASS_NAMES):
            if name in t:
                thr[channel(k, c)] = float(t[name])
                pad[channel(k, c)] = float(p[name])
    return thr, pad


class UnionPredictor:
    """``predict(image)``: every member's detections, concatenated, with channel ids (satisfies
    :class:`figure_ml.eval.predictors.Predictor`). ``predictors[0]`` is the top-level model."""

    def __init__(self, predictors: Sequence[Any], names: Sequence[str]) -> None:
        self.predictors = list(predictors)
        self.names = list(names)
        self.n_channels = len(self.predictors) * NUM_CLASSES
        self.imgsz = self.predictors[0].imgsz
        self.description = "union:" + "+".join(self.names)

    def predict(self, image: np.ndarray) -> Detections:
        parts = [to_channels(p.predict(image), k) for k, p in enumerate(self.predictors)]
        return Detections(*(np.concatenate([getattr(d, f) for d in parts]) for f in _FIELDS))


_FIELDS = ("boxes", "scores", "classes")


def member_file(entry: dict[str, Any], precision: str | None) -> dict[str, Any]:
    """Which file of a ``detectors`` entry runs beside a model artifact of ``precision``: its
    INT8 version when the model runs INT8 and the entry ships one, else its FP32 file."""
    return entry["int8"] if precision == "int8" and entry.get("int8") else entry


def teacher_from_entry(
    folder: str | Path,
    entry: dict[str, Any],
    threads: int | None = None,
    precision: str | None = None,
):
    """The teacher of a manifest's ``detectors`` entry, run from the exported copy of its model
    (:func:`member_file` of ``precision``) and refused unless that file hashes to the sha256
    the manifest records for it."""
    from figure_ml.teachers import make_teacher
    from figure_ml.teachers.registry import teacher_class

    # a manifest from before a decoding default changed runs as it was calibrated
    older = teacher_class(entry["teacher"]).options_of_older_manifest(entry.get("output") or {})
    opts = older | dict(entry.get("options") or {})
    if threads is not None:
        opts["threads"] = threads
    f = member_file(entry, precision)
    return make_teacher(
        entry["teacher"], model_path=str(Path(folder) / f["file"]), sha256=f["sha256"], **opts
    )


def member_info(entry: dict[str, Any], precision: str | None) -> dict[str, Any]:
    """What a sidecar or eval run records of the member it ran."""
    f = member_file(entry, precision)
    return {
        "name": entry["name"],
        "teacher": entry["teacher"],
        "file": f["file"],
        "precision": f.get("precision", "fp32"),
        "sha256": f["sha256"],
        "licence": entry["licence"],
    }


def teacher_tables(entry: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    return (
        {c: float(v) for c, v in entry["thresholds"].items()},
        {c: float(v) for c, v in entry["padding"].items()},
    )
