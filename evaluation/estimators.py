"""Off-policy estimators for logged bandit feedback (numpy only).

A logged dataset has ``n`` rounds. In round ``i`` the logging policy saw context ``x_i``,
chose action ``a_i`` with probability ``p_i`` (the *propensity*) and observed reward
``r_i``. We want the expected reward ``V(pi)`` of another policy ``pi``.

Every estimator takes per-round arrays whose **last axis** (for ``q_hat`` and ``pi``: the
second-to-last axis) indexes rounds. Extra leading axes are treated as a batch, which is
how :func:`bootstrap_ci` evaluates many bootstrap replicates in one call: a scalar
input batch gives a ``float``, a batch of ``B`` replicates gives an array of shape
``(B,)``.

Estimators:

* :func:`ipw` -- inverse propensity weighting, ``mean(w_i r_i)`` with
  ``w_i = pi(a_i|x_i) / p_i``. Unbiased when ``p_i > 0`` wherever ``pi`` puts mass.
* :func:`snipw` -- self-normalised IPW, ``sum(w_i r_i) / sum(w_i)``. Slightly biased,
  usually much lower variance; invariant to a constant rescaling of the weights.
* :func:`dr` -- doubly robust, ``mean(sum_a pi(a|x_i) q(x_i,a) + w_i (r_i - q(x_i,a_i)))``.
  Unbiased if either the propensities or the reward model ``q`` are correct.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Estimate",
    "OffPolicyEstimates",
    "bootstrap_ci",
    "bootstrap_replicates",
    "clip_unit",
    "dr",
    "dr_terms",
    "ipw",
    "ipw_exact_ci",
    "mean_estimate",
    "off_policy",
    "snipw",
    "weights",
]

FloatArray = NDArray[np.float64]


def _scalar_or_array(value: FloatArray) -> float | FloatArray:
    return float(value) if value.ndim == 0 else value


def weights(pscore: ArrayLike, pi_logged: ArrayLike) -> FloatArray:
    """Importance weights ``pi(a_i|x_i) / p_i``; raises if a propensity is not in (0, 1]."""
    p = np.asarray(pscore, dtype=np.float64)
    if np.any(~(p > 0)) or np.any(p > 1):
        raise ValueError("logging propensities must lie in (0, 1]")
    pi_a = np.asarray(pi_logged, dtype=np.float64)
    if np.any(pi_a < 0) or np.any(pi_a > 1):
        raise ValueError("evaluation-policy probabilities must lie in [0, 1]")
    return pi_a / p


def ipw(rewards: ArrayLike, pscore: ArrayLike, pi_logged: ArrayLike) -> float | FloatArray:
    """Inverse propensity weighting estimate of the evaluation policy's value.

    Args:
        rewards: ``r_i``, shape ``(..., n)``.
        pscore: logging propensity ``p_i`` of the logged action, shape ``(..., n)``.
        pi_logged: evaluation policy's probability ``pi(a_i|x_i)`` of the logged action.
    """
    r = np.asarray(rewards, dtype=np.float64)
    w = weights(pscore, pi_logged)
    return _scalar_or_array(np.mean(w * r, axis=-1))


def snipw(rewards: ArrayLike, pscore: ArrayLike, pi_logged: ArrayLike) -> float | FloatArray:
    """Self-normalised IPW: ``sum(w r) / sum(w)``.

    Returns ``nan`` for a (replicate of a) sample where every weight is zero: the
    evaluation policy never agrees with the log and nothing can be said.
    """
    r = np.asarray(rewards, dtype=np.float64)
    w = weights(pscore, pi_logged)
    num = np.sum(w * r, axis=-1)
    den = np.sum(w, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return _scalar_or_array(np.asarray(out, dtype=np.float64))


def dr_terms(
    rewards: ArrayLike,
    pscore: ArrayLike,
    actions: ArrayLike,
    q_hat: ArrayLike,
    pi: ArrayLike,
) -> FloatArray:
    """Per-round doubly robust pseudo-rewards; :func:`dr` is their mean.

    ``sum_a pi(a|x_i) q(x_i, a) + pi(a_i|x_i) / p_i * (r_i - q(x_i, a_i))``

    Args:
        rewards, pscore: shape ``(..., n)``.
        actions: integer index of the logged action in ``[0, A)``, shape ``(..., n)``.
        q_hat: reward model ``q(x_i, a)`` for every action, shape ``(..., n, A)``.
        pi: evaluation policy's action distribution ``pi(a|x_i)``, shape ``(..., n, A)``.
    """
    r = np.asarray(rewards, dtype=np.float64)
    a = np.asarray(actions)
    q = np.asarray(q_hat, dtype=np.float64)
    pol = np.asarray(pi, dtype=np.float64)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError("actions must be integer indices")
    if q.shape != pol.shape or q.shape[:-1] != r.shape or a.shape != r.shape:
        raise ValueError(
            f"shape mismatch: rewards {r.shape}, actions {a.shape}, q_hat {q.shape}, pi {pol.shape}"
        )
    idx = a[..., None]
    pi_logged = np.take_along_axis(pol, idx, axis=-1)[..., 0]
    q_logged = np.take_along_axis(q, idx, axis=-1)[..., 0]
    w = weights(pscore, pi_logged)
    direct = np.sum(pol * q, axis=-1)
    return np.asarray(direct + w * (r - q_logged), dtype=np.float64)


def dr(
    rewards: ArrayLike,
    pscore: ArrayLike,
    actions: ArrayLike,
    q_hat: ArrayLike,
    pi: ArrayLike,
) -> float | FloatArray:
    """Doubly robust estimate of the evaluation policy's value (see :func:`dr_terms`)."""
    return _scalar_or_array(np.mean(dr_terms(rewards, pscore, actions, q_hat, pi), axis=-1))


