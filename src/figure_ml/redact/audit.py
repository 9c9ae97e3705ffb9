"""Residual-PHI audit: detectors run on the redactor's *output* (``--audit``).

After a photo is redacted and encoded, its output is decoded again and every audit detector
looks at those pixels. A detection at or above that detector's audit threshold is a
*finding*: PHI that may still be visible. The photo's sidecar then says
``"needs_review": true`` with the findings (class, score, box, detector), and the run summary
counts it — the verification step before a photo goes public.

Implausible findings are set aside, not counted: a box covering more than
:data:`MAX_FINDING_AREA` of the photo. PP-OCR's DB head answers large solid regions — exactly
what a redaction paints — with a probability map high over half the frame and one
whole-photo "text" box (measured: on redacted renders of a face and a name label, RapidOCR's
own pipeline returns the full frame too), while a real text line, a face or a wristband is
never that large a share of a photo that still needs redacting. They are listed in the sidecar
as ``audit.set_aside`` so a reviewer can see them.

Auditors: by default the teachers ``centerface_turns`` (CenterFace on the photo's four quarter
turns: a face rolled past 45° left visible must be found too; on PHI-free synthetic photos it
fires on 10 of 181 where upright CenterFace fires on 2, each a photo for a person to look at;
a face still visible is listed once per view that sees it)
and ``ppocr_det``, from their installed packages at their authors' default thresholds
(:func:`default_auditor`); or every detector of
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

DEFAULT_AUDIT_TEACHERS = ("centerface_turns", "ppocr_det")
#: a finding whose box covers more than this share of the photo is set aside (see above)
MAX_FINDING_AREA = 0.5


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
        """Findings above each member's audit threshold (implausibly large ones excluded:
        :meth:`audit_split` returns them too)."""
        return self.audit_split(image)[0]

    def audit_split(self, image: np.ndarray) -> tuple[list[dict], list[dict]]:
        """``(findings, set_aside)``: set aside = boxes over MAX_FINDING_AREA of the photo."""
        h, w = image.shape[:2]
        findings, aside = [], []
        for m in self.members:
            boxes, scores, classes = m.detect(image)
            for b, s, c in zip(boxes, scores, classes, strict=True):
                name = CLASS_NAMES[int(c)]
                if name in m.thresholds and float(s) >= m.thresholds[name]:
                    f = {
                        "detector": m.name,
                        "class": name,
                        "score": round(float(s), 6),
                        "box": [round(float(v), 2) for v in b],
                    }
                    area = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
                    (aside if area > MAX_FINDING_AREA * w * h else findings).append(f)
        return findings, aside


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
