"""Statistics on counts and means: intervals, tests, Bayesian probability, SRM, power."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from experiments import stats as xs

# --------------------------------------------------------------------------- proportions


@pytest.mark.parametrize(
    ("s", "n", "lower", "upper"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857, Table I, Wilson score method
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_textbook(s: int, n: int, lower: float, upper: float) -> None:
    ci = xs.proportion_ci(s, n)
    assert ci.lower == pytest.approx(lower, abs=5e-5)
    assert ci.upper == pytest.approx(upper, abs=5e-5)


@pytest.mark.parametrize(("s", "n"), [(7, 40), (500, 5000), (39, 40), (3, 3)])
@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.2])
def test_wilson_matches_scipy(s: int, n: int, alpha: float) -> None:
    ref = stats.binomtest(s, n).proportion_ci(confidence_level=1 - alpha, method="wilson")
    ci = xs.proportion_ci(s, n, alpha)
    assert (ci.lower, ci.upper) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_wilson_edge_cases() -> None:
    assert xs.proportion_ci(0, 0) == xs.Interval(0.0, 1.0)
    with pytest.raises(ValueError):
        xs.proportion_ci(5, 4)


def test_two_proportion_test_by_hand_and_vs_chi2() -> None:
    res = xs.two_proportion_test(500, 5000, 600, 5000)
    pooled = 1100 / 10_000
    z = (0.12 - 0.10) / math.sqrt(pooled * (1 - pooled) * (2 / 5000))
    assert res.statistic == pytest.approx(z) and res.statistic == pytest.approx(3.19601, abs=1e-5)
    assert res.p_value == pytest.approx(0.0013934, abs=1e-6)
    # the pooled z-test is the 2x2 chi-square test without continuity correction: z^2 = chi2
    table = np.array([[500, 4500], [600, 4400]])
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    assert res.statistic**2 == pytest.approx(chi2) and res.p_value == pytest.approx(p)
    # symmetric, degenerate cases
    assert xs.two_proportion_test(600, 5000, 500, 5000).statistic == pytest.approx(-z)
    assert xs.two_proportion_test(0, 100, 0, 100) == xs.TestResult(0.0, 1.0)
    assert xs.two_proportion_test(0, 0, 3, 10) == xs.TestResult(0.0, 1.0)


def test_relative_lift_delta_method_by_hand() -> None:
    est = xs.relative_lift_ci(500, 5000, 600, 5000)
    var = (0.12 * 0.88 / 5000) / 0.10**2 + 0.12**2 * (0.10 * 0.90 / 5000) / 0.10**4
    assert est.lift == pytest.approx(0.2)
    assert est.std_error == pytest.approx(math.sqrt(var))
    assert est.interval.lower == pytest.approx(0.2 - 1.959964 * math.sqrt(var), abs=1e-6)
    assert est.interval.upper == pytest.approx(0.2 + 1.959964 * math.sqrt(var), abs=1e-6)
    assert math.isnan(xs.relative_lift_ci(0, 100, 5, 100).lift)


def test_relative_lift_interval_covers_truth_about_95_percent() -> None:
    rng = np.random.default_rng(11)
    hits = 0
    sims = 400
    for _ in range(sims):
        s_a, s_b = rng.binomial(4000, 0.10), rng.binomial(4000, 0.12)
        hits += xs.relative_lift_ci(int(s_a), 4000, int(s_b), 4000).interval.contains(0.2)
    assert 0.91 <= hits / sims <= 0.985


def _exact_prob_b_beats_a(a_a: int, b_a: int, a_b: int, b_b: int) -> float:
    """Closed form for integer Beta parameters (sum over the successes of B)."""
    total = 0.0
    for i in range(a_b):
        total += math.exp(
            special.betaln(a_a + i, b_a + b_b)
            - math.log(b_b + i)
            - special.betaln(1 + i, b_b)
            - special.betaln(a_a, b_a)
        )
    return total


@pytest.mark.parametrize(
    ("s_a", "n_a", "s_b", "n_b"),
    [(3, 10, 7, 10), (50, 1000, 65, 1000), (500, 5000, 600, 5000), (120, 1000, 100, 1000)],
)
def test_prob_b_beats_a_matches_closed_form(s_a: int, n_a: int, s_b: int, n_b: int) -> None:
    got = xs.prob_b_beats_a(s_a, n_a, s_b, n_b)
    exact = _exact_prob_b_beats_a(1 + s_a, 1 + n_a - s_a, 1 + s_b, 1 + n_b - s_b)
    assert got == pytest.approx(exact, abs=1e-6)
    assert xs.prob_b_beats_a(s_a, n_a, s_b, n_b) == got  # deterministic


def test_prob_b_beats_a_properties() -> None:
    assert xs.prob_b_beats_a(40, 400, 40, 400) == pytest.approx(0.5, abs=1e-6)
    p = xs.prob_b_beats_a(30, 300, 45, 300, prior=(2.0, 18.0))
    rng = np.random.default_rng(3)
    draws = rng.beta(2 + 45, 18 + 255, 400_000) > rng.beta(2 + 30, 18 + 270, 400_000)
    assert p == pytest.approx(draws.mean(), abs=0.004)
    assert xs.prob_b_beats_a(30, 300, 45, 300) + xs.prob_b_beats_a(
        45, 300, 30, 300
    ) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError):
        xs.prob_b_beats_a(1, 2, 1, 2, prior=(0.0, 1.0))


# --------------------------------------------------------------------------- means


def test_mean_ci_and_welch_match_scipy_on_raw_data() -> None:
    rng = np.random.default_rng(5)
    a = rng.exponential(10.0, 800) * (rng.random(800) < 0.3)
    b = rng.exponential(12.0, 700) * (rng.random(700) < 0.3)
    est = xs.mean_ci_from_moments(float(a.sum()), float((a**2).sum()), len(a))
    lo, hi = stats.t.interval(0.95, len(a) - 1, loc=a.mean(), scale=stats.sem(a))
    assert est.mean == pytest.approx(a.mean())
    assert est.variance == pytest.approx(a.var(ddof=1))
    assert (est.interval.lower, est.interval.upper) == pytest.approx((lo, hi))
    res = xs.welch_test_from_moments(
        float(a.sum()), float((a**2).sum()), len(a), float(b.sum()), float((b**2).sum()), len(b)
    )
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.p_value == pytest.approx(ref.pvalue)
    assert res.df is not None and res.df == pytest.approx(ref.df)


def test_mean_edge_cases() -> None:
    assert math.isnan(xs.mean_ci_from_moments(0.0, 0.0, 0).mean)
    one = xs.mean_ci_from_moments(5.0, 25.0, 1)
    assert one.mean == 5.0 and one.interval.lower == -math.inf
    assert xs.welch_test_from_moments(0, 0, 10, 0, 0, 10).p_value == 1.0
    assert xs.welch_test_from_moments(1, 1, 1, 2, 4, 1).p_value == 1.0


# --------------------------------------------------------------------------- SRM & power


def test_srm_flags_60_40_on_50_50_design() -> None:
    res = xs.srm_check({"control": 600, "b": 400}, {"control": 0.5, "b": 0.5})
    assert res.statistic == pytest.approx(40.0)  # 2 * 100^2 / 500
    assert res.p_value == pytest.approx(stats.chi2.sf(40.0, 1))
    assert res.flagged
    ok = xs.srm_check([5020, 4980], [0.5, 0.5])
    assert not ok.flagged and ok.p_value > 0.5
    # unnormalised weights are fine, three arms
    three = xs.srm_check([2000, 1000, 1000], [2, 1, 1])
    assert three.statistic == pytest.approx(0.0) and not three.flagged
    assert xs.srm_check([0, 0], [0.5, 0.5]).p_value == 1.0
    assert xs.srm_check([10, 3], [1.0, 0.0]).flagged
    with pytest.raises(ValueError):
        xs.srm_check({"a": 1}, {"b": 1.0})


def test_required_sample_size_textbook() -> None:
    # 10% -> 12% (20% relative), alpha 0.05 two-sided, power 0.8: the classic 3,841 per arm
    n = xs.required_sample_size(0.10, 0.20)
    assert n == 3841
    # at that n the normal-approximation power is 80%
    p1, p2, pbar = 0.10, 0.12, 0.11
    se0 = math.sqrt(2 * pbar * (1 - pbar) / n)
    se1 = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n)
    power = stats.norm.sf((1.959964 * se0 - (p2 - p1)) / se1)
    assert power == pytest.approx(0.80, abs=0.002)
    assert xs.required_sample_size(0.10, 0.05) > 14 * n  # ~ 1 / mde^2
    assert xs.required_sample_size(0.10, 0.20, power=0.9) > n
    with pytest.raises(ValueError):
        xs.required_sample_size(0.6, 1.0)  # 120 % is impossible
    check = xs.power_check([4000, 3800], 0.10, 0.20)
    assert (check.required_per_variant, check.smallest_variant, check.sufficient) == (
        3841,
        3800,
        False,
    )
    assert xs.power_check([3841, 3900], 0.10, 0.20).sufficient


def test_required_sample_size_mean() -> None:
    # sigma = mean: detect +10 % -> 2 * (1.96 + 0.8416)^2 / 0.01 = 1570
    assert xs.required_sample_size_mean(10.0, 10.0, 0.10) == 1570
