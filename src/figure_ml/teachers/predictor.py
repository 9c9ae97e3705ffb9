"""One or several teachers behind the evaluator's ``Predictor`` interface.

With several teachers the detections are concatenated: the union a detector set redacts.
Each PHI class comes from at most one teacher (checked), so per-class thresholds are
per-teacher thresholds and the evaluator's per-class calibration calibrates each member.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from figure_ml.boxes import Detections
from figure_ml.classes import CLASS_NAMES
from figure_ml.errors import ConfigError
from figure_ml.teachers.base import Teacher
from figure_ml.teachers.registry import class_owners, make_teacher


class TeacherPredictor:
    """``predict(image) -> Detections`` of the union of ``teachers`` (satisfies
    :class:`figure_ml.eval.predictors.Predictor`)."""

    def __init__(self, teachers: Teacher | Sequence[Teacher]) -> None:
        self.teachers: tuple[Teacher, ...] = (
            (teachers,) if isinstance(teachers, Teacher) else tuple(teachers)
        )
        if not self.teachers:
            raise ConfigError("TeacherPredictor needs at least one teacher")
        #: PHI class name -> the teacher that detects it
        self.owner = class_owners((t.name, t.info.classes) for t in self.teachers)
        self.imgsz = max(t.imgsz for t in self.teachers)
        self.description = "teacher:" + "+".join(t.name for t in self.teachers)

    @classmethod
    def from_names(cls, names: Sequence[str], **opts: Any) -> TeacherPredictor:
        """Teachers by name, each built with the same ``opts`` (e.g. ``threads=2``)."""
        return cls([make_teacher(n, **opts) for n in names])

    def predict(self, image: np.ndarray) -> Detections:
        parts = [t.detect(image) for t in self.teachers]
        if len(parts) == 1:
            return Detections(*parts[0])
        return Detections(*(np.concatenate([p[i] for p in parts]) for i in range(3)))

    def default_thresholds(self, other: float = 1.0) -> dict[str, float]:
        """Per-class thresholds over every PHI class: each teacher's default for its classes,
        ``other`` for classes no teacher detects (they have no detections to threshold)."""
        by_name = {t.name: t for t in self.teachers}
        return {
            c: (by_name[self.owner[c]].default_threshold if c in self.owner else other)
            for c in CLASS_NAMES
        }
