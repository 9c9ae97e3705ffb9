"""Pretrained detectors that ship inside permissively licensed packages (DESIGN §2-§3).

Teachers enter the workbench as eval baselines, ensemble members of an export, residual-PHI
auditors of the redactor's output, and labellers of unlabelled photos
(:mod:`figure_ml.data.autolabel`). Each one::

    t = make_teacher("centerface")           # or "ppocr_det"; options: threads, score_floor...
    boxes, scores, classes = t.detect(rgb)   # xyxy in image pixels, class ids of classes.py
    t.predict(rgb)                           # the same as eval Detections (Predictor protocol)
    t.info                                   # TeacherInfo: package, version, sha256, licence
    t.default_threshold                      # its authors' operating point

The table of teachers is :data:`figure_ml.teachers.registry.TEACHERS`.
"""

from figure_ml.teachers.base import Teacher, TeacherInfo, TeacherSpec, TeacherUnavailable
from figure_ml.teachers.predictor import TeacherPredictor
from figure_ml.teachers.registry import (
    TEACHERS,
    make_teacher,
    teacher_info,
    teacher_names,
    teacher_spec,
)

__all__ = [
    "TEACHERS",
    "Teacher",
    "TeacherInfo",
    "TeacherPredictor",
    "TeacherSpec",
    "TeacherUnavailable",
    "make_teacher",
    "teacher_info",
    "teacher_names",
    "teacher_spec",
]
