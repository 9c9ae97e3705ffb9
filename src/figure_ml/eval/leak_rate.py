"""Image leak rate (DESIGN §4): the share of evaluated images with at least one uncovered GT
box — the share of photos that would be published with some PHI visible. Images without PHI
count in the denominator (they are published too, and cannot leak). Intervals: bootstrap over
images (``ci``) and Clopper–Pearson on the leaking-image count (``ci_exact``); ``upper`` is the
larger upper end."""

from __future__ import annotations

from typing import Any

import numpy as np

from figure_ml.eval.bootstrap import Resamples, ratio_ci
from figure_ml.eval.exact import clopper_pearson, upper_bound
from figure_ml.eval.redaction import RedactionStats


def image_leak_rate(stats: RedactionStats, rs: Resamples) -> dict[str, Any]:
    leaked = np.zeros(stats.n_images)
    leaked[stats.gt_image[~stats.gt_covered]] = 1.0
    point, low, high = ratio_ci(leaked, np.ones(stats.n_images), rs)
    exact = list(clopper_pearson(int(leaked.sum()), stats.n_images))
    return {
        "value": point,
        "ci": [low, high],
        "ci_exact": exact,
        "upper": upper_bound([low, high], exact),
        "n_leaked": int(leaked.sum()),
        "n_images": stats.n_images,
    }
