"""Off-policy evaluation of Waypoint's propensity-model policy on the Open Bandit Dataset.

Protocol (nothing is tuned, chosen or selected on the test part):

1. Load the ``random`` log (uniform logging policy) of one campaign and split it **by
   time**: the earliest ``train_fraction`` of the rounds are the training part, the rest
   is the test window.
2. **Policy selection** (``policy="auto"``, the default). The training part is split by
   time again: the earliest rounds *fit* the model, the latest ``validation_fraction``
   are the *validation* window. Every policy of the pre-declared family
   :data:`CANDIDATES` is built from the fitted model and scored on the validation window
   with DR and a percentile-bootstrap 95% interval (the same bootstrap resamples for
   every candidate). The selected policy is the one with the highest **lower end** of
   that interval (:func:`select_candidate`; ties go to the higher point estimate, then
   to the earlier candidate of the family). With an explicit ``policy`` name this step
   is skipped.
3. Train :class:`recommender.propensity.PropensityModel` on the whole training part. A
   cell is ``(item, bucket)`` with bucket ``pos=<position>|u0=<user_feature_0>``; the
   back-off chain is item overall -> item at that position -> item at that position for
   that user feature value. The root prior and the back-off strengths are
   empirical-Bayes fits on the training rounds.
4. Build the selected policy from that model and estimate its click rate on the test
   rounds **once** with IPW, SNIPW and DR (reward model = the same propensity model's
   posterior means), each with a percentile bootstrap 95% interval, next to both logging
   policies' measured click rates over the same test time window.

The policies fill the three slots of a round's slate in order (position 1, 2, 3), never
repeating an item, from per-position scores in the round's context bucket, and show the
item placed at the logged position:

* ``greedy``: score = posterior mean (deterministic);
* ``thompson``: score = one draw from each cell's Beta posterior;
* ``softmax-T``: at each slot an item is drawn with probability proportional to
  ``mean ** (1 / T)`` among the items not yet placed (Gumbel-max on ``log(mean) / T``);
* ``epsilon-E``: at each slot, with probability ``E`` an item uniformly at random among
  those not yet placed, otherwise the greedy choice.

A stochastic policy is defined as "pick one of ``n_mc`` seeded pre-drawn slates of the
round's context uniformly at random", so its per-position action probabilities ``pi``
are the exact frequencies over those slates.

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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from evaluation.estimators import bootstrap_ci, dr_terms, ipw_exact_ci, snipw, weights
from evaluation.obd import OBDLog, load_obd
from recommender.propensity import PropensityModel, bucket_key

__all__ = [
    "CANDIDATES",
    "POLICY_CHOICES",
    "SELECTION_RULE",
    "BanditConfig",
    "BanditReport",
    "Candidate",
    "CandidateScore",
    "Estimate",
    "OffPolicyEstimates",
    "Selection",
    "evaluate_bandit",
    "evaluate_logs",
    "format_report",
    "select_candidate",
    "slate_probabilities",
]

PolicyKind = Literal["greedy", "thompson", "softmax", "epsilon"]
FloatArray = NDArray[np.float64]
Context = tuple[tuple[str, str], ...]
Draw = Callable[[int], NDArray[np.float64]]


@dataclass(frozen=True)
class Candidate:
    """One slate policy of the pre-declared family (``param``: temperature or epsilon)."""

    name: str
    kind: PolicyKind
    param: float = 0.0

    def describe(self, features: str, n_mc: int) -> str:
        """One-line description for the report."""
        where = f"bucket (position, user_feature_{features})"
        text = {
            "greedy": f"the item of highest posterior mean click rate in {where}",
            "thompson": f"the item of highest draw from its Beta posterior in {where}",
            "softmax": (
                f"an item drawn with probability proportional to posterior_mean ** "
                f"(1/{self.param:g}) in {where}"
            ),
            "epsilon": (
                f"with probability {self.param:g} an item uniformly at random, otherwise "
                f"the item of highest posterior mean in {where}"
            ),
        }[self.kind]
        how = (
            "deterministic"
            if self.kind == "greedy"
            else f"pi = frequencies over {n_mc} seeded Monte Carlo slates per context"
        )
        return (
            f"{self.name}: per round, slots 1, 2, 3 are filled in order with {text} "
            f"(back-off: item -> item x position -> item x position x context), never "
            f"repeating an item; the item at the logged position is shown ({how})"
        )


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("greedy", "greedy"),
    Candidate("thompson", "thompson"),
    Candidate("softmax-0.1", "softmax", 0.1),
    Candidate("softmax-0.3", "softmax", 0.3),
    Candidate("softmax-1", "softmax", 1.0),
    Candidate("epsilon-0.1", "epsilon", 0.1),
    Candidate("epsilon-0.3", "epsilon", 0.3),
)
"""The pre-declared policy family searched by ``policy="auto"`` (fixed before any run)."""

_BY_NAME: dict[str, Candidate] = {c.name: c for c in CANDIDATES}
POLICY_CHOICES: tuple[str, ...] = ("auto", *_BY_NAME)

SELECTION_RULE = (
    "highest lower end of the validation DR 95% bootstrap interval "
    "(ties: higher DR, then earlier in the family)"
)


@dataclass(frozen=True)
class BanditConfig:
    """Settings of one evaluation run (defaults fixed before looking at the test part)."""

    campaign: str = "all"
    train_fraction: float = 0.5
    seed: int = 0
    n_boot: int = 1_000
    max_rows: int | None = None
    policy: str = "auto"
    validation_fraction: float = 0.5
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


@dataclass(frozen=True)
class CandidateScore:
    """A candidate's DR (unclipped) and IPW on the validation window."""

    name: str
    dr: Estimate
    ipw: float
    matched: float

    @property
    def lcb(self) -> float:
        """Lower end of the DR 95% interval: the selection statistic."""
        return self.dr.ci95[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.name,
            "ctr_dr": _num(self.dr.value),
            "ci95": _pair(self.dr.ci95),
            "ctr_ipw": _num(self.ipw),
            "matched_rounds": _num(self.matched),
        }