def ipw_exact_ci(
    rewards: ArrayLike, pscore: ArrayLike, pi_logged: ArrayLike, alpha: float = 0.05
) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval for IPW when every weight is 0 or one constant ``c``.

    This is the case of a deterministic evaluation policy under a uniform logging policy.
    With binary rewards and independent rounds, ``k = sum(1[w_i > 0] r_i)`` is
    ``Binomial(n, V / c)``, so ``V`` lies in ``c`` times the Clopper-Pearson interval of
    ``k / n``. Unlike the percentile bootstrap, this does not collapse to ``[0, 0]`` when no
    matched round has a click.
    """
    from scipy.stats import beta as beta_dist

    r = np.asarray(rewards, dtype=np.float64)
    w = weights(pscore, pi_logged)
    if r.ndim != 1 or r.shape != w.shape or r.size == 0:
        raise ValueError("need non-empty 1-d arrays of equal length")
    if np.any((r != 0) & (r != 1)):
        raise ValueError("rewards must be binary")
    positive = w[w > 0]
    if positive.size == 0:
        raise ValueError("the evaluation policy never agrees with the log")
    c = float(positive[0])
    if not np.allclose(positive, c, rtol=1e-9, atol=0.0):
        raise ValueError("weights must all be 0 or one constant")
    n = r.size
    k = int(np.sum(r[w > 0]))
    lo = 0.0 if k == 0 else float(beta_dist.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta_dist.ppf(1 - alpha / 2, k + 1, n - k))
    return (c * lo, c * hi)


def bootstrap_replicates(
    estimator_fn: Callable[..., Any],
    *arrays: ArrayLike,
    n_boot: int = 1_000,
    seed: int | np.random.Generator | None = None,
    max_batch_elements: int = 4_000_000,
) -> FloatArray:
    """Estimator values on ``n_boot`` resamples (with replacement) of the rounds.

    All ``arrays`` share their first axis (the rounds). ``estimator_fn`` is called with the
    resampled arrays carrying an extra leading batch axis, so it must reduce over the
    rounds axis and keep leading axes, as the estimators in this module do. Replicates
    are evaluated in batches of at most ``max_batch_elements`` gathered values.
    """
    if n_boot < 1:
        raise ValueError("n_boot must be >= 1")
    arrs = [np.asarray(x) for x in arrays]
    if not arrs:
        raise ValueError("need at least one array")
    n = arrs[0].shape[0]
    if n == 0 or any(x.ndim == 0 or x.shape[0] != n for x in arrs):
        raise ValueError("all arrays need the same, non-zero first-axis length")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    per_replicate = sum(x.size for x in arrs)
    batch = max(1, min(n_boot, max_batch_elements // max(per_replicate, 1)))
    out = np.empty(n_boot, dtype=np.float64)
    for start in range(0, n_boot, batch):
        stop = min(n_boot, start + batch)
        idx = rng.integers(0, n, size=(stop - start, n))
        values = np.asarray(estimator_fn(*(x[idx] for x in arrs)), dtype=np.float64)
        if values.shape != (stop - start,):
            raise ValueError(
                "estimator_fn must be vectorised: for a batch of B resamples it must return "
                f"shape ({stop - start},), got {values.shape}"
            )
        out[start:stop] = values
    return out


def bootstrap_ci(
    estimator_fn: Callable[..., Any],
    *arrays: ArrayLike,
    n_boot: int = 1_000,
    alpha: float = 0.05,
    seed: int | np.random.Generator | None = None,
    max_batch_elements: int = 4_000_000,
) -> tuple[float, float]:
    """Percentile bootstrap ``(1 - alpha)`` confidence interval ``(lo, hi)``.

    Resamples rounds with replacement (see :func:`bootstrap_replicates`) and returns the
    ``alpha/2`` and ``1 - alpha/2`` quantiles of the replicate estimates. Replicates that
    are ``nan`` (e.g. SNIPW with no weight in the resample) are dropped; if all are, the
    interval is ``(nan, nan)``.
    """
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie in (0, 1)")
    reps = bootstrap_replicates(
        estimator_fn, *arrays, n_boot=n_boot, seed=seed, max_batch_elements=max_batch_elements
    )
    reps = reps[~np.isnan(reps)]
    if reps.size == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))


# --- one policy's estimates, with intervals ----------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its percentile-bootstrap 95% interval."""

    value: float
    ci95: tuple[float, float]

    @property
    def width(self) -> float:
        return self.ci95[1] - self.ci95[0]


