"""Every default is written twice: in a primary YAML under ``configs/`` (what the CLI uses)
and in the dataclass of :mod:`figure_ml.config` (what library callers and ``to_typed`` fill in).
This test keeps them one source in effect: it composes each primary exactly as its CLI does and
fails on any key whose value differs from the dataclass default, and on any key that only one
of them has. Change both or neither.

``train`` and ``mix`` are checked for keys only: their dataclasses are schemas whose defaults
come from config groups (the experiment overlay, the mix file), by design.
"""

from __future__ import annotations

from dataclasses import is_dataclass
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError

from figure_ml.cli import CONFIG_DIR
from figure_ml.config import (
    AutolabelConfig,
    CompareConfig,
    ConvertConfig,
    EvalConfig,
    ExportConfig,
    ExportYoloConfig,
    MixConfig,
    SynthConfig,
    TrainConfig,
)

#: primary config -> its dataclass, values compared
VALUES = {
    "synth": SynthConfig,
    "convert": ConvertConfig,
    "eval": EvalConfig,
    "export": ExportConfig,
    "export_yolo": ExportYoloConfig,
    "autolabel": AutolabelConfig,
    "compare": CompareConfig,
}
#: primary config -> its dataclass, keys compared (defaults come from groups)
KEYS_ONLY = {"train": TrainConfig, "mix": MixConfig}
#: top-level nodes that are not part of the typed config (dropped by ``to_typed``)
NOT_TYPED = {"paths", "hydra"}

#: drift found and not yet fixed: (config, key) -> why it is still here. Strict: an entry
#: whose drift is gone fails the test until it is removed, so the list only shrinks.
KNOWN_DRIFT: dict[tuple[str, str], str] = {}


def _compose(name: str) -> DictConfig:
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return compose(name)


def _value(node: DictConfig, key: str) -> Any:
    """The value as the CLI sees it: interpolations resolved; ``???`` kept as ``???``; an
    interpolation that needs a required value (``${source}``) kept as its text."""
    if OmegaConf.is_missing(node, key):
        return "???"
    try:
        value = node[key]
    except InterpolationResolutionError:
        return node._get_node(key)._value()  # the ${...} text
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True, throw_on_missing=False)
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):  # True == 1 in Python, not in a config
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if a != b:
        return False
    return type(a) is type(b) or {type(a), type(b)} <= {int, float}  # 10 and 10.0 are one value


def _is_schema(node: Any) -> bool:
    """A node typed by a nested dataclass (not a free ``dict[...]`` field, not ``None``)."""
    return isinstance(node, DictConfig) and is_dataclass(OmegaConf.get_type(node))


def drift(yaml: DictConfig, schema: DictConfig, values: bool, prefix: str = "") -> list[str]:
    """One line per key whose YAML value differs from the dataclass default, or that only
    one side has; nested dataclasses are compared key by key, other values whole."""
    problems = []
    ykeys = set(yaml.keys()) - (NOT_TYPED if not prefix else set())
    skeys = set(schema.keys())
    problems += [f"{prefix}{k}: in the YAML only" for k in sorted(ykeys - skeys)]
    problems += [f"{prefix}{k}: in the dataclass only" for k in sorted(skeys - ykeys)]
    for k in sorted(ykeys & skeys):
        s_node = schema._get_node(k)
        y_node = yaml._get_node(k)
        if _is_schema(s_node) and isinstance(y_node, DictConfig) and not y_node._is_none():
            problems += drift(yaml[k], schema[k], values, f"{prefix}{k}.")
        elif values:
            y, s = _value(yaml, k), _value(schema, k)
            if not _same(y, s):
                problems.append(f"{prefix}{k}: YAML {y!r} != dataclass {s!r}")
    return problems


def _check(name: str, cls: type, values: bool) -> None:
    found = drift(_compose(name), OmegaConf.structured(cls), values)
    known = {k: why for (cfg, k), why in KNOWN_DRIFT.items() if cfg == name}
    unexpected = [p for p in found if p.split(":", 1)[0] not in known]
    fixed = sorted(set(known) - {p.split(":", 1)[0] for p in found})
    assert not unexpected, f"configs/{name}.yaml and {cls.__name__} differ:\n" + "\n".join(
        unexpected
    )
    assert not fixed, f"drift fixed, remove from KNOWN_DRIFT: {[(name, k) for k in fixed]}"


@pytest.mark.parametrize("name", sorted(VALUES))
def test_yaml_defaults_equal_dataclass_defaults(name: str) -> None:
    _check(name, VALUES[name], values=True)


@pytest.mark.parametrize("name", sorted(KEYS_ONLY))
def test_yaml_keys_equal_dataclass_fields(name: str) -> None:
    _check(name, KEYS_ONLY[name], values=False)


# --- the checker itself can fail -------------------------------------------------------------


def test_drift_is_found_in_values_types_and_keys() -> None:
    schema = OmegaConf.structured(SynthConfig)
    yaml = OmegaConf.create(OmegaConf.to_container(schema))
    assert drift(yaml, schema, values=True) == []
    yaml.n_val = 301
    yaml.augment = 1  # equal to True in Python, still not the same default
    yaml.jpeg_quality = [55, 96]
    yaml.extra = "x"
    del yaml["seed"]
    assert drift(yaml, schema, values=True) == [
        "extra: in the YAML only",
        "seed: in the dataclass only",
        "augment: YAML 1 != dataclass True",
        "jpeg_quality: YAML [55, 96] != dataclass [55, 95]",
        "n_val: YAML 301 != dataclass 300",
    ]
    assert drift(yaml, schema, values=False) == [
        "extra: in the YAML only",
        "seed: in the dataclass only",
    ]


def test_drift_is_found_in_nested_configs() -> None:
    schema = OmegaConf.structured(EvalConfig)
    yaml = OmegaConf.create(OmegaConf.to_container(schema))
    yaml.predictor.tiling.overlap = 0.25
    yaml.thresholds.face = 0.3
    del yaml.calibration["floor"]
    assert drift(yaml, schema, values=True) == [
        "calibration.floor: in the dataclass only",
        "predictor.tiling.overlap: YAML 0.25 != dataclass 0.2",
        "thresholds: YAML {'face': 0.3, 'tattoo': 0.25, 'wristband': 0.25, 'text': 0.25} "
        "!= dataclass {'face': 0.25, 'tattoo': 0.25, 'wristband': 0.25, 'text': 0.25}",
    ]
