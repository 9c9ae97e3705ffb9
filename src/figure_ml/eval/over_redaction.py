"""Over-redaction (DESIGN §4): area of the redaction mask outside every GT box, divided by the
image area outside every GT box — how much of the non-PHI photo is destroyed. Aggregated as
the ratio of the sums over images (large photos weigh by their area)."""

from __future__ import annotations

from typing import Any

from figure_ml.eval.bootstrap import Resamples, ratio_ci
from figure_ml.eval.redaction import RedactionStats


def over_redaction(stats: RedactionStats, rs: Resamples) -> dict[str, Any]:
    point, low, high = ratio_ci(stats.mask_outside_gt, stats.outside_gt, rs)
    return {"value": point, "ci": [low, high], "n_images": stats.n_images}
