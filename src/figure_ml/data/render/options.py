"""Per-scene rendering options, derived from the synth config by the generator."""

from __future__ import annotations

from dataclasses import dataclass

from figure_ml.classes import CLASS_NAMES


@dataclass(frozen=True)
class SceneOptions:
    """What :func:`figure_ml.data.render.scene.render_scene` may put in a scene.

    ``classes`` are the PHI classes to render (names from :mod:`figure_ml.classes`);
    ``font_paths`` are TrueType files already checked to exist; ``*_per_image`` are inclusive
    ``(min, max)`` counts drawn uniformly per scene.
    """

    classes: tuple[str, ...] = CLASS_NAMES
    font_paths: tuple[str, ...] = ()
    phi_per_image: tuple[int, int] = (1, 6)
    findings_per_image: tuple[int, int] = (0, 3)
    negatives_per_image: tuple[int, int] = (1, 4)
