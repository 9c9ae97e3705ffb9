"""Never score the images that chose the operating point (DESIGN §4: calibration on val only).

Within one run, :func:`refuse_overlap` compares the calibration split with the scored split.
Across runs, a thresholds file or a manifest carries the **fingerprints** of the images it was
calibrated on, two per image and never a file name: a short sha256 of what identifies its file
(:func:`image_fingerprints`) and of the encoded image itself (:func:`content_fingerprints`), so
that the same photos re-packed into another dataset, or a YOLO folder copied elsewhere, are
still recognised. :func:`refuse_scoring_calibration_images` refuses to score any of them with it
— e.g. ``eval manifest=X split=val`` on the dataset whose val split calibrated X.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from figure_ml.errors import ConfigError
from figure_ml.eval.data import EvalData

FINGERPRINT_HEX = 16
#: what an operating point keeps of the split that calibrated it (:func:`calibration_record`)
RECORD_KEYS = ("split", "dataset_digest", "image_fingerprints", "image_content_fingerprints")


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


def content_fingerprints(data: EvalData) -> list[str]:
    """Sorted, per image whose stored bytes are known: the first hex digits of sha256 of the
    encoded image. Identical files match wherever they live (another dataset, a copied folder);
    a re-encoded photo does not (the key fingerprints still catch it in its own dataset)."""
    return sorted(
        hashlib.sha256(item.content()).hexdigest()[:FINGERPRINT_HEX]
        for item in data.items
        if item.content is not None
    )


def calibration_record(split: str, data: EvalData) -> dict[str, Any]:
    """What an operating point keeps of the split that calibrated it."""
    values = (split, data.digest, image_fingerprints(data), content_fingerprints(data))
    return dict(zip(RECORD_KEYS, values, strict=True))


def refuse_overlap(calibration: EvalData, scored: EvalData) -> None:
    """Calibrating on the images that are then scored flatters the model: a usage error.

    Shared by file (the same id or path) or by content (the same encoded bytes under another id
    or in another folder: a mix that took one photo from two inputs, a YOLO copy in both
    ``images/val`` and ``images/test``); each duplicate is counted once."""
    by_key = item_keys(calibration) & item_keys(scored)
    by_bytes = set(content_fingerprints(calibration)) & set(content_fingerprints(scored))
    shared = max(len(by_key), len(by_bytes))
    if shared:
        how = "the same files" if len(by_key) >= len(by_bytes) else "identical image bytes"
        raise ConfigError(
            f"calibration split {calibration.description} and scored split "
            f"{scored.description} share {shared} of their images ({how}); the split that "
            "calibrates must not be the split that is scored (give a dataset with separate "
            "val and test splits, or data.yaml entries naming different folders)"
        )


def refuse_scoring_calibration_images(
    calibration: dict[str, Any], scored: EvalData, source: str
) -> None:
    """Refuse to score ``scored`` with an operating point calibrated on any of its images.

    ``calibration`` is the thresholds file's or manifest's record: ``image_fingerprints`` and
    ``image_content_fingerprints`` (an image matching either is counted once per kind; the
    larger count is reported), or for files written before they existed, ``dataset_digest`` and
    ``split`` (refused when both match the scored split's)."""
    prints = calibration.get("image_fingerprints")
    contents = calibration.get("image_content_fingerprints")
    if prints or contents:
        n = max(
            len(set(prints) & set(image_fingerprints(scored))) if prints else 0,
            len(set(contents) & set(content_fingerprints(scored))) if contents else 0,
        )
    else:
        digest, split = calibration.get("dataset_digest"), calibration.get("split")
        same = digest is not None and digest == scored.digest
        n = len(scored.items) if same and f"[{split}]" in scored.description else 0
    if n:
        raise ConfigError(
            f"{source} was calibrated on {n} of the images of {scored.description}; scoring "
            "them with it flatters the model (score another split or dataset)"
        )
