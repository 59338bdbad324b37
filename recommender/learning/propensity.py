"""Waypoint's online propensity model: Beta posteriors per (context bucket, action).

The model estimates the click / accept probability of every action inside a *context
bucket*: a short string built from a few context features, such as
``"intent=buy|channel=web|segment=vip"``. Each cell keeps two counters, impressions and
successes, and its estimate is a Beta posterior.

Sparse cells are handled by hierarchical back-off. A bucket is a ``|``-separated path and
every prefix of it is a coarser level of the hierarchy::

    ""                                   the action's global rate (all traffic)
    "intent=buy"                         the action within one intent
    "intent=buy|channel=web"             ... and one channel
    "intent=buy|channel=web|segment=vip" the cell itself

The root level starts from :class:`BetaPrior`. Each finer level uses its parent's
posterior mean ``m`` as the centre of its own prior, with a pseudo-count ``k``
(``backoff_strength``, one per depth)::

    alpha0 = m * k,    beta0 = (1 - m) * k
    alpha  = alpha0 + successes,    beta = beta0 + failures

So a cell with few impressions stays close to the coarser estimate and moves toward its
own rate only as its evidence outweighs ``k`` pseudo-impressions. Every impression is
counted once: a level's posterior uses the traffic of its bucket *outside* the finer
bucket on the path (e.g. the action's global level uses the other intents), so a sparse
cell's own few clicks are not first pulled into its parent and then counted again.

The class is pure Python + numpy and keeps no external state. The service keeps the
leaf counters in Redis hashes and rebuilds or updates a model from them with
:meth:`PropensityModel.from_counts` and :meth:`PropensityModel.update`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recommender.learning.beta_prior import BetaPrior, check_counts

__all__ = ["SEPARATOR", "PropensityModel", "bucket_key", "bucket_levels"]

SEPARATOR = "|"
"""Separates the features of a bucket; every prefix is a back-off level."""


def bucket_key(features: Iterable[tuple[str, object]] | Mapping[str, object]) -> str:
    """Build a bucket string from ``(name, value)`` pairs, coarsest feature first.

    >>> bucket_key([("pos", 1), ("u0", "ab12")])
    'pos=1|u0=ab12'

    Order matters: the first feature is the first back-off level. Names and values must
    not contain ``|``; names must not contain ``=``.
    """
    pairs = features.items() if isinstance(features, Mapping) else features
    parts: list[str] = []
    for name, value in pairs:
        text = str(value)
        if SEPARATOR in name or "=" in name or not name:
            raise ValueError(f"invalid bucket feature name {name!r}")
        if SEPARATOR in text:
            raise ValueError(f"bucket feature value must not contain {SEPARATOR!r}: {text!r}")
        parts.append(f"{name}={text}")
    return SEPARATOR.join(parts)


def bucket_levels(bucket: str) -> list[str]:
    """Back-off chain of a bucket, from the global level ``""`` to the bucket itself.

    >>> bucket_levels("pos=1|u0=ab")
    ['', 'pos=1', 'pos=1|u0=ab']
    """
    if not bucket:
        return [""]
    parts = bucket.split(SEPARATOR)
    return [""] + [SEPARATOR.join(parts[: i + 1]) for i in range(len(parts))]


def _strengths(value: float | Sequence[float]) -> tuple[float, ...]:
    ks = (float(value),) if isinstance(value, int | float) else tuple(float(v) for v in value)
    if not ks or any(not (k > 0 and math.isfinite(k)) for k in ks):
        raise ValueError(f"backoff_strength must be finite and > 0 (got {value!r})")
    return ks


class PropensityModel:
    """Per-(bucket, action) success rates as Beta posteriors with hierarchical back-off.

    Args:
        prior: prior of the root level (an action's global rate). Defaults to a weak
            Beta(1, 1); :meth:`fit_prior` replaces it with an empirical-Bayes fit.
        backoff_strength: pseudo-count ``k`` by which each level is tied to its parent
            (``alpha0 = m*k``, ``beta0 = (1-m)*k`` with ``m`` the parent's posterior
            mean). Larger means more shrinkage of sparse cells. A sequence gives one
            value per depth (depth 1 = first bucket feature); the last value is reused
            for deeper levels. :meth:`fit_backoff` estimates them from the data.

    Example:
        >>> model = PropensityModel(BetaPrior(1, 99), backoff_strength=50)
        >>> model.update("intent=buy|channel=web", "offer-1", impressions=10, successes=3)
        >>> round(model.mean("intent=buy|channel=web", "offer-1"), 4)
        0.0583
    """

    def __init__(
        self,
        prior: BetaPrior | None = None,
        *,
        backoff_strength: float | Sequence[float] = 100.0,
    ) -> None:
        self.prior = prior if prior is not None else BetaPrior()
        self.backoff_strength = _strengths(backoff_strength)
        # (level bucket, action) -> [impressions, successes]; every prefix level of every
        # updated bucket is kept, so reads need no aggregation.
        self._counts: dict[tuple[str, str], list[float]] = {}
        self._leaves: set[tuple[str, str]] = set()
        # level bucket -> [impressions, successes] of all actions (the level's base rate)
        self._totals: dict[str, list[float]] = {}

    # -- scikit-learn-like plumbing ------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn convention)."""
        return {"prior": self.prior, "backoff_strength": self.backoff_strength}

    def __repr__(self) -> str:
        return (
            f"PropensityModel(prior={self.prior!r}, backoff_strength={self.backoff_strength}, "
            f"cells={len(self._leaves)})"
        )

    def fit(
        self, buckets: Sequence[str], actions: Sequence[str], rewards: ArrayLike
    ) -> PropensityModel:
        """Reset the counts and learn from one logged impression per element."""
        self._counts.clear()
        self._leaves.clear()
        self._totals.clear()
        return self.partial_fit(buckets, actions, rewards)

    def partial_fit(
        self, buckets: Sequence[str], actions: Sequence[str], rewards: ArrayLike
    ) -> PropensityModel:
        """Add one impression per element (reward 1 = success, 0 = failure)."""
        r = np.asarray(rewards, dtype=np.float64).ravel()
        if not len(buckets) == len(actions) == r.size:
            raise ValueError("buckets, actions and rewards must have the same length")
        if np.any((r < 0) | (r > 1)):
            raise ValueError("rewards must lie in [0, 1]")
        grouped: dict[tuple[str, str], list[float]] = {}
        for bucket, action, reward in zip(buckets, actions, r.tolist(), strict=True):
            cell = grouped.setdefault((bucket, action), [0.0, 0.0])
            cell[0] += 1.0
            cell[1] += reward
        for (bucket, action), (n, s) in grouped.items():
            self.update(bucket, action, n, s)
        return self

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[tuple[str, str], tuple[float, float]],
        prior: BetaPrior | None = None,
        *,
        backoff_strength: float | Sequence[float] = 100.0,
    ) -> PropensityModel:
        """Build a model from leaf counters ``{(bucket, action): (impressions, successes)}``.

        This is the shape the service keeps in Redis; coarser levels are re-aggregated.
        """
        model = cls(prior, backoff_strength=backoff_strength)
        for (bucket, action), (n, s) in counts.items():
            model.update(bucket, action, n, s)
        return model

    # -- updates ---------------------------------------------------------------------------
    def update(
        self, bucket: str, action: str, impressions: float = 1, successes: float = 0
    ) -> None:
        """Record ``successes`` out of ``impressions`` for ``action`` shown in ``bucket``.

        Counts are added to the cell and to every coarser level of its bucket.
        """
        check_counts(impressions, successes)
        if impressions == 0:
            return
        self._leaves.add((bucket, action))
        for level in bucket_levels(bucket):
            cell = self._counts.setdefault((level, action), [0.0, 0.0])
            cell[0] += impressions
            cell[1] += successes
            total = self._totals.setdefault(level, [0.0, 0.0])
            total[0] += impressions
            total[1] += successes

    def counted_actions(self) -> frozenset[str]:
        """Every action with counters at any level. Any other action's posterior and lift
        in a bucket are those of no evidence at all: the same for all of them."""
        return frozenset(action for _, action in self._counts)

    def counts(self) -> dict[tuple[str, str], tuple[float, float]]:
        """Leaf counters ``{(bucket, action): (impressions, successes)}``.

        Note that a leaf also holds the counts of its own finer buckets if some were
        updated directly; the mapping round-trips through :meth:`from_counts` only when
        updates always use buckets of the same depth.
        """
        return {key: (self._counts[key][0], self._counts[key][1]) for key in self._leaves}

    def cell(self, bucket: str, action: str) -> tuple[float, float]:
        """``(impressions, successes)`` seen at exactly this level (0, 0 if unseen)."""
        n, s = self._counts.get((bucket, action), (0.0, 0.0))
        return n, s

    def actions(self) -> list[str]:
        """All actions with at least one impression, sorted."""
        return sorted({a for level, a in self._counts if level == ""})

    def fit_prior(self, *, min_strength: float = 2.0, max_strength: float = 1_000.0) -> BetaPrior:
        """Replace the root prior by an empirical-Bayes fit on the actions' global rates."""
        acts = self.actions()
        if not acts:
            return self.prior
        n = np.array([self._counts[("", a)][0] for a in acts])
        s = np.array([self._counts[("", a)][1] for a in acts])
        self.prior = BetaPrior.fit(s / n, n, min_strength=min_strength, max_strength=max_strength)
        return self.prior

    def fit_backoff(
        self, *, min_strength: float = 2.0, max_strength: float = 1_000.0
    ) -> tuple[float, ...]:
        """Empirical-Bayes back-off strengths, one per depth (method of moments).

        At depth ``d`` every cell ``c`` (rate ``r_c`` over ``n_c`` impressions) is compared
        with the centre ``m_c`` of its prior (:meth:`cell_prior`, built from the traffic
        outside the cell with the strengths already fitted for shallower depths). If
        ``r_c ~ Binomial(n_c, p_c) / n_c`` with ``p_c`` drawn around ``m_c`` with variance
        ``m_c (1 - m_c) / (k + 1)``, then::

            E[sum_c n_c (r_c - m_c)^2] = sum_c m_c (1 - m_c)
                                         + sum_c (n_c - 1) m_c (1 - m_c) / (k + 1)

        which is solved for ``k`` and clamped to ``[min_strength, max_strength]``. When
        cells vary no more than binomial noise explains, ``k = max_strength``: the data
        give no evidence that this level differs from its parent, so it is shrunk hard.
        """
        if not 0 < min_strength <= max_strength:
            raise ValueError("need 0 < min_strength <= max_strength")
        depth_of = {
            level: (level.count(SEPARATOR) + 1 if level else 0) for level, _ in self._counts
        }
        max_depth = max(depth_of.values(), default=0)
        fitted: list[float] = []
        for depth in range(1, max_depth + 1):
            self.backoff_strength = (*fitted, max_strength) if fitted else (max_strength,)
            num = 0.0
            den = 0.0
            for (level, action), (n, s) in self._counts.items():
                if depth_of[level] != depth or n <= 0:
                    continue
                m = self.cell_prior(level, action).mean
                v = m * (1.0 - m)
                num += n * (s / n - m) ** 2 - v
                den += (n - 1.0) * v
            inv = num / den if den > 0 else 0.0
            k = 1.0 / inv - 1.0 if inv > 0 else math.inf
            fitted.append(min(max(k, min_strength), max_strength))
        self.backoff_strength = tuple(fitted) if fitted else self.backoff_strength
        return self.backoff_strength

    def strength_at(self, depth: int) -> float:
        """Back-off strength used at ``depth`` (>= 1)."""
        ks = self.backoff_strength
        return ks[min(depth, len(ks)) - 1]

    # -- reads -----------------------------------------------------------------------------
    def _chain(self, bucket: str, action: str, *, include_cell: bool) -> BetaPrior:
        """Walk the back-off chain; each observation is counted at exactly one level.

        Level ``j`` contributes the counts of its bucket *minus* those of the next, finer
        level on the path (the traffic outside the cell's branch), so the cell's own
        impressions are not counted again in its ancestors.
        """
        levels = bucket_levels(bucket)
        cum = [self._counts.get((level, action), (0.0, 0.0)) for level in levels]
        post = self.prior
        last = len(levels) - 1
        for depth in range(len(levels)):
            if depth > 0:
                post = BetaPrior.from_mean(post.mean, self.strength_at(depth))
            if depth == last and not include_cell:
                break
            n, s = cum[depth]
            if depth < last:
                n, s = n - cum[depth + 1][0], s - cum[depth + 1][1]
            n = max(n, 0.0)
            s = min(max(s, 0.0), n)
            if n > 0:
                post = BetaPrior(post.alpha + s, post.beta + (n - s))
        return post

    def lift(self, bucket: str, action: str, *, strength: float) -> float:
        """How much more often than the average action ``action`` succeeds in ``bucket``.

        A Gamma-Poisson estimate measured in *expected successes*: at each level of the
        back-off chain (coarsest first, each observation counted at one level as in
        :meth:`posterior`) the action's ``s`` successes are compared with the ``n * r``
        that an average action would have earned from its ``n`` impressions, ``r`` being
        the success rate of all actions at that level, and shrunk toward the coarser
        level's lift with ``strength`` pseudo expected successes::

            lift = (s + strength * lift_parent) / (n * r + strength)

        Starting from 1 at the root. So an action never shown, or shown where nothing has
        ever succeeded (``r = 0``: no feedback at all), has a lift of exactly 1: impressions
        alone never move it; only evidence about successes does.
        """
        if not (strength > 0 and math.isfinite(strength)):
            raise ValueError(f"strength must be finite and > 0 (got {strength})")
        levels = bucket_levels(bucket)
        cum = [self._counts.get((level, action), (0.0, 0.0)) for level in levels]
        last = len(levels) - 1
        value = 1.0
        for depth, level in enumerate(levels):
            n, s = cum[depth]
            if depth < last:
                n, s = n - cum[depth + 1][0], s - cum[depth + 1][1]
            n = max(n, 0.0)
            s = min(max(s, 0.0), n)
            if n <= 0:
                continue
            total_n, total_s = self._totals.get(level, (0.0, 0.0))
            rate = total_s / total_n if total_n > 0 else 0.0
            value = (s + strength * value) / (n * rate + strength)
        return value

    def posterior(self, bucket: str, action: str) -> BetaPrior:
        """Beta posterior of the cell after back-off through all coarser levels."""
        return self._chain(bucket, action, include_cell=True)

    def cell_prior(self, bucket: str, action: str) -> BetaPrior:
        """The cell's prior: what all other traffic says, before the cell's own counts."""
        return self._chain(bucket, action, include_cell=False)

    def mean(self, bucket: str, action: str) -> float:
        """Posterior mean success rate of ``action`` in ``bucket``."""
        return self.posterior(bucket, action).mean

    def means(self, bucket: str, actions: Sequence[str]) -> NDArray[np.float64]:
        """Posterior means of several actions in one bucket."""
        return np.array([self.mean(bucket, a) for a in actions], dtype=np.float64)

    def sample(self, bucket: str, action: str, rng: np.random.Generator) -> float:
        """One Thompson draw from the cell's posterior."""
        post = self.posterior(bucket, action)
        return float(rng.beta(post.alpha, post.beta))

    def sample_many(
        self,
        bucket: str,
        actions: Sequence[str],
        rng: np.random.Generator,
        size: int | None = None,
    ) -> NDArray[np.float64]:
        """Thompson draws for several actions: shape ``(len(actions),)`` or ``(size, A)``."""
        posts = [self.posterior(bucket, a) for a in actions]
        a = np.array([p.alpha for p in posts])
        b = np.array([p.beta for p in posts])
        shape = (len(posts),) if size is None else (size, len(posts))
        return rng.beta(a, b, size=shape)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(sorted(self._leaves))

    def __len__(self) -> int:
        return len(self._leaves)
