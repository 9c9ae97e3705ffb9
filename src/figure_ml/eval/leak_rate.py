"""Image leak rate (DESIGN §4): among the evaluated images that hold PHI (at least one GT box),
the share with at least one uncovered GT box — the share of photos with PHI that would be
published with some of it visible.

Images without PHI are left out of the denominator: they cannot leak, so counting them would let a
test set rich in negatives (the generator makes 30% by default) flatter the rate, and a model would
look safer the more empty photos it is shown. (Until 2026-12 they were counted, so older
runs' rates read lower and do not compare.) Their count is reported beside
it (``n_images_without_phi``). Intervals: bootstrap over all images, as a ratio of leaking images
to images with PHI in each resample (``ci``), and Clopper–Pearson on the leaking-image count
(``ci_exact``); ``upper`` is the larger upper end. With no image holding PHI every figure is
``nan``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from figure_ml.eval.bootstrap import Resamples, ratio_ci
from figure_ml.eval.exact import clopper_pearson, upper_bound
from figure_ml.eval.redaction import RedactionStats


def image_leak_rate(stats: RedactionStats, rs: Resamples) -> dict[str, Any]:
    """The leak rate of the images in ``stats`` with its intervals and counts (module docstring)."""
    leaked = np.zeros(stats.n_images)
    leaked[stats.gt_image[~stats.gt_covered]] = 1.0
    has_phi = stats.images_with_phi.astype(np.float64)
    point, low, high = ratio_ci(leaked, has_phi, rs)
    n_leaked, n_phi = int(leaked.sum()), int(has_phi.sum())
    exact = list(clopper_pearson(n_leaked, n_phi))
    return {
        "value": point,
        "ci": [low, high],
        "ci_exact": exact,
        "upper": upper_bound([low, high], exact),
        "n_leaked": n_leaked,
        "n_images_with_phi": n_phi,
        "n_images_without_phi": stats.n_images - n_phi,
    }
