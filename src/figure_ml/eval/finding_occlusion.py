"""Finding occlusion (DESIGN §4): area(M ∩ union(F)) / area(union(F)) over the images that have
clinical findings — how much of what the photo is about gets hidden. Ratio of sums over those
images; ``nan`` when no image has findings."""

from __future__ import annotations

from typing import Any

from figure_ml.eval.bootstrap import Resamples, ratio_ci
from figure_ml.eval.redaction import RedactionStats


def finding_occlusion(stats: RedactionStats, rs: Resamples) -> dict[str, Any]:
    point, low, high = ratio_ci(stats.findings_masked, stats.findings, rs)
    return {"value": point, "ci": [low, high], "n_images": int((stats.findings > 0).sum())}
