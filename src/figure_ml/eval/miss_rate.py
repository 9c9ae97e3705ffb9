"""PHI-miss rate (DESIGN §4).

Miss rate of class ``c`` = (GT boxes of class ``c`` not covered by the redaction mask) / (all
GT boxes of class ``c``). Coverage is class-agnostic: a face hidden by a box predicted as text
is hidden. The 95% interval resamples images (a photo's boxes stay together).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from figure_ml.classes import CLASS_NAMES
from figure_ml.eval.bootstrap import Resamples, ratio_ci
from figure_ml.eval.exact import clopper_pearson, upper_bound
from figure_ml.eval.redaction import RedactionStats


def miss_rate(stats: RedactionStats, rs: Resamples, gt_mask: np.ndarray) -> dict[str, Any]:
    """Miss rate over the GT boxes selected by ``gt_mask``, with interval and counts."""
    n = stats.n_images
    img = stats.gt_image[gt_mask]
    missed = ~stats.gt_covered[gt_mask]
    n_gt = np.bincount(img, minlength=n)
    n_missed = np.bincount(img, weights=missed, minlength=n)
    point, low, high = ratio_ci(n_missed, n_gt, rs)
    exact = list(clopper_pearson(int(n_missed.sum()), int(n_gt.sum())))
    return {
        "miss_rate": point,
        "miss_rate_ci": [low, high],
        "miss_rate_ci_exact": exact,
        "miss_rate_upper": upper_bound([low, high], exact),
        "n_gt": int(n_gt.sum()),
        "n_missed": int(n_missed.sum()),
    }


def per_class_miss_rate(stats: RedactionStats, rs: Resamples) -> dict[str, dict[str, Any]]:
    """``{class name: miss_rate(...)}`` for every class of :mod:`figure_ml.classes`."""
    return {name: miss_rate(stats, rs, stats.gt_class == c) for c, name in enumerate(CLASS_NAMES)}


def overall_miss_rate(stats: RedactionStats, rs: Resamples) -> dict[str, Any]:
    """Miss rate over all GT boxes of every class."""
    return miss_rate(stats, rs, np.ones(len(stats.gt_class), bool))
