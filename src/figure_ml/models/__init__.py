"""Checkpoints trained here that ship inside the package, loadable offline by name.

``model.weights=reference`` (train), ``weights=reference`` (eval, export) resolve through
:func:`resolve_weights` to ``figure_ml/models/<name>/weights.pt`` found with
:mod:`importlib.resources`, so an installed wheel has them too. Each folder holds:

- ``weights.pt``: the ultralytics checkpoint (best epoch on its validation split);
- ``provenance.json``: sha256 and size of ``weights.pt`` (checked on every load), the git commit
  of the code that trained it and of the generator that made its data, the dataset digest,
  the recipe, epochs, CPU and wall time, and the figures measured on a test split generated
  with another seed (written by :mod:`figure_ml.models.ship`);
- ``config.yaml``: the resolved training config; ``MODEL_CARD.md``: what it is, how it was
  trained and measured, what it misses.

A checkpoint is retrained whenever the generator or the box conventions change:
``tests/test_models.py`` compares the generator digest recorded here with the generator's
current output and fails when they differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from figure_ml.errors import BadInputError, ConfigError
from figure_ml.manifest import sha256_file

#: names that ``model.weights`` / ``weights`` accept besides a path to a local ``.pt``
SHIPPED: tuple[str, ...] = ("reference",)
#: starting points converted on first use from weights inside a registry package
#: (:mod:`figure_ml.models.nudenet`); ``model.weights`` accepts them, eval and export do not
CONVERTED: tuple[str, ...] = ("nudenet",)


@dataclass(frozen=True)
class ShippedModel:
    name: str
    folder: Path
    weights: Path
    provenance: dict[str, Any]


def shipped_model(name: str) -> ShippedModel:
    """The shipped checkpoint ``name``, its file verified against ``provenance.json``."""
    if name not in SHIPPED:
        raise ConfigError(f"unknown shipped model {name!r}; shipped: {list(SHIPPED)}")
    folder = Path(str(resources.files("figure_ml.models") / name))
    weights, prov_path = folder / "weights.pt", folder / "provenance.json"
    for p in (weights, prov_path):
        if not p.is_file():
            raise BadInputError(f"shipped model {name}: {p} is missing from the package")
    try:
        provenance = json.loads(prov_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BadInputError(f"{prov_path}: not valid JSON ({exc})") from exc
    sha = sha256_file(weights)
    if sha != provenance.get("sha256"):
        raise BadInputError(
            f"{weights}: sha256 {sha[:12]} does not match provenance.json "
            f"({str(provenance.get('sha256'))[:12]}); the file was changed or truncated"
        )
    return ShippedModel(name, folder, weights, provenance)


def resolve_weights(spec: str | None, *, converted: bool = False) -> str | None:
    """A shipped name -> the verified path of its ``weights.pt``; with ``converted`` (training's
    starting point only), a converted name -> its cached checkpoint, converted on first use;
    anything else unchanged."""
    if converted and spec in CONVERTED:
        from figure_ml.models.nudenet import init_checkpoint

        return str(init_checkpoint())
    if spec not in SHIPPED:
        return spec
    return str(shipped_model(spec).weights)
