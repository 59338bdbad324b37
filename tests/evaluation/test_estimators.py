"""Off-policy estimators: hand-computed cases and simulation properties."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.estimators import (
    bootstrap_ci,
    bootstrap_replicates,
    dr,
    dr_terms,
    ipw,
    ipw_exact_ci,
    snipw,
    weights,
)

# A tiny logged dataset with two actions.
#   round  a_i  r_i  p_i   pi(.|x_i)    q(x_i, .)
#   0      0    1    0.5   [1.0, 0.0]   [0.6, 0.2]
#   1      1    0    0.25  [0.5, 0.5]   [0.3, 0.5]
#   2      0    1    0.5   [0.0, 1.0]   [0.1, 0.9]
#   3      1    0    0.8   [0.6, 0.4]   [0.5, 0.5]
ACTIONS = np.array([0, 1, 0, 1])
REWARDS = np.array([1.0, 0.0, 1.0, 0.0])
PSCORE = np.array([0.5, 0.25, 0.5, 0.8])
PI = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.6, 0.4]])
Q_HAT = np.array([[0.6, 0.2], [0.3, 0.5], [0.1, 0.9], [0.5, 0.5]])
PI_LOGGED = PI[np.arange(4), ACTIONS]  # [1.0, 0.5, 0.0, 0.4]


def test_weights_by_hand() -> None:
    # w = pi(a_i|x_i) / p_i = [1/0.5, 0.5/0.25, 0/0.5, 0.4/0.8] = [2, 2, 0, 0.5]
    np.testing.assert_allclose(weights(PSCORE, PI_LOGGED), [2.0, 2.0, 0.0, 0.5])


def test_ipw_by_hand() -> None:
    # w * r = [2, 0, 0, 0]  ->  mean = 2 / 4 = 0.5
    assert ipw(REWARDS, PSCORE, PI_LOGGED) == pytest.approx(0.5)


def test_snipw_by_hand() -> None:
    # sum(w r) = 2, sum(w) = 2 + 2 + 0 + 0.5 = 4.5  ->  2 / 4.5 = 0.4444...
    assert snipw(REWARDS, PSCORE, PI_LOGGED) == pytest.approx(2 / 4.5)


def test_dr_by_hand() -> None:
    # direct part sum_a pi q:  0.6 | 0.5*0.3 + 0.5*0.5 = 0.4 | 0.9 | 0.6*0.5 + 0.4*0.5 = 0.5
    # correction w (r - q(a_i)):  2*(1-0.6) = 0.8 | 2*(0-0.5) = -1.0 | 0 | 0.5*(0-0.5) = -0.25
    # terms: 1.4, -0.6, 0.9, 0.25  ->  sum 1.95  ->  mean 0.4875
    np.testing.assert_allclose(
        dr_terms(REWARDS, PSCORE, ACTIONS, Q_HAT, PI), [1.4, -0.6, 0.9, 0.25]
    )
    assert dr(REWARDS, PSCORE, ACTIONS, Q_HAT, PI) == pytest.approx(0.4875)


def test_dr_of_deterministic_policy_by_hand() -> None:
    # Uniform logging over 4 actions (p = 1/4); the policy always shows action 2, and the
    # reward model says q(x, .) = [0.1, 0.2, 0.5, 0.3] in every round.
    #   round  a_i  r_i   matched (w = 4)   DR term = 0.5 + w (r_i - 0.5)
    #   0      2    0     yes               0.5 + 4 (0 - 0.5) = -1.5
    #   1      0    1     no                0.5
    #   2      2    0     yes               -1.5
    #   3      1    0     no                0.5
    #   4      3    1     no                0.5
    # mean = -1.5 / 5 = -0.3 = DM (1 - k w / n) with DM = 0.5, k = 2 matched rounds.
    a = np.array([2, 0, 2, 1, 3])
    r = np.array([0.0, 1.0, 0.0, 0.0, 1.0])
    p = np.full(5, 0.25)
    q = np.tile([0.1, 0.2, 0.5, 0.3], (5, 1))
    pi = np.tile([0.0, 0.0, 1.0, 0.0], (5, 1))
    np.testing.assert_allclose(dr_terms(r, p, a, q, pi), [-1.5, 0.5, -1.5, 0.5, 0.5])
    assert dr(r, p, a, q, pi) == pytest.approx(-0.3)
    assert ipw(r, p, pi[np.arange(5), a]) == 0.0
    # Clicks on rounds where the policy disagrees with the log do not enter ...
    assert dr(np.zeros(5), p, a, q, pi) == pytest.approx(-0.3)
    # ... one matched click moves DR by w / n = 0.8: terms 2.5, 0.5, -1.5, 0.5, 0.5.
    r_hit = np.array([1.0, 1.0, 0.0, 0.0, 1.0])
    assert dr(r_hit, p, a, q, pi) == pytest.approx(0.5)
    assert ipw(r_hit, p, pi[np.arange(5), a]) == pytest.approx(0.8)


def test_snipw_invariant_to_weight_scale_and_ipw_not() -> None:
    # Halving every propensity doubles every weight: IPW doubles, SNIPW is unchanged.
    assert ipw(REWARDS, PSCORE / 2, PI_LOGGED) == pytest.approx(1.0)
    assert snipw(REWARDS, PSCORE / 2, PI_LOGGED) == pytest.approx(2 / 4.5)


def test_snipw_without_overlap_is_nan() -> None:
    assert np.isnan(snipw(REWARDS, PSCORE, np.zeros(4)))


def test_batched_inputs_give_one_value_per_batch() -> None:
    r = np.stack([REWARDS, REWARDS[::-1]])
    p = np.stack([PSCORE, PSCORE[::-1]])
    pi = np.stack([PI_LOGGED, PI_LOGGED[::-1]])
    out = ipw(r, p, pi)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, [0.5, 0.5])
    out_dr = dr(
        np.stack([REWARDS] * 3),
        np.stack([PSCORE] * 3),
        np.stack([ACTIONS] * 3),
        np.stack([Q_HAT] * 3),
        np.stack([PI] * 3),
    )
    np.testing.assert_allclose(out_dr, [0.4875] * 3)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, np.nan])
def test_invalid_propensity_rejected(bad: float) -> None:
    p = PSCORE.copy()
    p[1] = bad
    with pytest.raises(ValueError):
        ipw(REWARDS, p, PI_LOGGED)


def test_dr_shape_and_dtype_checks() -> None:
    with pytest.raises(ValueError):
        dr(REWARDS, PSCORE, ACTIONS, Q_HAT[:, :1], PI)
    with pytest.raises(TypeError):
        dr(REWARDS, PSCORE, ACTIONS.astype(float), Q_HAT, PI)


def test_ipw_equals_mean_reward_when_policies_coincide() -> None:
    rng = np.random.default_rng(7)
    n = 5_000
    p = rng.uniform(0.01, 1.0, size=n)
    r = rng.binomial(1, 0.3, size=n).astype(float)
    # pi(a_i|x_i) = p_i  ->  every weight is p/p = 1 exactly.
    assert ipw(r, p, p) == r.mean()
    assert snipw(r, p, p) == pytest.approx(r.mean(), abs=1e-15)


def _simulation(
    seed: int, n: int, n_actions: int = 5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Uniform logging policy, softmax evaluation policy, Bernoulli rewards.

    Returns rewards, pscore, actions, true q (n, A), evaluation pi (n, A) and the
    population value of the evaluation policy.
    """
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=n)  # 4 discrete contexts, equally likely
    table = np.linspace(0.05, 0.6, 4 * n_actions).reshape(4, n_actions)
    table = table[:, rng.permutation(n_actions)]
    q = table[x]
    logits = 8.0 * table
    pol_table = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pi = pol_table[x]
    a = rng.integers(0, n_actions, size=n)
    r = rng.binomial(1, q[np.arange(n), a]).astype(float)
    p = np.full(n, 1.0 / n_actions)
    truth = float(np.mean(np.sum(pol_table * table, axis=1)))
    return r, p, a, q, pi, truth


