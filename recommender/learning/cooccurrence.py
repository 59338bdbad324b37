"""Item-to-item co-occurrence from events: "customers who chose X also chose Y".

One rule turns an event into pair counts, and both learners use it, so they agree:

* :meth:`CooccurrenceModel.fit` replays an event log (offline, evaluation);
* :class:`~recommender.learning.cooccurrence_store.CooccurrenceObserver` applies it
  online to counters in Redis as events arrive (``cooccurrence_store.py``).

The rule (:func:`pair_updates`): a new event of weight ``w`` on item ``j`` (the service's
:class:`~domain.events.EventWeights`: purchase 5 > accept 4 > add_to_cart 3 > click 2 >
view 1; dismiss -2, decline -3) pairs with every *anchor*: an item ``i`` the same user
engaged with positively in the window before it (the sum of the user's event weights on
``i`` in the window, capped at 5, must be positive). The pair gets
``sign(w) * sqrt(|w| * anchor(i))``, added to ``i -> j``: pairs point forward in time
("chose i, then chose j"), which predicts the next choice better than symmetric counts on
the generated log (``docs/ranking.md``). A decline or dismissal of ``j`` by someone who
liked ``i`` subtracts from ``i -> j``. Every positive event also adds ``w`` to the item's
*mass*. All additions decay with a half-life (the :mod:`context.decay` trick, so
``HINCRBYFLOAT`` is enough online).

Similarity normalises the count by the two masses, ``c(i, j) / (m(i)**a * m(j)**(1 - a) +
shrink)``, so that best-sellers do not become everybody's neighbour; only the ``top_k``
strongest positive neighbours per item are kept in memory.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from context.decay import Decay
from domain.events import EventWeights
from recommender.learning.interactions import Interaction

log = logging.getLogger("waypoint.cooccurrence")

DAY = 86_400.0
#: an anchor never counts for more than a purchase, however often it was viewed
ANCHOR_CAP = 5.0

#: (source item, neighbour item, weight)
PairUpdate = tuple[str, str, float]


@dataclass(frozen=True)
class CooccurrenceConfig:
    half_life_days: float = 60.0
    #: events further apart than this are not paired
    window_days: float = 30.0
    #: at most this many of the user's previous events are considered
    max_history: int = 50
    #: neighbours kept per item
    top_k: int = 50
    #: exponent of the source's mass in the normalisation (0.5: cosine-like)
    alpha: float = 0.5
    #: added to the normaliser; damps pairs seen once between rarely chosen items
    shrink: float = 2.0

    @property
    def decay(self) -> Decay:
        return Decay(self.half_life_days * DAY)


#: (time, item id, event type): what the rule reads of an earlier event
Entry = tuple[float, str, str]


def anchors(
    prior: Sequence[Interaction], at: float, weights: EventWeights, config: CooccurrenceConfig
) -> dict[str, float]:
    """The user's positively engaged items in the window before ``at`` (oldest first in)."""
    entries = [(it.ts, it.item_id, it.type) for it in prior[-config.max_history :]]
    return anchor_strengths(entries, at, weight_table(weights), config)


def weight_table(weights: EventWeights) -> dict[str, float]:
    """``weights`` as a dict (a lookup per earlier event is the learner's inner loop)."""
    return {name: float(w) for name, w in weights.by_type.items()}


def anchor_strengths(
    prior: Sequence[Entry], at: float, table: Mapping[str, float], config: CooccurrenceConfig
) -> dict[str, float]:
    """:func:`anchors` over plain entries (oldest first): the rule both learners use."""
    start = at - config.window_days * DAY
    totals: dict[str, float] = {}
    for ts, item, kind in prior[-config.max_history :]:
        if start <= ts <= at:
            totals[item] = totals.get(item, 0.0) + table.get(kind, 0.0)
    return {i: min(ANCHOR_CAP, w) for i, w in totals.items() if w > 0}


def pair_updates(
    prior: Sequence[Interaction],
    event: Interaction,
    weights: EventWeights,
    config: CooccurrenceConfig,
) -> list[PairUpdate]:
    """What one event adds to the pair counts, given the user's earlier events."""
    entries = [(it.ts, it.item_id, it.type) for it in prior[-config.max_history :]]
    return entry_pair_updates(
        entries, (event.ts, event.item_id, event.type), weight_table(weights), config
    )


def entry_pair_updates(
    prior: Sequence[Entry], event: Entry, table: Mapping[str, float], config: CooccurrenceConfig
) -> list[PairUpdate]:
    """:func:`pair_updates` over plain entries."""
    at, target, kind = event
    w = table.get(kind, 0.0)
    if w == 0:
        return []
    return [
        (item, target, math.copysign(math.sqrt(abs(w) * strength), w))
        for item, strength in anchor_strengths(prior, at, table, config).items()
        if item != target
    ]