@dataclass(frozen=True)
class Selection:
    """Outcome of the policy selection on the training part."""

    rule: str
    n_fit: int
    n_validation: int
    fit_clicks: int
    validation_clicks: int
    validation_window: tuple[str, str]
    logged_random: Estimate
    logged_bts: Estimate
    n_bts_window: int
    candidates: tuple[CandidateScore, ...]
    selected: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "selected": self.selected,
            "n_fit": self.n_fit,
            "n_validation": self.n_validation,
            "validation_clicks": self.validation_clicks,
            "validation_window": list(self.validation_window),
            "candidates": [c.to_json() for c in self.candidates],
            "logged": {
                "random": {"ctr": _num(self.logged_random.value), "n": self.n_validation},
                "bts": {"ctr": _num(self.logged_bts.value), "n": self.n_bts_window},
            },
        }


@dataclass(frozen=True)
class BanditReport:
    """Result of :func:`evaluate_bandit`."""

    config: BanditConfig
    policy: str
    policy_description: str
    selection: Selection | None
    n_train: int
    n_test: int
    n_train_bts: int
    train_clicks: int
    test_clicks: int
    test_window: tuple[str, str]
    estimates: OffPolicyEstimates
    logged_random: Estimate
    logged_bts: Estimate
    n_bts_window: int
    prior: tuple[float, float]
    backoff_strengths: tuple[float, ...]

    def to_json(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``evaluate bandit --json``."""
        e = self.estimates
        return {
            "waypoint": {
                "policy": self.policy,
                "ctr_ipw": _num(e.ipw.value),
                "ctr_snipw": _num(e.snipw.value),
                "ctr_dr": _num(e.dr.value),
                "ci95": _pair(e.dr.ci95),
                "ci95_ipw": _pair(e.ipw.ci95),
                "ci95_snipw": _pair(e.snipw.ci95),
                "ci95_ipw_exact": None if e.ipw_exact_ci is None else _pair(e.ipw_exact_ci),
                "ctr_dr_raw": _num(e.dr_raw.value),
                "ci95_dr_raw": _pair(e.dr_raw.ci95),
                "ctr_dm": _num(e.dm),
                "matched_rounds": _num(e.matched),
                "dr_minus_random": _num(e.dr_minus_logged.value),
                "ci95_dr_minus_random": _pair(e.dr_minus_logged.ci95),
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
            "policy_description": self.policy_description,
            "selection": None if self.selection is None else self.selection.to_json(),
            "model": {"prior": list(self.prior), "backoff_strengths": list(self.backoff_strengths)},
            "config": {**asdict(self.config), "user_features": list(self.config.user_features)},
        }


# --- small helpers ----------------------------------------------------------------------------


def _clip(est: Estimate) -> Estimate:
    def c(x: float) -> float:
        return x if math.isnan(x) else min(max(x, 0.0), 1.0)

    return Estimate(c(est.value), (c(est.ci95[0]), c(est.ci95[1])))


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _pair(ci: tuple[float, float]) -> list[float | None]:
    return [_num(ci[0]), _num(ci[1])]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def _window(log: OBDLog) -> tuple[str, str]:
    return (_iso(float(log.timestamp[0])), _iso(float(log.timestamp[-1])))


def _row_mean(x: FloatArray) -> FloatArray:
    return np.asarray(np.mean(x, axis=-1), dtype=np.float64)


def _mean_estimate(values: NDArray[Any], n_boot: int, seed: int) -> Estimate:
    """Mean of per-round values with a percentile-bootstrap interval."""
    if values.size == 0:
        return Estimate(float("nan"), (float("nan"), float("nan")))
    v = np.asarray(values, dtype=np.float64)
    return Estimate(float(v.mean()), bootstrap_ci(_row_mean, v, n_boot=n_boot, seed=seed))


def _split(log: OBDLog, fraction: float) -> tuple[OBDLog, OBDLog]:
    """The earliest ``fraction`` of the rounds and the rest (the log is in time order)."""
    n = len(log)
    k = round(fraction * n)
    if not 0 < k < n:
        raise ValueError(f"cannot split {n} rounds at fraction {fraction}")
    return log.take(slice(0, k)), log.take(slice(k, n))


def _context_keys(log: OBDLog, features: tuple[int, ...]) -> list[Context]:
    cols = log.user_features[:, list(features)] if features else log.user_features[:, :0]
    return [
        tuple((f"u{k}", str(v)) for k, v in zip(features, row, strict=True))
        for row in cols.tolist()
    ]


def _bucket(position: int, context: Context) -> str:
    return bucket_key([("pos", position), *context])


def _logged_in_window(
    bts_log: OBDLog, window: OBDLog, n_boot: int, seed: int
) -> tuple[Estimate, int]:
    """The bts log's click rate over the time span of ``window`` (and its row count)."""
    t0, t1 = float(window.timestamp[0]), float(window.timestamp[-1])
    inside = (bts_log.timestamp >= t0) & (bts_log.timestamp <= t1)
    return _mean_estimate(bts_log.reward[inside], n_boot, seed), int(inside.sum())


# --- model ------------------------------------------------------------------------------------


def _train_model(
    cfg: BanditConfig, train: OBDLog, bts_log: OBDLog, before: float
) -> tuple[PropensityModel, int]:
    """Fit the propensity model (counts, root prior, back-off strengths) on ``train``.

    With ``train_on="both"`` the bts rows strictly before ``before`` are added: Bernoulli
    TS chooses items without looking at the user, so its impressions give unbiased
    per-(item, position, context) click counts (they are just unevenly spread).
    """
    model = PropensityModel(
        backoff_strength=cfg.backoff_strength if cfg.backoff_strength is not None else 100.0
    )
    logs = [train]
    if cfg.train_on == "both":
        logs.append(bts_log.take(bts_log.timestamp < before))
    for log in logs:
        ctx = _context_keys(log, cfg.user_features)
        model.partial_fit(
            [_bucket(int(p), c) for p, c in zip(log.position.tolist(), ctx, strict=True)],
            [str(a) for a in log.action.tolist()],
            log.reward,
        )
    model.fit_prior()
    if cfg.backoff_strength is None:
        model.fit_backoff()
    return model, (len(logs[1]) if len(logs) > 1 else 0)


# --- policies ---------------------------------------------------------------------------------


def _fill_slates(scores: FloatArray) -> NDArray[np.int64]:
    """Slates ``(m, P)`` from scores ``(m, P, A)``: slot by slot, best unused item."""
    m, n_pos, n_act = scores.shape
    used = np.zeros((m, n_act), dtype=bool)
    slates = np.empty((m, n_pos), dtype=np.int64)
    rows = np.arange(m)
    for p in range(n_pos):
        pick = np.argmax(np.where(used, -np.inf, scores[:, p, :]), axis=1)
        slates[:, p] = pick
        used[rows, pick] = True
    return slates


def _marginals(slates: NDArray[np.int64], n_act: int) -> FloatArray:
    """Per-position frequency ``(P, A)`` of each item over the slates ``(m, P)``."""
    m, n_pos = slates.shape
    flat = (slates + n_act * np.arange(n_pos)).ravel()
    counts = np.bincount(flat, minlength=n_pos * n_act).reshape(n_pos, n_act)
    return np.asarray(counts / m, dtype=np.float64)


def _scores(
    cand: Candidate,
    means: FloatArray,
    draw: Draw | None,
    rng: np.random.Generator,
    n_mc: int,
) -> FloatArray:
    """Slot scores ``(m, P, A)``; ``draw(size)`` gives Thompson draws of that shape."""
    n_pos, n_act = means.shape
    if cand.kind == "greedy":
        return means[None]
    if cand.kind == "thompson":
        if draw is None:
            raise ValueError("thompson needs posterior draws")
        return np.asarray(draw(n_mc), dtype=np.float64)
    if cand.kind == "softmax":
        gumbel = rng.gumbel(size=(n_mc, n_pos, n_act))
        return np.log(np.maximum(means, 1e-300))[None] / cand.param + gumbel
    explore = rng.random((n_mc, n_pos)) < cand.param
    return np.where(explore[..., None], rng.random((n_mc, n_pos, n_act)), means[None])


def slate_probabilities(
    cand: Candidate,
    means: FloatArray,
    rng: np.random.Generator,
    n_mc: int,
    draw: Draw | None = None,
) -> FloatArray:
    """Per-position action probabilities ``(P, A)`` of ``cand`` for one context.

    Args:
        cand: the policy.
        means: posterior mean click rate of every item at every position, ``(P, A)``.
        rng: source of the Monte Carlo slates (softmax, epsilon).
        n_mc: number of slates drawn for a stochastic policy.
        draw: for Thompson, ``draw(size)`` returns posterior draws of shape ``(size, P, A)``.
    """
    slates = _fill_slates(_scores(cand, means, draw, rng, n_mc))
    return _marginals(slates, means.shape[1])


def _policy_arrays(
    cand: Candidate,
    model: PropensityModel,
    log: OBDLog,
    cfg: BanditConfig,
    shape: tuple[int, int],
) -> tuple[FloatArray, FloatArray]:
    """Reward model ``q(x_i, .)`` and policy ``pi(. | x_i)`` at each round's position.

    ``shape`` is ``(positions, actions)`` of the whole log.
    """
    n_pos, n_act = shape
    actions = [str(a) for a in range(n_act)]
    rng = np.random.default_rng(cfg.seed)
    ctx = _context_keys(log, cfg.user_features)
    contexts = sorted(set(ctx))
    means_by_ctx = np.empty((len(contexts), n_pos, n_act))
    probs_by_ctx = np.empty((len(contexts), n_pos, n_act))
    for j, c in enumerate(contexts):
        buckets = [_bucket(p, c) for p in range(1, n_pos + 1)]
        means_by_ctx[j] = np.stack([model.means(b, actions) for b in buckets])

        def draw(size: int, buckets: list[str] = buckets) -> FloatArray:
            return np.stack([model.sample_many(b, actions, rng, size=size) for b in buckets], 1)

        probs_by_ctx[j] = slate_probabilities(cand, means_by_ctx[j], rng, cfg.n_mc, draw)
    index = {c: j for j, c in enumerate(contexts)}
    ci = np.array([index[c] for c in ctx], dtype=np.intp)
    pos = log.position - 1
    return means_by_ctx[ci, pos], probs_by_ctx[ci, pos]


# --- estimates --------------------------------------------------------------------------------


def _off_policy(
    log: OBDLog, q_hat: FloatArray, pi: FloatArray, n_boot: int, seed: int
) -> OffPolicyEstimates:
    """IPW, SNIPW and DR of the policy ``pi`` on ``log`` (bootstrap over rounds)."""
    r = log.reward.astype(np.float64)
    ps, a = log.pscore, log.action
    pi_logged = pi[np.arange(len(log)), a]
    boot = {"n_boot": n_boot, "seed": seed}
    est_ipw = _mean_estimate(weights(ps, pi_logged) * r, n_boot, seed)
    est_snipw = Estimate(
        float(snipw(r, ps, pi_logged)), bootstrap_ci(snipw, r, ps, pi_logged, **boot)
    )
    # DR is a mean of per-round terms, so resampling the terms is resampling the rounds.
    terms = dr_terms(r, ps, a, q_hat, pi)
    dr_raw = _mean_estimate(terms, n_boot, seed)
    try:  # exact binomial interval: valid when weights are 0 or one constant (greedy)
        exact: tuple[float, float] | None = _clip(
            Estimate(0.0, ipw_exact_ci(r, ps, pi_logged))
        ).ci95
    except ValueError:
        exact = None
    # A click rate lies in [0, 1]; projecting the estimates and interval ends onto that
    # range can only move them closer to the truth. DR can fall below 0 when the reward
    # model over-predicts on the few matched rounds; the raw value is kept in the report.
    return OffPolicyEstimates(
        ipw=_clip(est_ipw),
        snipw=_clip(est_snipw),
        dr=_clip(dr_raw),
        dr_raw=dr_raw,
        ipw_exact_ci=exact,
        dm=float(np.mean(np.sum(pi * q_hat, axis=1))),
        matched=float(pi_logged.sum()),
        dr_minus_logged=_mean_estimate(terms - r, n_boot, seed),
    )


# --- selection --------------------------------------------------------------------------------


def select_candidate(scores: Sequence[CandidateScore]) -> CandidateScore:
    """The candidate with the highest validation-DR lower bound (:data:`SELECTION_RULE`).

    Ties go to the higher DR point estimate, then to the earlier candidate.
    """
    if not scores:
        raise ValueError("no candidates")
    return max(scores, key=lambda s: (s.lcb, s.dr.value))


def _select(train: OBDLog, bts_log: OBDLog, cfg: BanditConfig, shape: tuple[int, int]) -> Selection:
    """Fit on the early training rounds, score every candidate on the later ones."""
    fit, val = _split(train, 1.0 - cfg.validation_fraction)
    model, _ = _train_model(cfg, fit, bts_log, before=float(val.timestamp[0]))
    scores = []
    for cand in CANDIDATES:
        q_hat, pi = _policy_arrays(cand, model, val, cfg, shape)
        est = _off_policy(val, q_hat, pi, cfg.n_boot, cfg.seed)
        scores.append(CandidateScore(cand.name, est.dr_raw, est.ipw.value, est.matched))
    logged_bts, n_bts = _logged_in_window(bts_log, val, cfg.n_boot, cfg.seed)
    return Selection(
        rule=SELECTION_RULE,
        n_fit=len(fit),
        n_validation=len(val),
        fit_clicks=int(fit.reward.sum()),
        validation_clicks=int(val.reward.sum()),
        validation_window=_window(val),
        logged_random=_mean_estimate(val.reward, cfg.n_boot, cfg.seed),
        logged_bts=logged_bts,
        n_bts_window=n_bts,
        candidates=tuple(scores),
        selected=select_candidate(scores).name,
    )


# --- entry points -----------------------------------------------------------------------------


def _check_config(cfg: BanditConfig) -> None:
    if not 0 < cfg.train_fraction < 1:
        raise ValueError("train_fraction must lie in (0, 1)")
    if not 0 < cfg.validation_fraction < 1:
        raise ValueError("validation_fraction must lie in (0, 1)")
    if cfg.policy not in POLICY_CHOICES:
        raise ValueError(f"unknown policy {cfg.policy!r}; choose from {POLICY_CHOICES}")
    if any(not 0 <= k < 4 for k in cfg.user_features):
        raise ValueError("user_features must be indices in 0..3")
    if cfg.n_mc < 1 or cfg.n_boot < 1:
        raise ValueError("n_mc and n_boot must be >= 1")


def evaluate_bandit(data_dir: str | Path, config: BanditConfig | None = None) -> BanditReport:
    """Load the OBD logs and run :func:`evaluate_logs`."""
    cfg = config if config is not None else BanditConfig()
    _check_config(cfg)
    random_log = load_obd(data_dir, "random", cfg.campaign, max_rows=cfg.max_rows)
    bts_log = load_obd(data_dir, "bts", cfg.campaign, max_rows=cfg.max_rows)
    return evaluate_logs(random_log, bts_log, cfg)


def evaluate_logs(
    random_log: OBDLog, bts_log: OBDLog, config: BanditConfig | None = None
) -> BanditReport:
    """Select a policy on the early random log, then estimate it once on the later part."""
    cfg = config if config is not None else BanditConfig()
    _check_config(cfg)
    train, test = _split(random_log, cfg.train_fraction)
    shape = (random_log.n_positions, random_log.n_actions)
    selection = _select(train, bts_log, cfg, shape) if cfg.policy == "auto" else None
    cand = _BY_NAME[selection.selected if selection is not None else cfg.policy]

    model, n_train_bts = _train_model(cfg, train, bts_log, before=float(test.timestamp[0]))
    q_hat, pi = _policy_arrays(cand, model, test, cfg, shape)
    estimates = _off_policy(test, q_hat, pi, cfg.n_boot, cfg.seed)
    logged_bts, n_bts = _logged_in_window(bts_log, test, cfg.n_boot, cfg.seed)
    features = ",".join(str(k) for k in cfg.user_features) or "none"
    return BanditReport(
        config=cfg,
        policy=cand.name,
        policy_description=cand.describe(features, cfg.n_mc),
        selection=selection,
        n_train=len(train),
        n_test=len(test),
        n_train_bts=n_train_bts,
        train_clicks=int(train.reward.sum()),
        test_clicks=int(test.reward.sum()),
        test_window=_window(test),
        estimates=estimates,
        logged_random=_mean_estimate(test.reward, cfg.n_boot, cfg.seed),
        logged_bts=logged_bts,
        n_bts_window=n_bts,
        prior=(model.prior.alpha, model.prior.beta),
        backoff_strengths=tuple(model.backoff_strength),
    )


# --- text report ------------------------------------------------------------------------------


def _line(name: str, est: Estimate) -> str:
    lo, hi = est.ci95
    return f"  {name:<24} {est.value:8.5f}   95% CI [{lo:.5f}, {hi:.5f}]  width {hi - lo:.5f}"


def _selection_lines(sel: Selection) -> list[str]:
    header = f"  {'candidate':<14} {'DR':>8}   {'95% CI':<20}  {'IPW':>8}  {'matched':>7}"
    rows = [
        f"  {c.name:<14} {c.dr.value:8.5f}   [{c.dr.ci95[0]:.5f}, {c.dr.ci95[1]:.5f}]"
        f"  {c.ipw:8.5f}  {c.matched:7.1f}" + ("   <- selected" if c.name == sel.selected else "")
        for c in sel.candidates
    ]
    return [
        f"Policy selection on the training part only (rule: {sel.rule}):",
        f"  fit: first {sel.n_fit} training rounds ({sel.fit_clicks} clicks); validation: "
        f"last {sel.n_validation} ({sel.validation_clicks} clicks), "
        f"{sel.validation_window[0]} .. {sel.validation_window[1]}",
        header,
        *rows,
        f"  logged in the validation window: random {sel.logged_random.value:.5f}, "
        f"bts {sel.logged_bts.value:.5f} (n={sel.n_bts_window})",
        "",
    ]


def format_report(report: BanditReport) -> str:
    """Human-readable report."""
    cfg = report.config
    est = report.estimates
    exact = est.ipw_exact_ci
    lines = [
        f"Open Bandit Dataset, campaign '{cfg.campaign}'"
        + (f" (first {cfg.max_rows} rows per log)" if cfg.max_rows else ""),
        f"  train: first {report.n_train} rounds of the random log "
        f"({report.train_clicks} clicks)"
        + (f" + {report.n_train_bts} earlier rounds of the bts log" if report.n_train_bts else ""),
        f"  test:  last {report.n_test} rounds ({report.test_clicks} clicks), "
        f"{report.test_window[0]} .. {report.test_window[1]}",
        f"  root prior Beta({report.prior[0]:.3g}, {report.prior[1]:.4g}), "
        "back-off strengths by depth (position, user features...): "
        + ", ".join(f"{k:.4g}" for k in report.backoff_strengths)
        + (" (empirical Bayes)" if cfg.backoff_strength is None else ""),
        "",
        *([] if report.selection is None else _selection_lines(report.selection)),
        f"Policy: {report.policy_description}",
        *([] if report.selection is not None else ["  (fixed by --policy; no selection step)"]),
        "",
        "Waypoint policy, estimated click rate on the test rounds "
        f"(bootstrap n={cfg.n_boot}, seed={cfg.seed}):",
        _line("IPW", est.ipw),
        *(
            []
            if exact is None
            else [
                f"  {'  IPW exact binomial CI':<24} {'':8}   95% CI "
                f"[{exact[0]:.5f}, {exact[1]:.5f}]  width {exact[1] - exact[0]:.5f}"
            ]
        ),
        _line("SNIPW", est.snipw),
        _line("DR", est.dr),
        _line("  DR before clipping", est.dr_raw),
        f"  {'(direct method part)':<24} {est.dm:8.5f}",
        f"  test rounds where the policy agrees with the log: {est.matched:.1f} "
        "(sum of pi(logged item); weight pi / propensity_score)",
        "",
        "Logging policies, measured click rate over the same time window:",
        _line(f"random (n={report.n_test})", report.logged_random),
        _line(f"bts (n={report.n_bts_window})", report.logged_bts),
        "",
        "Waypoint DR minus the random policy's click rate, paired over the same test rounds:",
        _line("DR - random", est.dr_minus_logged),
    ]
    return "\n".join(lines)
