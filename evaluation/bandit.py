"""Off-policy evaluation of Waypoint's propensity-model policy on the Open Bandit Dataset.

Protocol (nothing is tuned on the test part):

1. Load the ``random`` log (uniform logging policy) of one campaign and split it **by
   time**: the earliest ``train_fraction`` of the rounds train the model, the rest is the
   test window.
2. Train :class:`recommender.propensity.PropensityModel` on the training rounds. A cell
   is ``(item, bucket)`` with bucket ``pos=<position>|u0=<user_feature_0>``; the back-off
   chain is item overall -> item at that position -> item at that position for that user
   feature value. The root prior is an empirical-Bayes fit on the items' overall rates.
3. Define Waypoint's policy on the test rounds. ``greedy`` (default): for the round's
   user context, fill the slots in order (position 1, 2, 3) with the item of highest
   posterior mean click rate in that slot's bucket, never repeating an item, and show the
   item picked for the logged position. ``thompson``: the same slate built from one
   Thompson draw per round; its per-position action probabilities are estimated by
   Monte Carlo (seeded) and used as ``pi``.
4. Estimate the policy's click rate on the test rounds with IPW, SNIPW and DR (reward
   model = the same propensity model's posterior means), each with a percentile
   bootstrap 95% interval, and report both logging policies' measured click rates over
   the same test time window.

Importance weight: each OBD row is one impression at one position, and
``propensity_score`` is the logging policy's marginal probability of that item at that
position (1/80 for the uniform policy on the "all" campaign). Waypoint's policy also
chooses one item per position, so the weight of row ``i`` is
``pi(item_i | x_i, position_i) / propensity_score_i`` -- 80 for a deterministic match,
0 otherwise -- and the estimand is the click rate per impression over the test
window's mix of users and positions, the same quantity as a logging policy's mean click.
This assumes a click at one position does not depend on the items in the other slots
(the usual position-wise assumption; the logs hold single impressions, not slates).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from evaluation.estimators import bootstrap_ci, dr, ipw, ipw_exact_ci, snipw
from evaluation.obd import OBDLog, load_obd
from recommender.propensity import PropensityModel, bucket_key

__all__ = ["BanditConfig", "BanditReport", "Estimate", "evaluate_bandit"]

PolicyName = Literal["greedy", "thompson"]

POLICY_DESCRIPTIONS: dict[str, str] = {
    "greedy": (
        "greedy: per round, for the user's context, slots are filled in order with the item "
        "of highest posterior mean click rate in bucket (position, user_feature_{features}) "
        "(back-off: item -> item x position -> item x position x context), without repeating "
        "an item; the item at the logged position is shown (deterministic)"
    ),
    "thompson": (
        "thompson: per round, one Thompson draw from each (position, user_feature_{features}) "
        "bucket's Beta posteriors fills the slots in order without repeats; "
        "pi(item | context, position) estimated by {n_mc} seeded Monte Carlo draws"
    ),
}


@dataclass(frozen=True)
class BanditConfig:
    """Settings of one evaluation run (defaults fixed before looking at the test part)."""

    campaign: str = "all"
    train_fraction: float = 0.5
    seed: int = 0
    n_boot: int = 1_000
    max_rows: int | None = None
    policy: PolicyName = "greedy"
    user_features: tuple[int, ...] = (0,)
    backoff_strength: float | None = None  # None: empirical-Bayes fit per depth
    n_mc: int = 2_000
    train_on: Literal["random", "both"] = "random"


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its percentile-bootstrap 95% interval."""

    value: float
    ci95: tuple[float, float]

    @property
    def width(self) -> float:
        return self.ci95[1] - self.ci95[0]


