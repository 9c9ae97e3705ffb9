"""The operating point: per-class thresholds and padding, the coverage ``kappa``, and what they
were calibrated for. One reader (:func:`load_operating_point`) serves eval and export, so a
thresholds file that does not fit the model or the settings is refused the same way everywhere.

``thresholds.json`` (written by ``python -m figure_ml.eval calibrate=true``)::

    {"thresholds": {class: t}, "padding": {class: rho}, "kappa": 0.95,
     "met": {class: bool}, "targets": {class: m}, "budget": {...}, "details": {...},
     "split": "val", "dataset_digest": "...", "weights_sha256": "..."}
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from figure_ml import atomic
from figure_ml.classes import CLASS_NAMES
from figure_ml.errors import ConfigError

#: largest padding a thresholds file may carry (share of box side added on each side)
MAX_PADDING = 1.0


@dataclass
class OperatingPoint:
    thresholds: dict[str, float]
    padding: dict[str, float]
    kappa: float
    #: per class: did calibration meet the target (None: not calibrated, e.g. fixed thresholds)
    met: dict[str, bool] | None = None
    targets: dict[str, float] | None = None
    weights_sha256: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def not_met(self) -> list[str]:
        return [c for c in CLASS_NAMES if self.met is not None and not self.met[c]]

    def to_json(self) -> dict[str, Any]:
        out = {
            "thresholds": self.thresholds,
            "padding": self.padding,
            "kappa": self.kappa,
            "met": self.met,
            "targets": self.targets,
            "weights_sha256": self.weights_sha256,
            **self.extra,
        }
        return {k: v for k, v in out.items() if v is not None}

    def write(self, path: str | Path) -> Path:
        text = json.dumps(self.to_json(), indent=2, sort_keys=True, allow_nan=False)
        return atomic.write_text(path, text + "\n")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _per_class(p: Path, data: dict, key: str, low: float, high: float) -> dict[str, float]:
    table = data.get(key)
    if not isinstance(table, dict) or set(table) != set(CLASS_NAMES):
        got = sorted(table) if isinstance(table, dict) else table
        raise ConfigError(
            f"thresholds_file {p}: {key} must name the classes {list(CLASS_NAMES)}, got {got}"
        )
    out = {}
    for c in CLASS_NAMES:
        v = table[c]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ConfigError(f"thresholds_file {p}: {key}.{c} = {v!r} is not a finite number")
        if not low <= v <= high:
            raise ConfigError(f"thresholds_file {p}: {key}.{c} = {v} outside [{low}, {high}]")
        out[c] = float(v)
    return out


def require_same_kappa(source: str, recorded: float, kappa: float) -> None:
    """Refuse an operating point calibrated for another coverage rule than this run's: its
    thresholds would be scored under a rule they were not chosen for."""
    if abs(float(recorded) - float(kappa)) > 1e-12:
        raise ConfigError(
            f"{source}: kappa {recorded} differs from kappa={kappa} of this run; thresholds "
            f"calibrated for one coverage rule do not hold for another (kappa={recorded} "
            "scores it as calibrated)"
        )


def load_operating_point(
    path: str | Path, *, kappa: float | None = None, weights_sha256: str | None = None
) -> OperatingPoint:
    """Read a thresholds file and check it against what it will be used with.

    Refused (ConfigError naming the field): unreadable or non-strict JSON, classes other than
    :data:`figure_ml.classes.CLASS_NAMES`, thresholds outside [0, 1], padding outside
    [0, MAX_PADDING], a ``kappa`` other than the one given, and — when ``weights_sha256`` is
    given — a file calibrated for other weights (or one that does not say which).
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(), parse_constant=_refuse_constant)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"thresholds_file {p}: cannot read ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"thresholds_file {p}: expected a JSON object")
    thresholds = _per_class(p, data, "thresholds", 0.0, 1.0)
    padding = _per_class(p, data, "padding", 0.0, MAX_PADDING)
    k = data.get("kappa")
    if not isinstance(k, int | float) or not 0 < k <= 1:
        raise ConfigError(f"thresholds_file {p}: kappa {k!r} is not within (0, 1]")
    if kappa is not None:
        require_same_kappa(f"thresholds_file {p}", k, kappa)
    sha = data.get("weights_sha256")
    if weights_sha256 is not None and sha != weights_sha256:
        raise ConfigError(
            f"thresholds_file {p}: weights_sha256 {str(sha)[:16]}… is not the sha256 of the "
            f"weights given ({weights_sha256[:16]}…): calibrated for another model"
        )
    met = data.get("met")
    if met is not None and (not isinstance(met, dict) or set(met) != set(CLASS_NAMES)):
        raise ConfigError(f"thresholds_file {p}: met must name every class")
    known = {"thresholds", "padding", "kappa", "met", "targets", "weights_sha256"}
    return OperatingPoint(
        thresholds,
        padding,
        float(k),
        {c: bool(met[c]) for c in CLASS_NAMES} if met else None,
        data.get("targets"),
        sha,
        {key: v for key, v in data.items() if key not in known},
    )
