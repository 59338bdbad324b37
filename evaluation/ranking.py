"""``waypoint evaluate ranking``: time-split HR@K and NDCG@K of history rankers.

Protocol (one run, every model on the same split):

* the log's item events are cut at one global time, the ``1 - test_fraction`` quantile of
  their timestamps; models learn from the events before the cut only;
* a *test user* has at least one positive event before the cut and, after it, a target
  event (purchase, accept or add-to-cart by default) on an item they had not touched before
  the cut; their first such item is the one to find (one held-out item per user);
* candidates are every known item (catalog and log) the user had not touched before the
  cut; each model ranks all of them;
* HR@K is 1 when the held-out item is in the top K; NDCG@K is ``1 / log2(rank + 1)`` for
  a hit at ``rank`` (1-based), else 0. Both are averaged over test users.

Models:

* ``popularity``: distinct users with a positive event on the item before the cut;
* ``waypoint``: the service's own scoring (:func:`recommender.scoring.score_action` with
  default :class:`~recommender.scoring.Weights`) on what the service would know at the cut:
  item and category affinities decayed like the user store, decayed popularity like the
  runtime, and the ``similar`` term from co-occurrence neighbours learned on the training
  events (:mod:`recommender.history`). There is no query, page or intent offline, so those
  terms are 0 for every candidate;
* ``als``: implicit ALS (:mod:`recommender.factors`) on the training events' summed event
  weights, the reference;
* ``waypoint+als``: Waypoint's scoring with the ALS model active (co-occurrence and
  factors blended in the ``similar`` term), as the service does when a ranker is active.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from context.decay import Decay
from domain.actions import Action, category_levels
from domain.events import POPULARITY_WEIGHTS, EventWeights
from evaluation.ranking_report import (
    ModelResult,
    RankingReport,
    hit_rate_at_k,
    ndcg_at_k,
    rank_of,
    top_k,
)
from recommender.catalog import CatalogIndex
from recommender.cooccurrence import CooccurrenceConfig, CooccurrenceModel
from recommender.factors import ImplicitALS, preference_matrix
from recommender.history import similar_items
from recommender.interactions import Interaction, read_interactions
from recommender.scoring import ScoringContext, Weights, score_action

DAY = 86_400.0
MODELS = ("popularity", "waypoint", "als", "waypoint+als")


# --- protocol -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankingConfig:
    k: int = 10
    test_fraction: float = 0.2
    target_types: tuple[str, ...] = ("purchase", "accept", "add_to_cart")
    max_users: int | None = None
    seed: int = 0
    affinity_half_life_days: float = 14.0
    als: dict[str, Any] = field(
        default_factory=lambda: {"n_factors": 32, "regularization": 10.0, "alpha": 5.0}
    )
    weights: Weights = field(default_factory=Weights)
    cooccurrence: CooccurrenceConfig = field(default_factory=CooccurrenceConfig)
    models: tuple[str, ...] = MODELS


@dataclass
class Split:
    cut: float
    train: list[Interaction]
    #: user -> held-out item
    test: dict[str, str]
    items: list[str]


def time_split(
    interactions: Sequence[Interaction], config: RankingConfig, extra_items: Iterable[str] = ()
) -> Split:
    if not interactions:
        raise ValueError("the event log has no item events")
    times = np.array([i.ts for i in interactions])
    cut = float(np.quantile(times, 1.0 - config.test_fraction))
    train = [i for i in interactions if i.ts < cut]
    weights = EventWeights()
    touched: dict[str, set[str]] = defaultdict(set)
    positive: set[str] = set()
    for it in train:
        touched[it.user_id].add(it.item_id)
        if weights.of(it.type) > 0:
            positive.add(it.user_id)
    test: dict[str, str] = {}
    targets = set(config.target_types)
    for it in sorted((i for i in interactions if i.ts >= cut), key=lambda i: i.ts):
        if (
            it.type in targets
            and it.user_id in positive
            and it.user_id not in test
            and it.item_id not in touched[it.user_id]
        ):
            test[it.user_id] = it.item_id
    if config.max_users is not None and len(test) > config.max_users:
        rng = np.random.default_rng(config.seed)
        keep = rng.choice(sorted(test), config.max_users, replace=False)
        test = {u: test[u] for u in sorted(keep)}
    items = sorted({i.item_id for i in interactions} | set(extra_items))
    return Split(cut=cut, train=train, test=test, items=items)


def placeholder(item_id: str) -> Action:
    """A catalog entry for an item the catalog does not know (category ``unknown``)."""
    return Action(id=item_id, kind="product", title={"en": item_id}, category="unknown")


@dataclass
class History:
    """What the service would know about each user at the cut."""

    item_affinity: dict[str, dict[str, float]]
    category_affinity: dict[str, dict[str, float]]
    touched: dict[str, set[str]]
    popularity: dict[str, float]


def history_at(
    train: Sequence[Interaction], catalog: CatalogIndex, cut: float, half_life_days: float
) -> History:
    weights = EventWeights()
    affinity = Decay(half_life_days * DAY)
    pop_decay = Decay(7 * DAY)
    f, pf = affinity.factor(cut), pop_decay.factor(cut)
    items: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    cats: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    touched: dict[str, set[str]] = defaultdict(set)
    pop: dict[str, float] = defaultdict(float)
    for it in train:
        touched[it.user_id].add(it.item_id)
        w = weights.of(it.type)
        if w:
            v = affinity.encode(w, it.ts) * f
            items[it.user_id][it.item_id] += v
            action = catalog.get(it.item_id)
            if action is not None:
                for level in category_levels(action.category):
                    cats[it.user_id][level] += v
        if it.type in POPULARITY_WEIGHTS:
            pop[it.item_id] += pop_decay.encode(POPULARITY_WEIGHTS[it.type], it.ts) * pf
    top = max(pop.values(), default=0.0)
    popularity = {k: max(0.0, v / top) for k, v in pop.items()} if top > 0 else {}
    return History(
        item_affinity={u: dict(v) for u, v in items.items()},
        category_affinity={u: dict(v) for u, v in cats.items()},
        touched=dict(touched),
        popularity=popularity,
    )


def _waypoint_ranks(
    split: Split,
    hist: History,
    catalog: CatalogIndex,
    neighbours: CooccurrenceModel,
    factors: ImplicitALS | None,
    config: RankingConfig,
) -> list[float]:
    ranks: list[float] = []
    for user, target in split.test.items():
        aff = hist.item_affinity.get(user, {})
        sim = similar_items(aff, neighbours, factors)
        ctx = ScoringContext(
            category_affinity=hist.category_affinity.get(user, {}),
            item_affinity=aff,
            popularity=hist.popularity,
            similar=sim.scores,
        )
        seen = hist.touched.get(user, set())
        scores = {
            i: score_action(a, ctx, catalog, config.weights).score
            for i, a in catalog.actions.items()
            if i not in seen
        }
        ranks.append(rank_of(target, top_k(scores, scores, config.k)))
    return ranks


def evaluate_ranking(
    events: str | Path,
    config: RankingConfig | None = None,
    *,
    actions: Sequence[Action] = (),
) -> RankingReport:
    started = time.perf_counter()
    config = config or RankingConfig()
    interactions = read_interactions(events)
    return evaluate_interactions(
        interactions, config, actions=actions, source=str(events), started=started
    )


def evaluate_interactions(
    interactions: Sequence[Interaction],
    config: RankingConfig,
    *,
    actions: Sequence[Action] = (),
    source: str = "input",
    started: float | None = None,
) -> RankingReport:
    started = time.perf_counter() if started is None else started
    known = {a.id: a for a in actions}
    split = time_split(interactions, config, known)
    if not split.test:
        raise ValueError(
            "no test users: nobody has a target event on a new item after the time cut "
            "(try a larger --test-fraction or other --target-types)"
        )
    catalog = CatalogIndex.build([known.get(i) or placeholder(i) for i in split.items], version=0)
    hist = history_at(split.train, catalog, split.cut, config.affinity_half_life_days)
    results: dict[str, ModelResult] = {}

    def record(name: str, ranks: Sequence[float], t0: float) -> None:
        r = np.asarray(ranks, dtype=np.float64)
        hits = (r <= config.k).astype(np.float64)
        gains = np.where(r <= config.k, 1.0 / np.log2(np.minimum(r, 1e9) + 1.0), 0.0)
        n = max(len(r), 1)
        results[name] = ModelResult(
            hr=hit_rate_at_k(ranks, config.k),
            ndcg=ndcg_at_k(ranks, config.k),
            seconds=time.perf_counter() - t0,
            hr_se=float(hits.std(ddof=1) / math.sqrt(n)) if len(r) > 1 else 0.0,
            ndcg_se=float(gains.std(ddof=1) / math.sqrt(n)) if len(r) > 1 else 0.0,
            hits=hits,
            gains=gains,
        )

    if "popularity" in config.models:
        t0 = time.perf_counter()
        users_per_item: dict[str, set[str]] = defaultdict(set)
        weights = EventWeights()
        for it in split.train:
            if weights.of(it.type) > 0:
                users_per_item[it.item_id].add(it.user_id)
        pop = {i: float(len(u)) for i, u in users_per_item.items()}
        ranks = []
        for user, target in split.test.items():
            seen = hist.touched.get(user, set())
            ranks.append(
                rank_of(target, top_k(pop, (i for i in split.items if i not in seen), config.k))
            )
        record("popularity", ranks, t0)

    als: ImplicitALS | None = None
    if "als" in config.models or "waypoint+als" in config.models:
        t0 = time.perf_counter()
        matrix, users, cols = preference_matrix(split.train, items=split.items)
        als = ImplicitALS(**config.als, random_state=config.seed).fit(matrix, item_ids=cols)
        fit_seconds = time.perf_counter() - t0
        if "als" in config.models:
            row = {u: r for r, u in enumerate(users)}
            ranks = []
            for user, target in split.test.items():
                seen = hist.touched.get(user, set())
                s = als.item_factors_ @ als.user_factors_[row[user]]
                scores = {cols[j]: float(s[j]) for j in range(len(cols))}
                ranks.append(
                    rank_of(target, top_k(scores, (i for i in cols if i not in seen), config.k))
                )
            record("als", ranks, t0)

    if "waypoint" in config.models or "waypoint+als" in config.models:
        t0 = time.perf_counter()
        neighbours = CooccurrenceModel(config.cooccurrence).fit(split.train, now=split.cut)
        fit_seconds_cooc = time.perf_counter() - t0
        if "waypoint" in config.models:
            record("waypoint", _waypoint_ranks(split, hist, catalog, neighbours, None, config), t0)
        if "waypoint+als" in config.models and als is not None:
            t1 = time.perf_counter() - fit_seconds - fit_seconds_cooc
            record(
                "waypoint+als",
                _waypoint_ranks(split, hist, catalog, neighbours, als, config),
                t1,
            )

    users_all = {i.user_id for i in interactions}
    return RankingReport(
        events=source,
        n_events=len(interactions),
        n_users=len(users_all),
        n_items=len(split.items),
        n_train_events=len(split.train),
        n_test_users=len(split.test),
        cut=split.cut,
        k=config.k,
        results=results,
        seconds=time.perf_counter() - started,
    )
