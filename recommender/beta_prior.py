"""The Beta prior of a rate, and its empirical-Bayes fit from many cells' counts.

:class:`recommender.propensity.PropensityModel` starts its back-off hierarchy from one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

_MEAN_EPS = 1e-6


def check_counts(impressions: float, successes: float) -> None:
    """Refuse counts that are not finite, negative, or more successes than trials."""
    if not (math.isfinite(impressions) and math.isfinite(successes)):
        raise ValueError("counts must be finite")
    if impressions < 0 or successes < 0:
        raise ValueError(f"counts must be >= 0 (got {impressions}, {successes})")
    if successes > impressions:
        raise ValueError(f"successes ({successes}) exceed impressions ({impressions})")


@dataclass(frozen=True)
class BetaPrior:
    """A Beta(alpha, beta) distribution used as a prior (or posterior) on a rate."""

    alpha: float = 1.0
    beta: float = 1.0

    def __post_init__(self) -> None:
        if not (self.alpha > 0 and self.beta > 0):
            raise ValueError(f"alpha and beta must be > 0 (got {self.alpha}, {self.beta})")
        if not (math.isfinite(self.alpha) and math.isfinite(self.beta)):
            raise ValueError("alpha and beta must be finite")

    @property
    def mean(self) -> float:
        """Expected rate ``alpha / (alpha + beta)``."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def strength(self) -> float:
        """Pseudo-count ``alpha + beta``: how many impressions the prior is worth."""
        return self.alpha + self.beta

    @property
    def variance(self) -> float:
        """Variance of the rate under this distribution."""
        k = self.strength
        return self.mean * (1.0 - self.mean) / (k + 1.0)

    @classmethod
    def from_mean(cls, mean: float, strength: float) -> BetaPrior:
        """Prior with the given mean and pseudo-count (``alpha = m*k``, ``beta = (1-m)*k``).

        The mean is clamped into ``[1e-6, 1 - 1e-6]`` so both parameters stay positive.
        """
        if not strength > 0:
            raise ValueError(f"strength must be > 0 (got {strength})")
        m = min(max(float(mean), _MEAN_EPS), 1.0 - _MEAN_EPS)
        return cls(alpha=m * strength, beta=(1.0 - m) * strength)

    def posterior(self, impressions: float, successes: float) -> BetaPrior:
        """Posterior after ``successes`` out of ``impressions`` Bernoulli trials."""
        check_counts(impressions, successes)
        return BetaPrior(self.alpha + successes, self.beta + impressions - successes)

    @classmethod
    def fit(
        cls,
        rates: ArrayLike,
        impressions: ArrayLike | None = None,
        *,
        min_strength: float = 2.0,
        max_strength: float = 1_000.0,
    ) -> BetaPrior:
        """Empirical-Bayes prior from observed per-action rates (method of moments).

        Args:
            rates: observed success rate of each action (or cell), in ``[0, 1]``.
            impressions: optional number of impressions behind each rate. When given, the
                mean is the pooled rate and the binomial sampling noise is removed from
                the spread before matching moments, so that noisy rates from small cells
                do not pass for real differences between actions.
            min_strength, max_strength: clamp on the fitted pseudo-count ``alpha + beta``.
                When the rates are no more spread out than sampling noise alone would
                make them (no detectable differences), the prior gets ``max_strength``.

        Moments: for a Beta prior with mean ``m`` and pseudo-count ``k`` the rate variance
        is ``m (1 - m) / (k + 1)``; so ``k = m (1 - m) / var - 1``.
        """
        r = np.asarray(rates, dtype=np.float64).ravel()
        if not 0 < min_strength <= max_strength:
            raise ValueError("need 0 < min_strength <= max_strength")
        if r.size == 0:
            return cls.from_mean(0.5, min_strength)
        if np.any(~np.isfinite(r)) or np.any((r < 0) | (r > 1)):
            raise ValueError("rates must lie in [0, 1]")
        if impressions is None:
            m = float(r.mean())
            var = float(r.var(ddof=1)) if r.size > 1 else 0.0
        else:
            n = np.asarray(impressions, dtype=np.float64).ravel()
            if n.shape != r.shape:
                raise ValueError("rates and impressions must have the same length")
            if np.any(n < 0):
                raise ValueError("impressions must be >= 0")
            keep = n > 0
            r, n = r[keep], n[keep]
            if r.size == 0:
                return cls.from_mean(0.5, min_strength)
            m = float(np.sum(r * n) / np.sum(n))
            # E[(r_i - m)^2] = m(1-m)/n_i + (1 - 1/n_i) * tau2  for a Beta-binomial cell.
            inv_n = float(np.mean(1.0 / n))
            spread = float(np.mean((r - m) ** 2))
            noise = m * (1.0 - m) * inv_n
            var = (spread - noise) / (1.0 - inv_n) if inv_n < 1.0 else 0.0
        m = min(max(m, _MEAN_EPS), 1.0 - _MEAN_EPS)
        k = m * (1.0 - m) / var - 1.0 if var > 0 else math.inf
        k = min(max(k, min_strength), max_strength)
        return cls.from_mean(m, k)
