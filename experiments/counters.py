"""What an experiment records: counters per arm, and how events increment them.

:class:`VariantCounters` is the exact shape the store keeps per ``(experiment, arm)`` as a Redis
hash (see :meth:`VariantCounters.to_hash`). :class:`CounterLedger` is the in-memory reference of
how those counters are incremented event by event, and :func:`recompute_counters` rebuilds them
from raw exposure/outcome records; both follow the same attribution rule, so they agree.
The statistics report over these counters is :mod:`experiments.readout`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from experiments.models import EVENT_METRICS, EventMetric

DEFAULT_ATTRIBUTION_WINDOW_S = 24 * 3600


class VariantCounters(BaseModel):
    """Aggregates for one arm. ``users`` = distinct users with at least one exposure;
    ``converters[m]`` = distinct users with at least one attributed ``m`` event;
    ``events[m]`` = attributed ``m`` events; ``value_sum`` / ``value_sum_sq`` = sum over users
    of the user's attributed business value, and of its square."""

    model_config = ConfigDict(extra="forbid")

    users: Annotated[int, Field(ge=0)] = 0
    exposures: Annotated[int, Field(ge=0)] = 0
    converters: dict[EventMetric, Annotated[int, Field(ge=0)]] = {}
    events: dict[EventMetric, Annotated[int, Field(ge=0)]] = {}
    value_sum: float = 0.0
    value_sum_sq: Annotated[float, Field(ge=0)] = 0.0

    def to_hash(self) -> dict[str, str]:
        """Flat field -> value mapping for a Redis hash (``HINCRBY``/``HINCRBYFLOAT`` fields:
        ``users``, ``exposures``, ``converters:<m>``, ``events:<m>``, ``value_sum``,
        ``value_sum_sq``)."""
        out = {
            "users": str(self.users),
            "exposures": str(self.exposures),
            "value_sum": repr(self.value_sum),
            "value_sum_sq": repr(self.value_sum_sq),
        }
        for m, c in self.converters.items():
            out[f"converters:{m}"] = str(c)
        for m, c in self.events.items():
            out[f"events:{m}"] = str(c)
        return out

    @classmethod
    def from_hash(cls, raw: Mapping[Any, Any]) -> VariantCounters:
        """Inverse of :meth:`to_hash`; accepts bytes or str keys/values (``HGETALL`` output).
        Unknown fields are ignored so the store may keep extra bookkeeping in the hash."""

        def text(x: Any) -> str:
            return x.decode() if isinstance(x, bytes | bytearray) else str(x)

        data = {text(k): text(v) for k, v in raw.items()}
        converters: dict[EventMetric, int] = {}
        events: dict[EventMetric, int] = {}
        for m in EVENT_METRICS:
            if f"converters:{m}" in data:
                converters[m] = int(data[f"converters:{m}"])
            if f"events:{m}" in data:
                events[m] = int(data[f"events:{m}"])
        return cls(
            users=int(data.get("users", 0)),
            exposures=int(data.get("exposures", 0)),
            converters=converters,
            events=events,
            value_sum=float(data.get("value_sum", 0.0)),
            value_sum_sq=max(0.0, float(data.get("value_sum_sq", 0.0))),
        )

    def converters_of(self, metric: str) -> int:
        return next((v for k, v in self.converters.items() if k == metric), 0)

    def events_of(self, metric: str) -> int:
        return next((v for k, v in self.events.items() if k == metric), 0)

    def approx_equal(self, other: VariantCounters, rel: float = 1e-9) -> bool:
        """Equality with a tolerance on the float sums (summation order differs)."""
        ints_equal = (
            self.users == other.users
            and self.exposures == other.exposures
            and {k: v for k, v in self.converters.items() if v}
            == {k: v for k, v in other.converters.items() if v}
            and {k: v for k, v in self.events.items() if v}
            == {k: v for k, v in other.events.items() if v}
        )
        return (
            ints_equal
            and math.isclose(self.value_sum, other.value_sum, rel_tol=rel, abs_tol=1e-9)
            and math.isclose(self.value_sum_sq, other.value_sum_sq, rel_tol=rel, abs_tol=1e-9)
        )


def value_increment(previous_user_total: float, amount: float) -> tuple[float, float]:
    """Increments of (value_sum, value_sum_sq) when a user's running value total goes from
    ``previous_user_total`` to ``previous_user_total + amount``: (amount, 2*prev*amount + amount²).
    The store keeps each user's running total to apply this with ``HINCRBYFLOAT``."""
    return amount, 2 * previous_user_total * amount + amount * amount


# --------------------------------------------------------------------------- raw records


class ExposureRecord(BaseModel):
    """A decision served to a user while assigned to an arm of an experiment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str
    user_id: str
    experiment_id: str
    arm: str
    ts: float = Field(description="Unix time in seconds.")


class OutcomeRecord(BaseModel):
    """A user action reported back (click/accept/purchase), with optional business value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str
    type: EventMetric
    ts: float
    value: float = 0.0
    request_id: str | None = None