def test_dr_with_perfect_reward_model_is_exact_for_noise_free_rewards() -> None:
    _, p, a, q, pi, _ = _simulation(seed=1, n=2_000)
    r_det = q[np.arange(len(a)), a]  # rewards equal to the true mean: correction is 0
    sample_truth = float(np.mean(np.sum(pi * q, axis=1)))
    assert dr(r_det, p, a, q, pi) == pytest.approx(sample_truth, abs=1e-12)


def test_dr_with_perfect_reward_model_is_close_to_truth_and_beats_ipw() -> None:
    errs_dr, errs_ipw = [], []
    for seed in range(20):
        r, p, a, q, pi, truth = _simulation(seed=seed, n=3_000)
        pi_logged = pi[np.arange(len(a)), a]
        errs_dr.append(float(dr(r, p, a, q, pi)) - truth)
        errs_ipw.append(float(ipw(r, p, pi_logged)) - truth)
    rmse_dr = float(np.sqrt(np.mean(np.square(errs_dr))))
    rmse_ipw = float(np.sqrt(np.mean(np.square(errs_ipw))))
    assert abs(float(np.mean(errs_dr))) < 0.01  # unbiased
    assert rmse_dr < rmse_ipw


def test_bootstrap_interval_covers_truth_in_seeded_simulation() -> None:
    r, p, a, q, pi, truth = _simulation(seed=3, n=4_000)
    pi_logged = pi[np.arange(len(a)), a]
    lo, hi = bootstrap_ci(ipw, r, p, pi_logged, n_boot=500, seed=0)
    assert lo <= truth <= hi
    lo_dr, hi_dr = bootstrap_ci(dr, r, p, a, q, pi, n_boot=300, seed=0)
    assert lo_dr <= truth <= hi_dr
    assert hi_dr - lo_dr < hi - lo  # a good reward model narrows the interval


