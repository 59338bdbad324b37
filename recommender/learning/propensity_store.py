"""Online propensity learning: counters in Redis, a snapshot model in memory.

What is learned: the success rate (click, accept or purchase) of each action in a
**context bucket** ``intent=<intent>|channel=<channel>|segment=<segment>``, coarsest
feature first, so :class:`recommender.learning.propensity.PropensityModel` backs off from a
sparse cell to ``intent|channel``, then ``intent``, then the action's global rate.
``intent`` is the resolved intent (``none`` when there is none), ``segment`` the first
segment of the customer's profile (CRM order; ``none`` when there is none).

* **Impressions** are counted when an answer is served, in the decision's write
  pipeline: ``HINCRBY <prefix>:propensity:n "<bucket>\\t<action>" 1`` for each shown
  action (in one small script on that hash). The same write remembers, per user, the
  latest impression of each shown action (``UserKeys.served``: request id, bucket, time).
* **Successes** are counted by :class:`PropensityObserver` when a click, accept or
  purchase event arrives: it atomically claims the user's latest impression of the item
  (a small Lua script on the user's slot: HGET + HDEL, so one impression earns at most
  one success however many positive events follow) and, if that impression is at most
  :data:`ATTRIBUTION_WINDOW_S` old, increments ``<prefix>:propensity:s`` for its bucket.
  Positive events without a served impression (e.g. organic browsing) do not count:
  they say nothing about what *showing* the action does.
* The in-memory model is rebuilt from the counters by the runtime every
  ``every_s`` seconds (not per request) and swapped into the live state whole.

What arbitration uses is not the raw rate but a bounded **lift**
(:meth:`Propensities.multiplier`): how much more often than the average action this
action succeeds in the bucket, measured in expected successes and shrunk toward 1 with
:data:`LIFT_STRENGTH` pseudo expected successes
(:meth:`recommender.learning.propensity.PropensityModel.lift`), then clamped into
:data:`LIFT_RANGE`. So:

* impressions alone never move it: without any success in the bucket an action's lift is
  exactly 1, and answers without feedback do not drift with traffic;
* an action never shown (or shown a little) gets the average, 1 -- no advantage over a
  well-tried one;
* it adjusts relevance (at most a factor 2 either way) but cannot override it.

The posterior mean rate (:meth:`Propensities.mean`) is still reported in the decision log
(``rate``) for off-policy evaluation; its root prior is refitted by empirical Bayes only
once :data:`REFIT_MIN_SUCCESSES` successes exist, and never with less strength than
:data:`LIFT_STRENGTH` pseudo-successes, so that impressions without successes cannot
drive it toward 0.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from context.bulk import Command, Script, take_fields
from context.events import Op
from domain.events import Event
from domain.keys import PropensityKeys, UserKeys
from recommender.learning.beta_prior import BetaPrior
from recommender.learning.propensity import PropensityModel, bucket_key

log = logging.getLogger("waypoint.propensity")

__all__ = [
    "ATTRIBUTION_WINDOW_S",
    "LIFT_RANGE",
    "LIFT_STRENGTH",
    "SUCCESS_EVENTS",
    "Propensities",
    "PropensityObserver",
    "PropensityStore",
    "context_bucket",
]

SUCCESS_EVENTS = frozenset({"click", "accept", "purchase"})
ATTRIBUTION_WINDOW_S = 7 * 86_400
#: the cold-start prior: a 5% success rate worth 20 impressions
DEFAULT_PRIOR = BetaPrior(1.0, 19.0)
DEFAULT_BACKOFF = 20.0
#: past this many impressions the root prior is fitted to the data (empirical Bayes) ...
REFIT_AFTER = 1_000
#: ... provided this many successes back it (without feedback there is nothing to fit)
REFIT_MIN_SUCCESSES = 20
#: the lift's prior, in pseudo expected successes (an action must miss or beat about this
#: many expected successes before its multiplier moves halfway)
LIFT_STRENGTH = 5.0
#: bounds of the arbitration multiplier: evidence adjusts a priority, never overrides it
LIFT_RANGE = (0.5, 2.0)

# One HINCRBY by 1 per field of the one hash KEYS[1] (a single round of parsing instead of
# one command per shown action).
INCR_FIELDS_LUA = """
for i = 1, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end
return #ARGV
"""

_INCR_FIELDS = Script(INCR_FIELDS_LUA)

CLAIM_LUA = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then redis.call('HDEL', KEYS[1], ARGV[1]) end
return v
"""


def _clean(value: str) -> str:
    return value.replace("|", "/").replace("\t", " ") or "none"


def context_bucket(intent: str | None, channel: str, segments: Sequence[str]) -> str:
    """``intent=..|channel=..|segment=..`` (see the module docstring)."""
    return bucket_key(
        [
            ("intent", _clean(intent or "none")),
            ("channel", _clean(channel)),
            ("segment", _clean(segments[0]) if segments else "none"),
        ]
    )


