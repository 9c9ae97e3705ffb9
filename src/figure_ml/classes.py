"""The one id <-> name map of PHI classes.

Everything else (YOLO ``data.yaml`` names, manifests, metric keys, config validation) derives
from :data:`CLASS_NAMES`. Never write the class list anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable

#: PHI classes in id order: ``CLASS_NAMES[i]`` is the name of class id ``i``.
CLASS_NAMES: tuple[str, ...] = ("face", "tattoo", "wristband", "text")

NUM_CLASSES: int = len(CLASS_NAMES)

#: name -> id
CLASS_IDS: dict[str, int] = {name: i for i, name in enumerate(CLASS_NAMES)}


def class_id(name: str) -> int:
    """Id of the PHI class called ``name``; ``KeyError`` naming the value when unknown."""
    try:
        return CLASS_IDS[name]
    except KeyError:
        raise KeyError(f"unknown PHI class {name!r}; known classes: {list(CLASS_NAMES)}") from None


def class_name(idx: int) -> str:
    """Name of PHI class id ``idx``; ``KeyError`` naming the value when out of range."""
    if not 0 <= int(idx) < NUM_CLASSES:
        raise KeyError(f"class id {idx!r} out of range 0..{NUM_CLASSES - 1}")
    return CLASS_NAMES[int(idx)]


def names_dict() -> dict[int, str]:
    """``{id: name}``, the form ultralytics' ``data.yaml`` and model heads use."""
    return dict(enumerate(CLASS_NAMES))


def check_names(names: Iterable[str] | dict[int, str], *, where: str) -> None:
    """Raise ``ValueError`` when ``names`` is not exactly :data:`CLASS_NAMES` in order."""
    got = [names[k] for k in sorted(names)] if isinstance(names, dict) else list(names)
    if got != list(CLASS_NAMES):
        raise ValueError(
            f"{where}: class list {got} differs from figure_ml.classes {list(CLASS_NAMES)}"
        )