def add_entry_pairs(
    pairs: Mapping[str, dict[str, float]],
    prior: Sequence[Entry],
    event: Entry,
    table: Mapping[str, float],
    config: CooccurrenceConfig,
    scale: float,
) -> None:
    """Add :func:`entry_pair_updates` times ``scale`` to ``pairs[source][target]`` (a
    mapping that makes missing rows and fields), without building the list: the online
    learner's inner loop, thousands of pairs per batch."""
    at, target, kind = event
    w = table.get(kind, 0.0)
    if w == 0:
        return
    size = abs(w)
    sqrt, copysign = math.sqrt, math.copysign
    for item, strength in anchor_strengths(prior, at, table, config).items():
        if item != target:
            pairs[item][target] += copysign(sqrt(size * strength), w) * scale


@dataclass
class CooccurrenceModel:
    """Pair counts and masses (decayed to one moment) and the top-K neighbour table."""

    config: CooccurrenceConfig = field(default_factory=CooccurrenceConfig)
    weights: EventWeights = field(default_factory=EventWeights)
    #: source -> ((neighbour, similarity), ...), strongest first
    neighbours_: dict[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    n_pairs_: int = 0

    def fit(
        self, interactions: Iterable[Interaction], now: float | None = None
    ) -> CooccurrenceModel:
        """Replay a log (any order; sorted per user by time) and build the table at ``now``."""
        by_user: dict[str, list[Interaction]] = defaultdict(list)
        for it in interactions:
            by_user[it.user_id].append(it)
        latest = max((it.ts for seq in by_user.values() for it in seq), default=time.time())
        now = latest if now is None else now
        decay = self.config.decay
        f = decay.factor(now)
        counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        mass: dict[str, float] = defaultdict(float)
        for seq in by_user.values():
            seq.sort(key=lambda it: it.ts)
            depth = self.config.max_history
            for n, it in enumerate(seq):
                prior = seq[max(0, n - depth) : n]
                for src, dst, g in pair_updates(prior, it, self.weights, self.config):
                    counts[src][dst] += decay.encode(g, it.ts) * f
                w = self.weights.of(it.type)
                if w > 0:
                    mass[it.item_id] += decay.encode(w, it.ts) * f
        return self._build(counts, mass)

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, Mapping[str, float]],
        mass: Mapping[str, float],
        config: CooccurrenceConfig | None = None,
    ) -> CooccurrenceModel:
        model = cls(config=config or CooccurrenceConfig())
        return model._build(counts, mass)

    def _build(
        self, counts: Mapping[str, Mapping[str, float]], mass: Mapping[str, float]
    ) -> CooccurrenceModel:
        a, shrink, k = self.config.alpha, self.config.shrink, self.config.top_k
        table: dict[str, tuple[tuple[str, float], ...]] = {}
        pairs = 0
        # each item's mass to the power the normaliser needs, once (not once per pair)
        m_dst = {item: max(m, 0.0) ** (1 - a) for item, m in mass.items()}
        zero = 0.0 ** (1 - a)  # an item without mass
        for src, row in counts.items():
            m_src = max(mass.get(src, 0.0), 0.0) ** a
            # (similarity, neighbour): strongest first, ties by the larger id
            sims = [
                (c / (m_src * m_dst.get(dst, zero) + shrink), dst)
                for dst, c in row.items()
                if c > 0 and dst != src
            ]
            top = heapq.nlargest(k, sims) if len(sims) > k else sorted(sims, reverse=True)
            if top:
                table[src] = tuple((dst, sim) for sim, dst in top)
                pairs += len(top)
        self.neighbours_ = table
        self.n_pairs_ = pairs
        return self

    def __len__(self) -> int:
        return len(self.neighbours_)

    def similar_with_sources(
        self, user_items: Mapping[str, float]
    ) -> tuple[dict[str, float], dict[str, str]]:
        """Scores of items near the user's positively weighted items, and for each the
        source item that contributed most."""
        scores: dict[str, float] = defaultdict(float)
        best: dict[str, tuple[float, str]] = {}
        for src, weight in user_items.items():
            if weight <= 0:
                continue
            for dst, sim in self.neighbours_.get(src, ()):
                c = weight * sim
                scores[dst] += c
                if c > best.get(dst, (0.0, ""))[0]:
                    best[dst] = (c, src)
        return dict(scores), {dst: src for dst, (_, src) in best.items()}

    def similar_to(self, user_items: Mapping[str, float]) -> dict[str, float]:
        return self.similar_with_sources(user_items)[0]