def test_bootstrap_coverage_rate_is_near_nominal() -> None:
    covered = 0
    trials = 40
    for seed in range(trials):
        r, p, a, _, pi, truth = _simulation(seed=100 + seed, n=1_500)
        pi_logged = pi[np.arange(len(a)), a]
        lo, hi = bootstrap_ci(ipw, r, p, pi_logged, n_boot=300, seed=seed)
        covered += lo <= truth <= hi
    assert covered / trials >= 0.85


def test_bootstrap_is_seeded_and_degenerate_on_constants() -> None:
    values = np.array([0.2, 0.4, 0.9, 0.1, 0.5])

    def mean(x: np.ndarray) -> np.ndarray:
        return np.asarray(np.mean(x, axis=-1))

    assert bootstrap_ci(mean, values, seed=5) == bootstrap_ci(mean, values, seed=5)
    assert bootstrap_ci(mean, np.full(10, 0.3), n_boot=50, seed=1) == pytest.approx((0.3, 0.3))
    lo, hi = bootstrap_ci(mean, values, n_boot=2_000, seed=1)
    assert values.min() <= lo < values.mean() < hi <= values.max()


def test_bootstrap_batches_do_not_change_result() -> None:
    r, p, a, q, pi, _ = _simulation(seed=4, n=300)
    big = bootstrap_replicates(dr, r, p, a, q, pi, n_boot=64, seed=9)
    small = bootstrap_replicates(dr, r, p, a, q, pi, n_boot=64, seed=9, max_batch_elements=10)
    np.testing.assert_allclose(big, small)


def test_bootstrap_rejects_non_vectorised_estimator() -> None:
    with pytest.raises(ValueError, match="vectorised"):
        bootstrap_ci(lambda x: float(np.mean(x)), np.arange(5.0), n_boot=10, seed=0)


def test_ipw_exact_ci_by_hand() -> None:
    # deterministic policy under uniform logging: weights are 0 or c = 1 / 0.5 = 2
    r = np.array([1.0, 0.0, 1.0, 0.0])
    p = np.full(4, 0.5)
    pi_logged = np.array([1.0, 1.0, 0.0, 0.0])
    # k = 1 matched click out of n = 4 rounds; IPW = 2 * 1/4 = 0.5
    # Clopper-Pearson: lo = 1 - 0.975**(1/4) = 0.0063094, hi = Beta.ppf(0.975; 2, 3) = 0.8058796
    lo, hi = ipw_exact_ci(r, p, pi_logged)
    assert lo == pytest.approx(2 * 0.0063094, rel=1e-4)
    assert hi == pytest.approx(2 * 0.8058796, rel=1e-4)
    assert lo <= ipw(r, p, pi_logged) <= hi
    # no matched click: upper bound c * (1 - 0.025**(1/n)); does not collapse to 0
    lo0, hi0 = ipw_exact_ci(np.zeros(4), p, pi_logged)
    assert lo0 == 0.0
    assert hi0 == pytest.approx(2 * (1 - 0.025**0.25))
    with pytest.raises(ValueError):
        ipw_exact_ci(r, p, np.array([1.0, 0.5, 0.0, 0.0]))  # two different weights
