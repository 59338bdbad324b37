"""The Beta prior, context buckets and the back-off propensity model."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.learning.beta_prior import BetaPrior
from recommender.learning.propensity import PropensityModel, bucket_key, bucket_levels

# --- BetaPrior -----------------------------------------------------------------------------


def test_beta_prior_basics() -> None:
    prior = BetaPrior.from_mean(0.2, 10)
    assert (prior.alpha, prior.beta) == pytest.approx((2.0, 8.0))
    assert prior.mean == pytest.approx(0.2)
    assert prior.strength == pytest.approx(10.0)
    post = prior.posterior(impressions=10, successes=3)
    assert (post.alpha, post.beta) == pytest.approx((5.0, 15.0))
    with pytest.raises(ValueError):
        BetaPrior(0.0, 1.0)
    with pytest.raises(ValueError):
        prior.posterior(impressions=2, successes=3)


def test_beta_prior_fit_recovers_simulated_prior() -> None:
    rng = np.random.default_rng(0)
    true = BetaPrior.from_mean(0.1, 40)
    p = rng.beta(true.alpha, true.beta, size=4_000)
    n = rng.integers(50, 200, size=p.size)
    s = rng.binomial(n, p)
    fitted = BetaPrior.fit(s / n, n)
    assert fitted.mean == pytest.approx(0.1, abs=0.005)
    assert 30 < fitted.strength < 55
    # Without impressions: moments of the rates themselves (noise included -> weaker).
    assert BetaPrior.fit(p).strength == pytest.approx(40, rel=0.15)


def test_beta_prior_fit_clamps_when_no_heterogeneity() -> None:
    rng = np.random.default_rng(1)
    n = np.full(300, 100)
    s = rng.binomial(n, 0.05)  # every action has the same true rate
    fitted = BetaPrior.fit(s / n, n, max_strength=500)
    assert fitted.strength == pytest.approx(500)
    assert fitted.mean == pytest.approx(s.sum() / n.sum())
    # extreme spread is clamped from below
    assert BetaPrior.fit([0.0, 1.0, 0.0, 1.0], min_strength=2).strength == pytest.approx(2)


# --- buckets ---------------------------------------------------------------------------------


def test_bucket_helpers() -> None:
    key = bucket_key([("intent", "buy"), ("channel", "web")])
    assert key == "intent=buy|channel=web"
    assert bucket_levels(key) == ["", "intent=buy", "intent=buy|channel=web"]
    assert bucket_levels("") == [""]
    with pytest.raises(ValueError):
        bucket_key({"intent": "a|b"})


# --- PropensityModel -------------------------------------------------------------------------


def test_update_and_mean_by_hand() -> None:
    model = PropensityModel(BetaPrior(1, 9), backoff_strength=20)
    model.update("seg=a", "x", impressions=10, successes=4)
    # root: no traffic outside "seg=a" -> Beta(1, 9), mean 0.1
    # cell: prior centre 0.1 with k=20 -> Beta(2, 18); + 4 / 6 -> Beta(6, 24) -> 0.2
    assert model.mean("seg=a", "x") == pytest.approx(0.2)
    post = model.posterior("seg=a", "x")
    assert (post.alpha, post.beta) == pytest.approx((6.0, 24.0))
    # an unseen bucket of the same action falls back to its global posterior:
    # Beta(1 + 4, 9 + 6) -> 0.25, re-centred with k=20 (mean unchanged)
    assert model.mean("seg=b", "x") == pytest.approx(0.25)
    # an unseen action gets the prior mean
    assert model.mean("seg=a", "y") == pytest.approx(0.1)
    assert model.cell("seg=a", "x") == (10.0, 4.0)
    assert model.cell("", "x") == (10.0, 4.0)
    with pytest.raises(ValueError):
        model.update("seg=a", "x", impressions=1, successes=2)


def test_sparse_cell_shrinks_toward_global_rate_dense_cell_toward_own() -> None:
    model = PropensityModel(BetaPrior(1, 1), backoff_strength=50)
    # The action converts at 10% over lots of traffic in segment "big" ...
    model.update("seg=big", "offer", impressions=10_000, successes=1_000)
    # ... and had 1 success out of 2 in segment "tiny" (raw rate 50%).
    model.update("seg=tiny", "offer", impressions=2, successes=1)
    sparse = model.mean("seg=tiny", "offer")
    assert 0.1 < sparse < 0.12  # close to the global 10%, not to 50%
    # The same 50% observed over 2,000 impressions dominates the 50 pseudo-counts.
    model.update("seg=loud", "offer", impressions=2_000, successes=1_000)
    assert model.mean("seg=loud", "offer") > 0.48


def test_backoff_goes_through_intermediate_level() -> None:
    model = PropensityModel(BetaPrior(1, 99), backoff_strength=100)
    # Within intent=buy the action does 30% (lots of traffic); elsewhere 1%.
    model.update("intent=buy|channel=web", "a", impressions=5_000, successes=1_500)
    model.update("intent=browse|channel=web", "a", impressions=50_000, successes=500)
    # A sparse new channel under intent=buy shrinks toward ~30%, not toward the global ~3.6%.
    model.update("intent=buy|channel=app", "a", impressions=3, successes=0)
    assert 0.25 < model.mean("intent=buy|channel=app", "a") < 0.31


def test_fit_backoff_detects_heterogeneity() -> None:
    rng = np.random.default_rng(3)
    flat = PropensityModel(BetaPrior(1, 1))
    varied = PropensityModel(BetaPrior(1, 1))
    for b in range(200):
        flat.update(f"b={b}", "a", 500, float(rng.binomial(500, 0.1)))
        p = rng.beta(2, 18)  # mean 0.1, strength 20
        varied.update(f"b={b}", "a", 500, float(rng.binomial(500, p)))
    (k_flat,) = flat.fit_backoff(max_strength=1_000)
    (k_varied,) = varied.fit_backoff(max_strength=1_000)
    assert k_flat == pytest.approx(1_000)
    assert 10 < k_varied < 40


def test_fit_and_from_counts_round_trip() -> None:
    buckets = ["pos=1|u=a", "pos=1|u=a", "pos=2|u=b", "pos=1|u=a"]
    actions = ["x", "y", "x", "x"]
    model = PropensityModel(backoff_strength=30).fit(buckets, actions, [1, 0, 0, 1])
    assert model.counts() == {
        ("pos=1|u=a", "x"): (2.0, 2.0),
        ("pos=1|u=a", "y"): (1.0, 0.0),
        ("pos=2|u=b", "x"): (1.0, 0.0),
    }
    clone = PropensityModel.from_counts(model.counts(), model.prior, backoff_strength=30)
    for b, a in model:
        assert clone.mean(b, a) == pytest.approx(model.mean(b, a))
    assert model.actions() == ["x", "y"]
    assert len(model) == 3


def test_thompson_sampling_is_seeded_and_matches_posterior() -> None:
    model = PropensityModel(BetaPrior(1, 1), backoff_strength=10)
    model.update("c=1", "a", 200, 50)
    one = [model.sample("c=1", "a", np.random.default_rng(42)) for _ in range(3)]
    assert one[0] == one[1] == one[2]
    draws = model.sample_many("c=1", ["a", "b"], np.random.default_rng(0), size=20_000)
    assert draws.shape == (20_000, 2)
    assert draws[:, 0].mean() == pytest.approx(model.mean("c=1", "a"), abs=0.003)
    assert draws[:, 1].mean() == pytest.approx(model.mean("c=1", "b"), abs=0.01)
    assert np.all((draws > 0) & (draws < 1))


def test_snapshot_batch_reads_equal_single_reads() -> None:
    """``Propensities.means`` / ``multipliers`` (one value shared by the actions without
    counters) give exactly what ``mean`` / ``multiplier`` give action by action."""
    import random

    from recommender.learning.propensity_store import (
        DEFAULT_BACKOFF,
        DEFAULT_PRIOR,
        Propensities,
        context_bucket,
    )

    rng = random.Random(1)
    buckets = [
        context_bucket(i, c, s)
        for i in ("a", "b", None)
        for c in ("web", "app")
        for s in ([], ["x"])
    ]
    actions = [f"act-{k}" for k in range(300)]
    counts: dict[tuple[str, str], tuple[float, float]] = {}
    for _ in range(400):
        n = rng.randint(1, 50)
        counts[(rng.choice(buckets), rng.choice(actions[:120]))] = (
            float(n),
            float(rng.randint(0, n)),
        )
    model = PropensityModel.from_counts(counts, DEFAULT_PRIOR, backoff_strength=DEFAULT_BACKOFF)
    model.fit_prior()
    for bucket in buckets:
        batch, single = Propensities(model=model), Propensities(model=model)
        assert batch.any_success
        assert batch.means(bucket, actions) == [single.mean(bucket, a) for a in actions]
        lifts = [single.multiplier(bucket, a) for a in actions]
        assert batch.multipliers(bucket, actions).tolist() == lifts
        # by catalog position: the same values, for any subset and order of positions
        ids = tuple(sorted(actions))
        position = {a: i for i, a in enumerate(ids)}
        by_position = Propensities(model=model)
        picked = np.asarray(rng.sample(range(len(ids)), 150), np.int32)
        got = by_position.multipliers_at(bucket, ids, position, picked).tolist()
        assert got == [single.multiplier(bucket, ids[p]) for p in picked.tolist()]
        assert by_position.multipliers_at(bucket, ids, position, picked[:0]).tolist() == []