@dataclass(frozen=True)
class OffPolicyEstimates:
    """A policy's estimated click rate on one window of the random log."""

    ipw: Estimate
    snipw: Estimate
    dr: Estimate  # projected onto [0, 1]
    dr_raw: Estimate
    ipw_exact_ci: tuple[float, float] | None  # deterministic policies only
    dm: float
    matched: float
    dr_minus_logged: Estimate  # paired: DR term minus the logged click, same rounds


def clip_unit(est: Estimate) -> Estimate:
    """``est`` with its value and interval ends projected onto [0, 1] (NaN kept)."""

    def c(x: float) -> float:
        return x if math.isnan(x) else min(max(x, 0.0), 1.0)

    return Estimate(c(est.value), (c(est.ci95[0]), c(est.ci95[1])))


def _row_mean(x: FloatArray) -> FloatArray:
    return np.asarray(np.mean(x, axis=-1), dtype=np.float64)


def mean_estimate(values: NDArray[Any], n_boot: int, seed: int) -> Estimate:
    """Mean of per-round values with a percentile-bootstrap interval."""
    if values.size == 0:
        return Estimate(float("nan"), (float("nan"), float("nan")))
    v = np.asarray(values, dtype=np.float64)
    return Estimate(float(v.mean()), bootstrap_ci(_row_mean, v, n_boot=n_boot, seed=seed))


def off_policy(
    rewards: NDArray[Any],
    pscore: NDArray[Any],
    actions: NDArray[Any],
    q_hat: FloatArray,
    pi: FloatArray,
    n_boot: int,
    seed: int,
) -> OffPolicyEstimates:
    """IPW, SNIPW and DR of the policy ``pi`` on logged rounds (bootstrap over rounds)."""
    r = rewards.astype(np.float64)
    ps, a = pscore, actions
    pi_logged = pi[np.arange(len(r)), a]
    boot = {"n_boot": n_boot, "seed": seed}
    est_ipw = mean_estimate(weights(ps, pi_logged) * r, n_boot, seed)
    est_snipw = Estimate(
        float(snipw(r, ps, pi_logged)), bootstrap_ci(snipw, r, ps, pi_logged, **boot)
    )
    # DR is a mean of per-round terms, so resampling the terms is resampling the rounds.
    terms = dr_terms(r, ps, a, q_hat, pi)
    dr_raw = mean_estimate(terms, n_boot, seed)
    try:  # exact binomial interval: valid when weights are 0 or one constant (greedy)
        exact: tuple[float, float] | None = clip_unit(
            Estimate(0.0, ipw_exact_ci(r, ps, pi_logged))
        ).ci95
    except ValueError:
        exact = None
    # A click rate lies in [0, 1]; projecting the estimates and interval ends onto that
    # range can only move them closer to the truth. DR can fall below 0 when the reward
    # model over-predicts on the few matched rounds; the raw value is kept in the report.
    return OffPolicyEstimates(
        ipw=clip_unit(est_ipw),
        snipw=clip_unit(est_snipw),
        dr=clip_unit(dr_raw),
        dr_raw=dr_raw,
        ipw_exact_ci=exact,
        dm=float(np.mean(np.sum(pi * q_hat, axis=1))),
        matched=float(pi_logged.sum()),
        dr_minus_logged=mean_estimate(terms - r, n_boot, seed),
    )
