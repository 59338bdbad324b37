"""Frequentist and Bayesian statistics for A/B results, computed from counts and moments only.

Every function takes plain numbers (counts, sums, sums of squares) so results can be built
from the store's counters without raw events. All outputs are deterministic.
See docs/experiments.md for the formulas in prose.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import integrate, stats


@dataclass(frozen=True)
class Interval:
    lower: float
    upper: float

    def contains(self, value: float) -> bool:
        return self.lower <= value <= self.upper


@dataclass(frozen=True)
class TestResult:
    statistic: float
    p_value: float
    df: float | None = None


@dataclass(frozen=True)
class MeanEstimate:
    n: int
    mean: float
    variance: float
    """Sample variance (n - 1 denominator); 0 when n < 2."""
    std_error: float
    interval: Interval


@dataclass(frozen=True)
class LiftEstimate:
    lift: float
    """Relative lift (b - a) / a; NaN when a == 0."""
    interval: Interval
    std_error: float


@dataclass(frozen=True)
class SrmResult:
    statistic: float
    p_value: float
    flagged: bool
    observed: dict[str, int]
    expected: dict[str, float]


@dataclass(frozen=True)
class PowerCheck:
    required_per_variant: int
    smallest_variant: int
    sufficient: bool


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return float(stats.norm.isf(alpha / 2))


# --------------------------------------------------------------------------- proportions


def proportion_ci(successes: int, n: int, alpha: float = 0.05) -> Interval:
    """Wilson score interval for a binomial proportion. ``n == 0`` gives [0, 1]."""
    _check_counts(successes, n)
    z = _z(alpha)
    if n == 0:
        return Interval(0.0, 1.0)
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_test(s_a: int, n_a: int, s_b: int, n_b: int) -> TestResult:
    """Two-sided pooled z-test of p_a == p_b. Degenerate input (an empty arm, or pooled rate
    0 or 1) gives z = 0, p = 1: there is no evidence of a difference."""
    _check_counts(s_a, n_a)
    _check_counts(s_b, n_b)
    if n_a == 0 or n_b == 0:
        return TestResult(0.0, 1.0)
    pooled = (s_a + s_b) / (n_a + n_b)
    var = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if var <= 0:
        return TestResult(0.0, 1.0)
    z = (s_b / n_b - s_a / n_a) / math.sqrt(var)
    return TestResult(z, float(2 * stats.norm.sf(abs(z))))


def relative_lift_from_estimates(
    mean_a: float, se_a: float, mean_b: float, se_b: float, alpha: float = 0.05
) -> LiftEstimate:
    """Relative lift r = (b - a) / a with a delta-method interval.

    With R = b / a and independent arms, Var(R) ~= R^2 * (se_a^2 / a^2 + se_b^2 / b^2)
    (first-order Taylor expansion); for b == 0 the equivalent form se_b^2 / a^2 + b^2 se_a^2 / a^4
    is used. Interval: r +- z * sqrt(Var(R)). Undefined (NaN) when a == 0.
    """
    z = _z(alpha)
    if mean_a == 0:
        nan = float("nan")
        return LiftEstimate(nan, Interval(nan, nan), nan)
    var = se_b**2 / mean_a**2 + (mean_b**2) * se_a**2 / mean_a**4
    se = math.sqrt(var)
    lift = mean_b / mean_a - 1
    return LiftEstimate(lift, Interval(lift - z * se, lift + z * se), se)


def relative_lift_ci(s_a: int, n_a: int, s_b: int, n_b: int, alpha: float = 0.05) -> LiftEstimate:
    """Relative lift (p_b - p_a) / p_a of two proportions, delta-method interval using the
    unpooled binomial standard errors sqrt(p (1 - p) / n)."""
    _check_counts(s_a, n_a)
    _check_counts(s_b, n_b)
    if n_a == 0 or n_b == 0:
        nan = float("nan")
        return LiftEstimate(nan, Interval(nan, nan), nan)
    p_a, p_b = s_a / n_a, s_b / n_b
    se_a = math.sqrt(p_a * (1 - p_a) / n_a)
    se_b = math.sqrt(p_b * (1 - p_b) / n_b)
    return relative_lift_from_estimates(p_a, se_a, p_b, se_b, alpha)


def prob_b_beats_a(
    s_a: int, n_a: int, s_b: int, n_b: int, prior: tuple[float, float] = (1.0, 1.0)
) -> float:
    """P(p_b > p_a) under independent Beta(prior) priors and binomial likelihoods.

    Posteriors A ~ Beta(a0 + s_a, b0 + n_a - s_a), B likewise; the probability is
    integral f_B(x) F_A(x) dx, computed with adaptive quadrature over the range holding all but
    1e-12 of B's mass (outside it the integrand is negligible). Deterministic.
    """
    _check_counts(s_a, n_a)
    _check_counts(s_b, n_b)
    a0, b0 = prior
    if a0 <= 0 or b0 <= 0:
        raise ValueError(f"prior parameters must be > 0, got {prior}")
    post_a = stats.beta(a0 + s_a, b0 + n_a - s_a)
    post_b = stats.beta(a0 + s_b, b0 + n_b - s_b)
    lo, hi = float(post_b.ppf(1e-12)), float(post_b.isf(1e-12))
    mid = float(post_b.median())

    def integrand(x: float) -> float:
        return float(post_b.pdf(x) * post_a.cdf(x))

    value, _ = integrate.quad(integrand, lo, hi, points=[mid], limit=200, epsabs=1e-10)
    return min(1.0, max(0.0, float(value)))


# --------------------------------------------------------------------------- means (value/user)


def mean_ci_from_moments(
    total: float, total_sq: float, n: int, alpha: float = 0.05
) -> MeanEstimate:
    """Mean of a per-user quantity with a Student-t interval, from n, sum x and sum x^2.

    Sample variance s^2 = (sum x^2 - n * mean^2) / (n - 1) (clamped at 0 against rounding);
    standard error s / sqrt(n); interval mean +- t_{1-alpha/2, n-1} * se.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n == 0:
        nan = float("nan")
        return MeanEstimate(0, nan, nan, nan, Interval(nan, nan))
    mean = total / n
    if n < 2:
        return MeanEstimate(n, mean, 0.0, float("inf"), Interval(-math.inf, math.inf))
    var = max(0.0, (total_sq - n * mean * mean) / (n - 1))
    se = math.sqrt(var / n)
    t = float(stats.t.isf(alpha / 2, n - 1))
    return MeanEstimate(n, mean, var, se, Interval(mean - t * se, mean + t * se))


