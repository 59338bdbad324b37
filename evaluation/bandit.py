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

The policy family is :mod:`evaluation.bandit_policies`, the estimators
:mod:`evaluation.estimators`, the report :mod:`evaluation.bandit_report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from evaluation.bandit_policies import (
    BY_NAME,
    CANDIDATES,
    POLICY_CHOICES,
    BanditConfig,
    Candidate,
    Context,
    check_config,
    slate_probabilities,
)
from evaluation.bandit_report import BanditReport, CandidateScore, Selection, format_report
from evaluation.estimators import (
    Estimate,
    FloatArray,
    OffPolicyEstimates,
    mean_estimate,
    off_policy,
)
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

SELECTION_RULE = (
    "highest lower end of the validation DR 95% bootstrap interval "
    "(ties: higher DR, then earlier in the family)"
)


# --- small helpers ----------------------------------------------------------------------------


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def _window(log: OBDLog) -> tuple[str, str]:
    return (_iso(float(log.timestamp[0])), _iso(float(log.timestamp[-1])))


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
    return mean_estimate(bts_log.reward[inside], n_boot, seed), int(inside.sum())


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
        est = off_policy(val.reward, val.pscore, val.action, q_hat, pi, cfg.n_boot, cfg.seed)
        scores.append(CandidateScore(cand.name, est.dr_raw, est.ipw.value, est.matched))
    logged_bts, n_bts = _logged_in_window(bts_log, val, cfg.n_boot, cfg.seed)
    return Selection(
        rule=SELECTION_RULE,
        n_fit=len(fit),
        n_validation=len(val),
        fit_clicks=int(fit.reward.sum()),
        validation_clicks=int(val.reward.sum()),
        validation_window=_window(val),
        logged_random=mean_estimate(val.reward, cfg.n_boot, cfg.seed),
        logged_bts=logged_bts,
        n_bts_window=n_bts,
        candidates=tuple(scores),
        selected=select_candidate(scores).name,
    )


# --- entry points -----------------------------------------------------------------------------


def evaluate_bandit(data_dir: str | Path, config: BanditConfig | None = None) -> BanditReport:
    """Load the OBD logs and run :func:`evaluate_logs`."""
    cfg = config if config is not None else BanditConfig()
    check_config(cfg)
    random_log = load_obd(data_dir, "random", cfg.campaign, max_rows=cfg.max_rows)
    bts_log = load_obd(data_dir, "bts", cfg.campaign, max_rows=cfg.max_rows)
    return evaluate_logs(random_log, bts_log, cfg)


def evaluate_logs(
    random_log: OBDLog, bts_log: OBDLog, config: BanditConfig | None = None
) -> BanditReport:
    """Select a policy on the early random log, then estimate it once on the later part."""
    cfg = config if config is not None else BanditConfig()
    check_config(cfg)
    train, test = _split(random_log, cfg.train_fraction)
    shape = (random_log.n_positions, random_log.n_actions)
    selection = _select(train, bts_log, cfg, shape) if cfg.policy == "auto" else None
    cand = BY_NAME[selection.selected if selection is not None else cfg.policy]

    model, n_train_bts = _train_model(cfg, train, bts_log, before=float(test.timestamp[0]))
    q_hat, pi = _policy_arrays(cand, model, test, cfg, shape)
    estimates = off_policy(test.reward, test.pscore, test.action, q_hat, pi, cfg.n_boot, cfg.seed)
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
        logged_random=mean_estimate(test.reward, cfg.n_boot, cfg.seed),
        logged_bts=logged_bts,
        n_bts_window=n_bts,
        prior=(model.prior.alpha, model.prior.beta),
        backoff_strengths=tuple(model.backoff_strength),
    )
