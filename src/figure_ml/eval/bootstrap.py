"""Percentile bootstrap over images, shared by every rate so all use the same resamples.

A resample draws ``n`` images with replacement; it is represented by how often each image was
drawn (a row of a multinomial ``(B, n)`` count matrix), so a ratio-of-sums statistic over a
resample is two dot products, and all resamples are one matrix product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: two-sided confidence level of every interval
LEVEL = 0.95


@dataclass(frozen=True)
class Resamples:
    """``counts[b, i]``: how often image ``i`` is in resample ``b`` (seeded, reproducible)."""

    counts: np.ndarray

    @classmethod
    def draw(cls, n_images: int, n_resamples: int = 1000, seed: int = 0) -> Resamples:
        rng = np.random.default_rng(seed)
        if n_images == 0:
            return cls(np.zeros((n_resamples, 0), np.float32))
        counts = rng.multinomial(n_images, np.full(n_images, 1.0 / n_images), size=n_resamples)
        # float32: counts are small integers (exact), and the resampled sums only feed
        # percentiles; half the memory traffic of float64 in every matrix product
        return cls(counts.astype(np.float32))

    def subset(self, images: np.ndarray) -> Resamples:
        """The same resamples restricted to a subset of images (a slice)."""
        return Resamples(self.counts[:, images])


def ratio_ci(num: np.ndarray, den: np.ndarray, rs: Resamples) -> tuple[float, float, float]:
    """Point estimate ``sum(num) / sum(den)`` and its 95% percentile interval.

    ``num``, ``den``: one value per image. Resamples whose denominator is 0 are left out; with
    no data at all the result is ``(nan, nan, nan)``. The interval is widened, if needed, to
    contain the point estimate (the percentile interval of a skewed ratio can miss it when
    almost every resample is degenerate, e.g. one rare event).
    """
    num = np.asarray(num, np.float64)
    den = np.asarray(den, np.float64)
    total = den.sum()
    if total <= 0:
        return float("nan"), float("nan"), float("nan")
    point = float(num.sum() / total)
    # np.dot, not @: for a matrix-vector product numpy's matmul skips BLAS gemv here and is
    # ~50x slower (measured: 3.6 ms vs 0.04 ms for 1000 x 2000)
    n_b = np.dot(rs.counts, num.astype(np.float32)).astype(np.float64)
    d_b = np.dot(rs.counts, den.astype(np.float32)).astype(np.float64)
    ok = d_b > 0
    if not ok.any():
        return point, point, point
    stats = n_b[ok] / d_b[ok]
    alpha = (1 - LEVEL) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return point, float(min(low, point)), float(max(high, point))