def welch_test_from_moments(
    sum_a: float,
    sum_sq_a: float,
    n_a: int,
    sum_b: float,
    sum_sq_b: float,
    n_b: int,
) -> TestResult:
    """Welch's unequal-variance t-test of mean_a == mean_b (two-sided) from moments.
    Returns t (positive when b > a), p and the Welch-Satterthwaite degrees of freedom."""
    if n_a < 2 or n_b < 2:
        return TestResult(0.0, 1.0)
    a = mean_ci_from_moments(sum_a, sum_sq_a, n_a)
    b = mean_ci_from_moments(sum_b, sum_sq_b, n_b)
    va, vb = a.variance / n_a, b.variance / n_b
    if va + vb <= 0:
        same = math.isclose(a.mean, b.mean)
        return TestResult(
            0.0 if same else math.copysign(math.inf, b.mean - a.mean), 1.0 if same else 0.0
        )
    res = stats.ttest_ind_from_stats(
        b.mean, math.sqrt(b.variance), n_b, a.mean, math.sqrt(a.variance), n_a, equal_var=False
    )
    df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    return TestResult(float(res.statistic), float(res.pvalue), df)


def prob_b_beats_a_normal(a: MeanEstimate, b: MeanEstimate) -> float:
    """P(mean_b > mean_a) under a normal approximation of both estimates (flat prior):
    Phi((mean_b - mean_a) / sqrt(se_a^2 + se_b^2))."""
    se = math.hypot(a.std_error, b.std_error)
    if not math.isfinite(se) or math.isnan(a.mean) or math.isnan(b.mean):
        return float("nan")
    if se == 0:
        return 0.5 if a.mean == b.mean else float(b.mean > a.mean)
    return float(stats.norm.cdf((b.mean - a.mean) / se))


# --------------------------------------------------------------------------- SRM & power


