"""Never score the images that chose the operating point (DESIGN §4: calibration on val only).

Within one run, :func:`refuse_overlap` compares the calibration split with the scored split.
Across runs, a thresholds file or a manifest carries the **fingerprints** of the images it was
calibrated on (:func:`image_fingerprints`: a short sha256 per image of what identifies its file,
never a file name), and :func:`refuse_scoring_calibration_images` refuses to score any of them
with it — e.g. ``eval manifest=X split=val`` on the dataset whose val split calibrated X.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from figure_ml.errors import ConfigError
from figure_ml.eval.data import EvalData

FINGERPRINT_HEX = 16
#: what an operating point keeps of the split that calibrated it (:func:`calibration_record`)
RECORD_KEYS = ("split", "dataset_digest", "image_fingerprints")


def item_keys(data: EvalData) -> set[str]:
    """What identifies an item's file: resolved paths (YOLO) or dataset ids (canonical)."""
    keys = set()
    for item in data.items:
        p = Path(item.name)
        keys.add(str(p.resolve()) if p.is_absolute() or p.exists() else item.name)
    return keys


def image_fingerprints(data: EvalData) -> list[str]:
    """Sorted, per image: the first hex digits of sha256(dataset digest, key). A canonical id
    means something only within its dataset, so the digest is part of it; a YOLO folder
    (no digest) is keyed by resolved path."""
    return sorted(
        hashlib.sha256(f"{data.digest or ''}\0{k}".encode()).hexdigest()[:FINGERPRINT_HEX]
        for k in item_keys(data)
    )


def calibration_record(split: str, data: EvalData) -> dict[str, Any]:
    """What an operating point keeps of the split that calibrated it."""
    return dict(zip(RECORD_KEYS, (split, data.digest, image_fingerprints(data)), strict=True))


def refuse_overlap(calibration: EvalData, scored: EvalData) -> None:
    """Calibrating on the images that are then scored flatters the model: a usage error."""
    shared = item_keys(calibration) & item_keys(scored)
    if shared:
        raise ConfigError(
            f"calibration split {calibration.description} and scored split "
            f"{scored.description} share {len(shared)} of their images; the split that "
            "calibrates must not be the split that is scored (give a dataset with separate "
            "val and test splits, or data.yaml entries naming different folders)"
        )


def refuse_scoring_calibration_images(
    calibration: dict[str, Any], scored: EvalData, source: str
) -> None:
    """Refuse to score ``scored`` with an operating point calibrated on any of its images.

    ``calibration`` is the thresholds file's or manifest's record: ``image_fingerprints``, or
    for files written before they existed, ``dataset_digest`` and ``split`` (refused when both
    match the scored split's)."""
    prints = calibration.get("image_fingerprints")
    if prints:
        shared = set(prints) & set(image_fingerprints(scored))
        n = len(shared)
    else:
        digest, split = calibration.get("dataset_digest"), calibration.get("split")
        same = digest is not None and digest == scored.digest
        n = len(scored.items) if same and f"[{split}]" in scored.description else 0
    if n:
        raise ConfigError(
            f"{source} was calibrated on {n} of the images of {scored.description}; scoring "
            "them with it flatters the model (score another split or dataset)"
        )