class CounterLedger:
    """In-memory, event-by-event counter maintenance: the reference for the Redis store.

    Attribution rule (same as :func:`recompute_counters`): an outcome goes to the exposure of
    this experiment whose ``request_id`` it carries; if it carries none, or one unknown to this
    experiment, to the user's most recent exposure at or before the outcome. Either way it is
    dropped when it happened more than ``attribution_window_s`` after that exposure. Events must
    be fed in time order (exposures first on ties).

    Redis equivalents (all per experiment): the request -> (arm, ts, user) and
    user -> last exposure lookups are keys with a TTL of the window; "user already counted" and
    "user already converted on m" are ``SADD``/``SET NX`` flags; the per-user value total is a
    float key or hash field feeding :func:`value_increment`.
    """

    def __init__(
        self, experiment_id: str, attribution_window_s: float = DEFAULT_ATTRIBUTION_WINDOW_S
    ) -> None:
        self.experiment_id = experiment_id
        self.window = attribution_window_s
        self.counters: dict[str, VariantCounters] = {}
        self._users: set[tuple[str, str]] = set()
        self._request: dict[str, tuple[str, float, str]] = {}
        self._last: dict[str, tuple[str, float]] = {}
        self._converted: set[tuple[str, str, str]] = set()
        self._value: dict[tuple[str, str], float] = {}

    def _arm(self, arm: str) -> VariantCounters:
        return self.counters.setdefault(arm, VariantCounters())

    def record_exposure(self, rec: ExposureRecord) -> None:
        if rec.experiment_id != self.experiment_id:
            return
        c = self._arm(rec.arm)
        c.exposures += 1
        if (rec.arm, rec.user_id) not in self._users:
            self._users.add((rec.arm, rec.user_id))
            c.users += 1
        self._request[rec.request_id] = (rec.arm, rec.ts, rec.user_id)
        self._last[rec.user_id] = (rec.arm, rec.ts)

    def record_outcome(self, rec: OutcomeRecord) -> str | None:
        """Apply one outcome; returns the arm it was attributed to, or None."""
        hit = _attribute(rec, self._request, self._last.get(rec.user_id), self.window)
        if hit is None:
            return None
        arm, user = hit
        c = self._arm(arm)
        c.events[rec.type] = c.events.get(rec.type, 0) + 1
        if (arm, user, rec.type) not in self._converted:
            self._converted.add((arm, user, rec.type))
            c.converters[rec.type] = c.converters.get(rec.type, 0) + 1
        if rec.value:
            prev = self._value.get((arm, user), 0.0)
            d_sum, d_sq = value_increment(prev, rec.value)
            self._value[(arm, user)] = prev + rec.value
            c.value_sum += d_sum
            c.value_sum_sq += d_sq
        return arm


def _attribute(
    rec: OutcomeRecord,
    by_request: Mapping[str, tuple[str, float, str]],
    latest: tuple[str, float] | None,
    window: float,
) -> tuple[str, str] | None:
    """(arm, user) credited with ``rec``, or None. A request-id match credits the user of that
    exposure (ids can change between the decision and the outcome, e.g. at login)."""
    if rec.request_id is not None and rec.request_id in by_request:
        arm, ts, user = by_request[rec.request_id]
    elif latest is not None and latest[1] <= rec.ts:
        (arm, ts), user = latest, rec.user_id
    else:
        return None
    return (arm, user) if rec.ts - ts <= window else None


def recompute_counters(
    exposures: Iterable[ExposureRecord],
    outcomes: Iterable[OutcomeRecord],
    attribution_window_s: float = DEFAULT_ATTRIBUTION_WINDOW_S,
    experiment_id: str | None = None,
) -> dict[str, VariantCounters]:
    """Counters per arm rebuilt from raw records (batch; order-independent).

    Only exposures of ``experiment_id`` are used; if it is None the exposures must all belong
    to a single experiment. Attribution as in :class:`CounterLedger`.
    """
    exps = list(exposures)
    ids = {e.experiment_id for e in exps}
    if experiment_id is None:
        if len(ids) > 1:
            raise ValueError(f"exposures of several experiments {sorted(ids)}: pass experiment_id")
    else:
        exps = [e for e in exps if e.experiment_id == experiment_id]

    counters: dict[str, VariantCounters] = {}
    users: dict[str, set[str]] = {}
    by_request: dict[str, tuple[str, float, str]] = {}
    by_user: dict[str, list[tuple[float, str]]] = {}
    for e in exps:
        c = counters.setdefault(e.arm, VariantCounters())
        c.exposures += 1
        users.setdefault(e.arm, set()).add(e.user_id)
        by_request[e.request_id] = (e.arm, e.ts, e.user_id)
        by_user.setdefault(e.user_id, []).append((e.ts, e.arm))
    for arm, members in users.items():
        counters[arm].users = len(members)
    for history in by_user.values():
        history.sort(key=lambda x: x[0])

    converted: dict[tuple[str, EventMetric], set[str]] = {}
    value: dict[tuple[str, str], float] = {}
    for o in outcomes:
        latest: tuple[str, float] | None = None
        for ts, arm in by_user.get(o.user_id, []):  # last exposure at or before the outcome
            if ts > o.ts:
                break
            latest = (arm, ts)
        hit = _attribute(o, by_request, latest, attribution_window_s)
        if hit is None:
            continue
        arm, user = hit
        c = counters[arm]
        c.events[o.type] = c.events.get(o.type, 0) + 1
        converted.setdefault((arm, o.type), set()).add(user)
        if o.value:
            value[(arm, user)] = value.get((arm, user), 0.0) + o.value
    for (arm, metric), who in converted.items():
        counters[arm].converters[metric] = len(who)
    for (arm, _user), total in value.items():
        counters[arm].value_sum += total
        counters[arm].value_sum_sq += total * total
    return counters