@dataclass(frozen=True)
class BanditReport:
    """Result of :func:`evaluate_bandit`."""

    config: BanditConfig
    policy: str
    n_train: int
    n_test: int
    n_train_bts: int
    train_clicks: int
    test_clicks: int
    test_window: tuple[str, str]
    ipw: Estimate
    snipw: Estimate
    dr: Estimate
    dr_raw: Estimate
    ipw_exact_ci: tuple[float, float] | None
    dm: float
    matched: float
    logged_random: Estimate
    logged_bts: Estimate
    n_bts_window: int
    prior: tuple[float, float]
    backoff_strengths: tuple[float, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``evaluate bandit --json``."""
        return {
            "waypoint": {
                "ctr_ipw": _num(self.ipw.value),
                "ctr_snipw": _num(self.snipw.value),
                "ctr_dr": _num(self.dr.value),
                "ci95": _pair(self.dr.ci95),
                "ci95_ipw": _pair(self.ipw.ci95),
                "ci95_snipw": _pair(self.snipw.ci95),
                "ci95_ipw_exact": None if self.ipw_exact_ci is None else _pair(self.ipw_exact_ci),
                "ctr_dr_raw": _num(self.dr_raw.value),
                "ci95_dr_raw": _pair(self.dr_raw.ci95),
                "ctr_dm": _num(self.dm),
                "matched_rounds": _num(self.matched),
            },
            "logged": {
                "random": {
                    "ctr": _num(self.logged_random.value),
                    "ci95": _pair(self.logged_random.ci95),
                    "n": self.n_test,
                },
                "bts": {
                    "ctr": _num(self.logged_bts.value),
                    "ci95": _pair(self.logged_bts.ci95),
                    "n": self.n_bts_window,
                },
            },
            "n_train": self.n_train,
            "n_train_bts": self.n_train_bts,
            "n_test": self.n_test,
            "test_clicks": self.test_clicks,
            "test_window": list(self.test_window),
            "policy": self.policy,
            "model": {"prior": list(self.prior), "backoff_strengths": list(self.backoff_strengths)},
            "config": {**asdict(self.config), "user_features": list(self.config.user_features)},
        }


def _clip(est: Estimate) -> Estimate:
    def c(x: float) -> float:
        return x if math.isnan(x) else min(max(x, 0.0), 1.0)

    return Estimate(c(est.value), (c(est.ci95[0]), c(est.ci95[1])))


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _pair(ci: tuple[float, float]) -> list[float | None]:
    return [_num(ci[0]), _num(ci[1])]


def _context_keys(log: OBDLog, features: tuple[int, ...]) -> list[tuple[tuple[str, str], ...]]:
    cols = log.user_features[:, list(features)] if features else log.user_features[:, :0]
    return [
        tuple((f"u{k}", str(v)) for k, v in zip(features, row, strict=True))
        for row in cols.tolist()
    ]


def _bucket(position: int, context: tuple[tuple[str, str], ...]) -> str:
    return bucket_key([("pos", position), *context])


def _slate_greedy(means: NDArray[np.float64]) -> NDArray[np.int64]:
    """Fill positions in order with the best not-yet-used item; ``means`` is (P, A)."""
    n_pos, n_act = means.shape
    used = np.zeros(n_act, dtype=bool)
    slate = np.empty(n_pos, dtype=np.int64)
    for p in range(n_pos):
        scores = np.where(used, -np.inf, means[p])
        best = int(np.argmax(scores))
        slate[p] = best
        used[best] = True
    return slate


def _slate_probs_thompson(
    model: PropensityModel,
    buckets: list[str],
    actions: list[str],
    rng: np.random.Generator,
    n_mc: int,
) -> NDArray[np.float64]:
    """Per-position marginal probabilities (P, A) of the Thompson slate policy."""
    n_act = len(actions)
    draws = np.stack([model.sample_many(b, actions, rng, size=n_mc) for b in buckets], axis=1)
    probs = np.zeros((len(buckets), n_act))
    used = np.zeros((n_mc, n_act), dtype=bool)
    rows = np.arange(n_mc)
    for p in range(len(buckets)):
        scores = np.where(used, -np.inf, draws[:, p, :])
        pick = np.argmax(scores, axis=1)
        probs[p] = np.bincount(pick, minlength=n_act) / n_mc
        used[rows, pick] = True
    return probs


def _mean_estimate(values: NDArray[np.int64], n_boot: int, seed: int) -> Estimate:
    if values.size == 0:
        return Estimate(float("nan"), (float("nan"), float("nan")))
    v = values.astype(np.float64)
    lo, hi = bootstrap_ci(lambda x: np.mean(x, axis=-1), v, n_boot=n_boot, seed=seed)
    return Estimate(float(v.mean()), (lo, hi))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def evaluate_bandit(data_dir: str | Path, config: BanditConfig | None = None) -> BanditReport:
    """Train on the early random log, evaluate Waypoint's policy on the later part."""
    cfg = config if config is not None else BanditConfig()
    if not 0 < cfg.train_fraction < 1:
        raise ValueError("train_fraction must lie in (0, 1)")
    if cfg.policy not in POLICY_DESCRIPTIONS:
        raise ValueError(f"unknown policy {cfg.policy!r}")
    if any(not 0 <= k < 4 for k in cfg.user_features):
        raise ValueError("user_features must be indices in 0..3")

    random_log = load_obd(data_dir, "random", cfg.campaign, max_rows=cfg.max_rows)
    bts_log = load_obd(data_dir, "bts", cfg.campaign, max_rows=cfg.max_rows)
    n = len(random_log)
    n_train = round(cfg.train_fraction * n)
    if not 0 < n_train < n:
        raise ValueError(f"cannot split {n} rounds with train_fraction={cfg.train_fraction}")
    train = random_log.take(slice(0, n_train))
    test = random_log.take(slice(n_train, n))
    t_start, t_end = float(test.timestamp[0]), float(test.timestamp[-1])

    n_act = random_log.n_actions
    n_pos = random_log.n_positions
    actions = [str(a) for a in range(n_act)]

    # --- train Waypoint's propensity model on the earlier rounds -------------------------
    model = PropensityModel(
        backoff_strength=cfg.backoff_strength if cfg.backoff_strength is not None else 100.0
    )
    train_ctx = _context_keys(train, cfg.user_features)
    model.fit(
        [_bucket(int(p), c) for p, c in zip(train.position.tolist(), train_ctx, strict=True)],
        [str(a) for a in train.action.tolist()],
        train.reward,
    )
    n_train_bts = 0
    if cfg.train_on == "both":
        # The bts log's rounds strictly before the test window are also fair training data:
        # Bernoulli TS chooses items without looking at the user, so its impressions give
        # unbiased per-(item, position, context) click counts (they are just unevenly spread).
        early = bts_log.take(bts_log.timestamp < t_start)
        n_train_bts = len(early)
        early_ctx = _context_keys(early, cfg.user_features)
        model.partial_fit(
            [_bucket(int(p), c) for p, c in zip(early.position.tolist(), early_ctx, strict=True)],
            [str(a) for a in early.action.tolist()],
            early.reward,
        )
    prior = model.fit_prior()
    strengths = model.fit_backoff() if cfg.backoff_strength is None else model.backoff_strength

    # --- the evaluation policy on the later rounds ---------------------------------------
    rng = np.random.default_rng(cfg.seed)
    test_ctx = _context_keys(test, cfg.user_features)
    per_context: dict[tuple[tuple[str, str], ...], tuple[NDArray[Any], NDArray[Any]]] = {}
    for ctx in sorted(set(test_ctx)):
        buckets = [_bucket(p, ctx) for p in range(1, n_pos + 1)]
        means = np.stack([model.means(b, actions) for b in buckets])
        if cfg.policy == "greedy":
            slate = _slate_greedy(means)
            probs = np.zeros((n_pos, n_act))
            probs[np.arange(n_pos), slate] = 1.0
        else:
            probs = _slate_probs_thompson(model, buckets, actions, rng, cfg.n_mc)
        per_context[ctx] = (means, probs)

    pos_idx = test.position - 1
    q_hat = np.stack([per_context[c][0][p] for c, p in zip(test_ctx, pos_idx, strict=True)])
    pi = np.stack([per_context[c][1][p] for c, p in zip(test_ctx, pos_idx, strict=True)])
    r = test.reward.astype(np.float64)
    ps = test.pscore
    a = test.action
    pi_logged = pi[np.arange(len(test)), a]

    boot = {"n_boot": cfg.n_boot, "seed": cfg.seed}
    est_ipw = Estimate(float(ipw(r, ps, pi_logged)), bootstrap_ci(ipw, r, ps, pi_logged, **boot))
    try:  # exact binomial interval: valid when weights are 0 or one constant (greedy)
        ipw_exact: tuple[float, float] | None = ipw_exact_ci(r, ps, pi_logged)
    except ValueError:
        ipw_exact = None
    est_snipw = Estimate(
        float(snipw(r, ps, pi_logged)), bootstrap_ci(snipw, r, ps, pi_logged, **boot)
    )
    dr_raw = Estimate(float(dr(r, ps, a, q_hat, pi)), bootstrap_ci(dr, r, ps, a, q_hat, pi, **boot))
    # A click rate lies in [0, 1]; projecting the estimates and interval ends onto that
    # range can only move them closer to the truth. DR can fall below 0 when the reward
    # model over-predicts on the few matched rounds; the raw value is kept in the report.
    est_ipw, est_snipw, est_dr = (_clip(e) for e in (est_ipw, est_snipw, dr_raw))
    dm = float(np.mean(np.sum(pi * q_hat, axis=1)))

    # --- logging policies over the same later time window --------------------------------
    in_window = (bts_log.timestamp >= t_start) & (bts_log.timestamp <= t_end)
    bts_window = bts_log.reward[in_window]
    logged_random = _mean_estimate(test.reward, cfg.n_boot, cfg.seed)
    logged_bts = _mean_estimate(bts_window, cfg.n_boot, cfg.seed)

    features = ",".join(str(k) for k in cfg.user_features) or "none"
    description = POLICY_DESCRIPTIONS[cfg.policy].format(features=features, n_mc=cfg.n_mc)
    return BanditReport(
        config=cfg,
        policy=description,
        n_train=n_train,
        n_test=len(test),
        n_train_bts=n_train_bts,
        train_clicks=int(train.reward.sum()),
        test_clicks=int(test.reward.sum()),
        test_window=(_iso(t_start), _iso(t_end)),
        ipw=est_ipw,
        snipw=est_snipw,
        dr=est_dr,
        dr_raw=dr_raw,
        ipw_exact_ci=(None if ipw_exact is None else _clip(Estimate(0.0, ipw_exact)).ci95),
        dm=dm,
        matched=float(pi_logged.sum()),
        logged_random=logged_random,
        logged_bts=logged_bts,
        n_bts_window=int(in_window.sum()),
        prior=(prior.alpha, prior.beta),
        backoff_strengths=tuple(strengths),
    )


def format_report(report: BanditReport) -> str:
    """Human-readable report."""
    cfg = report.config

    def line(name: str, est: Estimate) -> str:
        lo, hi = est.ci95
        return f"  {name:<24} {est.value:8.5f}   95% CI [{lo:.5f}, {hi:.5f}]  width {hi - lo:.5f}"

    lines = [
        f"Open Bandit Dataset, campaign '{cfg.campaign}'"
        + (f" (first {cfg.max_rows} rows per log)" if cfg.max_rows else ""),
        f"  train: first {report.n_train} rounds of the random log "
        f"({report.train_clicks} clicks)"
        + (
            f" + {report.n_train_bts} earlier rounds of the bts log"
            if cfg.train_on == "both"
            else ""
        ),
        f"  test:  last {report.n_test} rounds ({report.test_clicks} clicks), "
        f"{report.test_window[0]} .. {report.test_window[1]}",
        f"  root prior Beta({report.prior[0]:.3g}, {report.prior[1]:.4g}), "
        "back-off strengths by depth (position, user features...): "
        + ", ".join(f"{k:.4g}" for k in report.backoff_strengths)
        + (" (empirical Bayes)" if cfg.backoff_strength is None else ""),
        f"  policy: {report.policy}",
        "",
        "Waypoint policy, estimated click rate on the test rounds "
        f"(bootstrap n={cfg.n_boot}, seed={cfg.seed}):",
        line("IPW", report.ipw),
        *(
            []
            if report.ipw_exact_ci is None
            else [
                f"  {'  IPW exact binomial CI':<24} {'':8}   95% CI "
                f"[{report.ipw_exact_ci[0]:.5f}, {report.ipw_exact_ci[1]:.5f}]  width "
                f"{report.ipw_exact_ci[1] - report.ipw_exact_ci[0]:.5f}"
            ]
        ),
        line("SNIPW", report.snipw),
        line("DR", report.dr),
        line("  DR before clipping", report.dr_raw),
        f"  {'(direct method part)':<24} {report.dm:8.5f}",
        f"  test rounds where the policy agrees with the log: {report.matched:.1f} "
        "(weight pi / propensity_score; 0 elsewhere)",
        "",
        "Logging policies, measured click rate over the same time window:",
        line(f"random (n={report.n_test})", report.logged_random),
        line(f"bts (n={report.n_bts_window})", report.logged_bts),
    ]
    return "\n".join(lines)