def srm_check(
    observed_counts: Mapping[str, int] | Sequence[int],
    expected_weights: Mapping[str, float] | Sequence[float],
    threshold: float = 0.001,
) -> SrmResult:
    """Sample-ratio-mismatch test: chi-square goodness of fit of the observed arm sizes to the
    designed split. ``flagged`` when p < ``threshold`` (0.001 by convention: SRM is checked
    continuously, so a strict threshold keeps false alarms rare). Weights are normalised."""
    if isinstance(observed_counts, Mapping):
        keys = list(observed_counts)
        obs = [int(observed_counts[k]) for k in keys]
        if not isinstance(expected_weights, Mapping):
            raise TypeError("pass expected_weights as a mapping when observed_counts is one")
        missing = [k for k in keys if k not in expected_weights]
        if missing or len(expected_weights) != len(keys):
            raise ValueError(
                f"arms differ: observed {sorted(keys)}, expected {sorted(expected_weights)}"
            )
        weights = [float(expected_weights[k]) for k in keys]
    else:
        obs = [int(c) for c in observed_counts]
        if isinstance(expected_weights, Mapping):
            raise TypeError("pass expected_weights as a sequence when observed_counts is one")
        weights = [float(w) for w in expected_weights]
        keys = [str(i) for i in range(len(obs))]
        if len(weights) != len(obs):
            raise ValueError(f"{len(obs)} observed counts but {len(weights)} weights")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"expected weights must be >= 0 and not all 0, got {weights}")
    total = sum(obs)
    wsum = sum(weights)
    expected = [total * w / wsum for w in weights]
    observed_map = dict(zip(keys, obs, strict=True))
    expected_map = dict(zip(keys, expected, strict=True))
    # arms with 0 expected share: any user there is a mismatch by construction
    if any(e == 0 and o > 0 for e, o in zip(expected, obs, strict=True)):
        return SrmResult(math.inf, 0.0, True, observed_map, expected_map)
    pairs = [(o, e) for o, e in zip(obs, expected, strict=True) if e > 0]
    if total == 0 or len(pairs) < 2:
        return SrmResult(0.0, 1.0, False, observed_map, expected_map)
    res = stats.chisquare(
        np.array([o for o, _ in pairs], dtype=float), np.array([e for _, e in pairs])
    )
    p = float(res.pvalue)
    return SrmResult(float(res.statistic), p, p < threshold, observed_map, expected_map)


def required_sample_size(
    baseline_rate: float, mde_relative: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Users per variant for a two-sided two-proportion z-test to detect p1 -> p1 (1 + mde)
    with the given power (normal approximation, no continuity correction):

        n = (z_{1-alpha/2} sqrt(2 pbar (1 - pbar)) + z_{power} sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2
    """
    if not 0 < baseline_rate < 1:
        raise ValueError(f"baseline_rate must be in (0, 1), got {baseline_rate}")
    if mde_relative == 0:
        raise ValueError("mde_relative must be non-zero")
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power}")
    p1 = baseline_rate
    p2 = p1 * (1 + mde_relative)
    if not 0 < p2 < 1:
        raise ValueError(f"baseline {p1} with lift {mde_relative} gives an impossible rate {p2}")
    pbar = (p1 + p2) / 2
    za, zb = _z(alpha), float(stats.norm.ppf(power))
    num = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(num**2 / (p2 - p1) ** 2)


def required_sample_size_mean(
    baseline_mean: float, std: float, mde_relative: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Users per variant to detect a relative change of a mean (e.g. value per user):
    n = 2 (z_{1-alpha/2} + z_{power})^2 sigma^2 / (mde * baseline_mean)^2."""
    delta = abs(mde_relative * baseline_mean)
    if delta == 0 or not math.isfinite(delta):
        raise ValueError("need a non-zero baseline mean and mde to size a test on a mean")
    if std < 0 or not math.isfinite(std):
        raise ValueError(f"std must be finite and >= 0, got {std}")
    za, zb = _z(alpha), float(stats.norm.ppf(power))
    return max(2, math.ceil(2 * (za + zb) ** 2 * std**2 / delta**2))


def power_check(
    users_per_variant: Sequence[int],
    baseline_rate: float,
    mde_relative: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> PowerCheck:
    """Is the smallest variant at least as large as :func:`required_sample_size`?"""
    required = required_sample_size(baseline_rate, mde_relative, alpha, power)
    smallest = min(users_per_variant) if users_per_variant else 0
    return PowerCheck(required, smallest, smallest >= required)
