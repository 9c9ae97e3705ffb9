"""Residual-PHI audit: detectors run on the redactor's *output* (``--audit``).

After a photo is redacted and encoded, its output is decoded again and every audit detector
looks at those pixels. A detection at or above that detector's audit threshold is a
*finding*: PHI that may still be visible. The photo's sidecar then says
``"needs_review": true`` with the findings (class, score, box, detector), and the run summary
counts it — the verification step before a photo goes public.

Auditors: by default the teachers ``centerface`` and ``ppocr_det`` from their installed
packages at their authors' default thresholds (:func:`default_auditor`); or every detector of
an *audit manifest* at its shipped thresholds (:func:`manifest_auditor`: the model, tiled as
its manifest says, and each teacher of a detector set).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from figure_ml.classes import CLASS_NAMES

DEFAULT_AUDIT_TEACHERS = ("centerface", "ppocr_det")


@dataclass
class AuditMember:
    name: str
    detect: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
    #: audit threshold by class name; classes not named are not audited
    thresholds: dict[str, float]
    info: dict[str, Any]


class Auditor:
    """``audit(image)`` -> findings of every member above its audit threshold."""

    def __init__(self, members: Sequence[AuditMember]) -> None:
        self.members = list(members)

    def describe(self) -> list[dict[str, Any]]:
        return [{**m.info, "name": m.name, "thresholds": m.thresholds} for m in self.members]

    def audit(self, image: np.ndarray) -> list[dict[str, Any]]:
        findings = []
        for m in self.members:
            boxes, scores, classes = m.detect(image)
            for b, s, c in zip(boxes, scores, classes, strict=True):
                name = CLASS_NAMES[int(c)]
                if name in m.thresholds and float(s) >= m.thresholds[name]:
                    findings.append(
                        {
                            "detector": m.name,
                            "class": name,
                            "score": round(float(s), 6),
                            "box": [round(float(v), 2) for v in b],
                        }
                    )
        return findings


def default_auditor(
    names: Sequence[str] = DEFAULT_AUDIT_TEACHERS, threads: int | None = None
) -> Auditor:
    """The teachers as installed, each at its authors' default threshold."""
    from figure_ml.teachers import make_teacher

    members = []
    for n in names:
        t = make_teacher(n, threads=threads)
        members.append(
            AuditMember(
                n,
                t.detect,
                {c: float(t.default_threshold) for c in t.info.classes},
                {"teacher": n, "sha256": t.info.sha256, "package_version": t.info.package_version},
            )
        )
    return Auditor(members)


def manifest_auditor(path: str | Path, threads: int | None = None) -> Auditor:
    """Every detector of a manifest (sha256-verified), at the thresholds it ships."""
    from figure_ml.redact.redactor import Redactor
    from figure_ml.tiling import detect_tiled

    r = Redactor.from_manifest(path, threads=threads)

    def model_detect(image: np.ndarray):
        return detect_tiled(image, r.detector.detect, r.policy)

    members = [
        AuditMember(
            "model",
            model_detect,
            dict(zip(CLASS_NAMES, r.thresholds.tolist(), strict=True)),
            {"manifest": str(path), "sha256": r.model_info.get("sha256")},
        )
    ]
    for t, info in zip(r.teachers, r.detectors_info, strict=True):
        k = r.member_names.index(t.name)
        thr = {
            c: float(r.channel_thresholds[k * len(CLASS_NAMES) + i])
            for i, c in enumerate(CLASS_NAMES)
            if np.isfinite(r.channel_thresholds[k * len(CLASS_NAMES) + i])
        }
        members.append(AuditMember(t.name, t.detect, thr, {"sha256": info["sha256"]}))
    return Auditor(members)
