"""The teacher table: one row per teacher, naming the module that implements it.

Adding a teacher is one small module (a :class:`~figure_ml.teachers.base.Teacher` subclass
whose ``spec`` is a :class:`~figure_ml.teachers.base.TeacherSpec`) plus one row here; a variant
of a teacher (other default options, same model file) is a subclass with its own spec and row.
Modules are imported only when their teacher is asked for, so a missing optional package only
matters to the teacher that needs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from typing import Any

from figure_ml.errors import ConfigError
from figure_ml.teachers.base import Teacher, TeacherInfo, TeacherSpec, locate

#: teacher name -> (module, class name)
TEACHERS: dict[str, tuple[str, str]] = {
    "centerface": ("figure_ml.teachers.centerface", "CenterFace"),
    "centerface_turns": ("figure_ml.teachers.centerface", "CenterFaceTurns"),
    "ppocr_det": ("figure_ml.teachers.ppocr_det", "PPOCRDet"),
    "craft": ("figure_ml.teachers.craft", "Craft"),
}


def teacher_names() -> tuple[str, ...]:
    return tuple(TEACHERS)


def _row(name: str) -> tuple[Any, type[Teacher]]:
    if name not in TEACHERS:
        raise ConfigError(f"unknown teacher {name!r}; known teachers: {list(TEACHERS)}")
    module_name, cls_name = TEACHERS[name]
    module = importlib.import_module(module_name)
    return module, getattr(module, cls_name)


def teacher_class(name: str) -> type[Teacher]:
    """The class of teacher ``name`` (its module is imported, nothing is loaded)."""
    return _row(name)[1]


def teacher_spec(name: str) -> TeacherSpec:
    """The table entry of teacher ``name`` (nothing is loaded)."""
    return _row(name)[1].spec


def teacher_info(name: str) -> TeacherInfo:
    """Provenance of teacher ``name`` as installed (file found, hashed, verified; no session)."""
    return locate(teacher_spec(name))


def make_teacher(name: str, **opts: Any) -> Teacher:
    """Teacher ``name`` ready to ``detect`` / ``predict``; ``opts`` go to its constructor
    (every teacher takes ``threads`` and ``score_floor``; see each module for the rest)."""
    _, cls = _row(name)
    try:
        return cls(**opts)
    except TypeError as exc:  # an option this teacher does not take
        raise ConfigError(f"teacher {name}: {exc}") from exc


def class_owners(teachers: Iterable[tuple[str, Sequence[str]]]) -> dict[str, str]:
    """PHI class name -> the one teacher detecting it, from ``(name, classes)`` pairs; two
    teachers of one class (``centerface`` and ``centerface_turns``, or one teacher twice) are
    refused: their boxes would double every object of that class, and per-class thresholds
    could not tell them apart."""
    owner: dict[str, str] = {}
    for name, classes in teachers:
        for cls in classes:
            if cls in owner:
                raise ConfigError(
                    f"teachers {owner[cls]} and {name} both detect {cls!r}; name one of them"
                )
            owner[cls] = name
    return owner


def one_teacher_per_class(names: list[str]) -> None:
    """:func:`class_owners` of teachers named in a config (nothing is loaded)."""
    class_owners((n, teacher_spec(n).classes) for n in names)


def one_network_each(names: list[str]) -> None:
    """Refuse a detector set naming one network twice (``centerface`` and
    ``centerface_turns``: the variant already holds every box of the upright run). Two
    *different* networks of one class (``ppocr_det`` and ``craft``) are allowed there: each
    member of a set has its own thresholds and padding, and the mask is their union."""
    seen: dict[tuple[str, tuple[str, ...]], str] = {}
    for name in names:
        spec = teacher_spec(name)
        key = (spec.dist, spec.model_patterns[:1])
        if key in seen:
            raise ConfigError(
                f"teachers {seen[key]} and {name} run the same network; name one of them"
            )
        seen[key] = name
