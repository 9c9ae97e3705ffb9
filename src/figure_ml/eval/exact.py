"""Exact (Clopper–Pearson) intervals for rates over counted boxes or images (DESIGN §4).

A percentile bootstrap cannot see beyond the data: with 0 misses every resample has 0 misses
and the interval is ``[0, 0]``. The Clopper–Pearson interval inverts two one-sided binomial
tests, so it is never narrower than the counts allow: 0 misses of 30 boxes gives an upper
bound of ``1 - 0.025 ** (1 / 30) ≈ 0.116``. Gates compare the larger of the bootstrap and the
exact upper bound (:func:`upper_bound`).

The exact interval treats counted units as independent; the bootstrap over images accounts
for boxes of one photo moving together. Neither alone is conservative in every case, which is
why both are reported and the larger upper bound is the one that gates.
"""

from __future__ import annotations

import math

from scipy.stats import beta

from figure_ml.eval.bootstrap import LEVEL


def clopper_pearson(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Two-sided exact ``level`` interval of a binomial rate with ``k`` events in ``n`` trials.

    ``low = Beta(alpha/2; k, n-k+1)`` quantile (0 when ``k == 0``), ``high = Beta(1-alpha/2;
    k+1, n-k)`` quantile (1 when ``k == n``); ``(nan, nan)`` when ``n == 0``.
    """
    k, n = int(k), int(n)
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return float("nan"), float("nan")
    alpha = 1 - level
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def upper_bound(*intervals: list[float] | tuple[float, float] | None) -> float:
    """The largest upper end among ``intervals`` (missing or NaN ends ignored; NaN if none)."""
    ups = [
        float(ci[1])
        for ci in intervals
        if ci is not None and ci[1] is not None and not math.isnan(float(ci[1]))
    ]
    return max(ups) if ups else float("nan")