#: entries a snapshot's cache holds before it starts again empty
_CACHE_MAX = 200_000


def _cached(
    cache: dict[tuple[str, str], float], key: tuple[str, str], compute: Callable[[], float]
) -> float:
    """``cache[key]``, computed (and stored) on a miss; a full cache is emptied first."""
    value = cache.get(key)
    if value is None:
        if len(cache) > _CACHE_MAX:
            cache.clear()
        value = compute()
        cache[key] = value
    return value


@dataclass
class Propensities:
    """An immutable model snapshot with a per-snapshot cache of posterior means."""

    model: PropensityModel = field(
        default_factory=lambda: PropensityModel(DEFAULT_PRIOR, backoff_strength=DEFAULT_BACKOFF)
    )
    version: str = "empty"
    _cache: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)
    _lifts: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)
    _positions: tuple[Sequence[str], NDArray[np.int64]] | None = field(default=None, repr=False)

    def mean(self, bucket: str, action: str) -> float:
        """Posterior mean success rate (logged for off-policy evaluation)."""
        return _cached(self._cache, (bucket, action), lambda: self.model.mean(bucket, action))

    @functools.cached_property
    def any_success(self) -> bool:
        """Whether any action has succeeded anywhere; without, every lift is exactly 1."""
        return any(s > 0 for _, s in self.model.counts().values())

    @functools.cached_property
    def _counted(self) -> frozenset[str]:
        return self.model.counted_actions()

    def means(self, bucket: str, actions: Sequence[str]) -> list[float]:
        """:meth:`mean` of each of ``actions``: the cache read inline (a decision asks for
        dozens to hundreds at once), and the actions without any counters (most of a large
        catalog) given the one value they all share in ``bucket``, computed once."""
        return self._each(self._cache, self.mean, bucket, actions)

    def multipliers(self, bucket: str, actions: Sequence[str]) -> NDArray[np.float64]:
        """:meth:`multiplier` of each of ``actions`` (as :meth:`means` reads them)."""
        if not self.any_success:
            return np.ones(len(actions))
        return np.asarray(self._each(self._lifts, self.multiplier, bucket, actions))

    def multipliers_at(
        self,
        bucket: str,
        ids: Sequence[str],
        position: Mapping[str, int],
        positions: NDArray[np.integer[Any]],
    ) -> NDArray[np.float64]:
        """:meth:`multipliers` of the actions at catalog ``positions`` (``ids``: the
        catalog's ids by position, ``position`` the reverse). Only the actions with
        counters are looked up one by one; the others share their bucket's value, so a
        large candidate set of a large catalog costs array operations, not an id per
        candidate."""
        n = len(positions)
        if not self.any_success or n == 0:
            return np.ones(n)
        counted = self._counted_positions(ids, position)
        if len(counted):
            at = np.minimum(np.searchsorted(counted, positions), len(counted) - 1)
            hit = counted[at] == positions
        else:
            hit = np.zeros(n, np.bool_)
        rows = np.flatnonzero(hit).tolist()
        if len(rows) < n:
            first = int(np.argmin(hit))  # an action without counters
            out = np.full(n, self.multiplier(bucket, ids[int(positions[first])]))
        else:
            out = np.empty(n)
        if rows:
            picked = [ids[p] for p in positions[rows].tolist()]
            out[rows] = self._each(self._lifts, self.multiplier, bucket, picked)
        return out

    def _counted_positions(
        self, ids: Sequence[str], position: Mapping[str, int]
    ) -> NDArray[np.int64]:
        """Sorted positions of the actions with counters in the catalog whose ids are
        ``ids`` (remembered for the last catalog: a snapshot lives ten seconds)."""
        known = self._positions
        if known is not None and known[0] is ids:
            return known[1]
        found = [position[a] for a in self._counted if a in position]
        where = np.sort(np.asarray(found, np.int64))
        self._positions = (ids, where)
        return where

    def _each(
        self,
        cache: Mapping[tuple[str, str], float],
        compute: Callable[[str, str], float],
        bucket: str,
        actions: Sequence[str],
    ) -> list[float]:
        get, counted = cache.get, self._counted
        out: list[float] = []
        unseen: float | None = None
        for a in actions:
            value = get((bucket, a))
            if value is None:
                if a in counted:
                    value = compute(bucket, a)
                else:
                    if unseen is None:
                        unseen = compute(bucket, a)
                    value = unseen
            out.append(value)
        return out

    def multiplier(self, bucket: str, action: str) -> float:
        """The arbitration term: the action's lift, clamped into :data:`LIFT_RANGE`."""

        def clamped() -> float:
            lift = self.model.lift(bucket, action, strength=LIFT_STRENGTH)
            return min(max(lift, LIFT_RANGE[0]), LIFT_RANGE[1])

        return _cached(self._lifts, (bucket, action), clamped)

    def impressions(self, bucket: str, action: str) -> float:
        """Impressions seen in exactly this cell (the answer's ``confidence`` uses it)."""
        return self.model.cell(bucket, action)[0]


def _field(bucket: str, action: str) -> str:
    return f"{bucket}\t{action}"


class PropensityStore:
    def __init__(
        self,
        redis: Any,
        *,
        prefix: str,
        prior: BetaPrior = DEFAULT_PRIOR,
        backoff_strength: float = DEFAULT_BACKOFF,
        every_s: float = 10.0,
    ) -> None:
        self.redis = redis
        keys = PropensityKeys(prefix)
        self.impressions_key = keys.impressions
        self.successes_key = keys.successes
        self.prior = prior
        self.backoff_strength = backoff_strength
        #: how often the runtime rebuilds the in-memory model
        self.every_s = every_s
        self._claim = redis.register_script(CLAIM_LUA)

    def count_impressions(self, bucket: str, shown: Sequence[str]) -> tuple[Command, Script]:
        """The command that adds the impression counters (one script call on the global
        counters hash), and the script it calls."""
        fields = [_field(bucket, action) for action in shown]
        return _INCR_FIELDS.command([self.impressions_key], fields), _INCR_FIELDS

    @staticmethod
    def attribution_ops(request_id: str, bucket: str, shown: Iterable[str], now: float) -> list[Op]:
        """The user's attribution records of ``shown``, as operations of the decision's
        write on the user's slot (``UserKeys.served``: latest impression per action)."""
        record = json.dumps({"r": request_id, "b": bucket, "t": now})
        ops: list[Op] = [("hset", "served", action, record) for action in shown]
        if ops:
            ops.append(("expire", "served", str(ATTRIBUTION_WINDOW_S), ""))
        return ops

    async def claim(self, keys: UserKeys, action: str, now: float) -> dict[str, Any] | None:
        """Take the user's latest impression of ``action`` (once), if recent enough."""
        return _recent(await self._claim(keys=[keys.served], args=[action]), now)

    async def claim_many(
        self, wanted: Sequence[tuple[UserKeys, str]], now: float
    ) -> list[dict[str, Any] | None]:
        """:meth:`claim` for many (user, action) pairs, in order, in one round trip."""
        raw = await take_fields(self.redis, [(keys.served, action) for keys, action in wanted])
        return [_recent(r, now) for r in raw]

    async def add_success(self, bucket: str, action: str) -> None:
        await self.redis.hincrby(self.successes_key, _field(bucket, action), 1)

    async def load(self) -> Propensities:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.impressions_key)
            pipe.hgetall(self.successes_key)
            n_raw, s_raw = await pipe.execute()
        counts: dict[tuple[str, str], tuple[float, float]] = {}
        successes = {_text(k): float(v) for k, v in s_raw.items()}
        total_n = total_s = 0.0
        for k, v in n_raw.items():
            name = _text(k)
            bucket, _, action = name.partition("\t")
            n = float(v)
            s = min(successes.get(name, 0.0), n)
            if n > 0 and math.isfinite(n):
                counts[(bucket, action)] = (n, s)
                total_n += n
                total_s += s
        model = PropensityModel.from_counts(
            counts, self.prior, backoff_strength=self.backoff_strength
        )
        if total_n >= REFIT_AFTER and total_s >= REFIT_MIN_SUCCESSES:
            # at least LIFT_STRENGTH pseudo-successes: strength * pooled rate >= LIFT_STRENGTH
            floor = max(self.prior.strength, LIFT_STRENGTH * total_n / total_s)
            model.fit_prior(min_strength=floor, max_strength=max(1_000.0, floor))
        return Propensities(model=model, version=f"n{int(total_n)}-s{int(total_s)}")


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class OutcomeSink(Protocol):
    """Where attributed outcomes are also written (the decision log); optional."""

    async def outcome(self, record: dict[str, Any]) -> None: ...


@dataclass(eq=False)
class PropensityObserver:
    """An ``EventObserver``: turns positive events into propensity successes."""

    store: PropensityStore
    _: KW_ONLY
    key_prefix: str
    sink: OutcomeSink | None = None

    async def on_events(self, accepted: Sequence[Event], now: float) -> None:
        wanted = [e for e in accepted if e.type in SUCCESS_EVENTS and e.item_id]
        if not wanted:
            return
        claims = await self.store.claim_many(
            [(UserKeys(self.key_prefix, e.user_id), str(e.item_id)) for e in wanted], now
        )
        for e, served in zip(wanted, claims, strict=True):
            if served is None or not e.item_id:
                continue
            await self.store.add_success(str(served["b"]), e.item_id)
            if self.sink is not None:
                await self.sink.outcome(
                    {
                        "type": "outcome",
                        "request_id": served.get("r"),
                        "action": e.item_id,
                        "event": e.type,
                        "ts": e.timestamp(now),
                    }
                )


def _recent(raw: bytes | str | None, now: float) -> dict[str, Any] | None:
    if raw is None:
        return None
    served: dict[str, Any] = json.loads(raw)
    if now - float(served.get("t", 0.0)) > ATTRIBUTION_WINDOW_S:
        return None
    return served
