"""Redis persistence of experiments: specs, audit trail, per-arm counters, raw records, and the
per-user sticky/attribution data.

Key scheme (``<p>`` is the service's key prefix, ``wp`` by default)::

    <p>:experiments:{cfg}:version          string  bumped on every change (ExperimentSource)
    <p>:experiments:{cfg}:specs            hash    experiment id -> Experiment JSON
    <p>:experiments:{cfg}:audit:<id>       list    audit entries (JSON), oldest first, capped
    <p>:experiments:{x:<id>}:counters:<arm>  hash  VariantCounters.to_hash() fields
    <p>:experiments:{x:<id>}:log           stream  raw exposure/outcome records, capped
    <p>:{u:<user>}:exp                     hash    the user's sticky assignments and attribution

The configuration keys share the hash tag ``{cfg}`` so one Lua script can check the global
version, write the spec and append the audit entry atomically (also on Redis Cluster). The data
keys of one experiment share ``{x:<id>}``: a results read is one round trip to one node. None of
them carry a user hash tag; what is per user lives in the user's own ``exp`` hash
(:attr:`domain.keys.UserKeys.experiments`), read with the rest of the user in one round trip.

Fields of the user's ``exp`` hash (namespaces and ids are slugs, so they never contain ``:``):

* ``<namespace>`` -> ``{"experiment_id", "arm", "ts"}``: the sticky assignment;
* ``x:<experiment>`` -> ``[[request_id, arm, ts], ...]``: the user's recent exposures (at most
  ``recent_per_user``, none older than the attribution window), for attribution;
* ``c:<experiment>:<arm>:<metric>`` -> ``1``: the user already converted on ``metric``;
* ``v:<experiment>:<arm>`` -> running total of the user's attributed value.
* ``p:id`` -> the user's pseudonym (:data:`context.store.PSEUDONYM_FIELD`): the raw log's
  records carry it as their ``user_id``, never the user id itself, so erasing the user (which
  deletes this hash) leaves records nobody can link back to them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from domain.keys import ExperimentKeys, UserKeys
from experiments.counters import (
    DEFAULT_ATTRIBUTION_WINDOW_S,
    ExposureRecord,
    OutcomeRecord,
    VariantCounters,
    recompute_counters,
)
from experiments.lifecycle import Experiment
from experiments.models import HOLDOUT

log = logging.getLogger("waypoint.experiments")

#: raw records kept per experiment (approximate trimming: Redis may keep a few more)
DEFAULT_LOG_MAXLEN: Final = 1_000_000
#: audit entries kept per experiment
DEFAULT_AUDIT_MAXLEN: Final = 10_000
#: recent exposures kept per user and experiment for request-id attribution
DEFAULT_RECENT_PER_USER: Final = 50

AuditAction = Literal["created", "updated", "started", "paused", "resumed", "stopped"]


class AuditEntry(BaseModel):
    """One change: who (API key id), when, what, and the experiment version it produced."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ts: datetime
    actor: str
    action: AuditAction
    version: int
    changes: dict[str, list[Any]] = {}
    """Dotted path -> ``[old, new]`` (``variants.<id>.weight``, ``coverage``, ``status``...)."""


# Compare-and-set of the whole configuration: refuse when the global version moved since the
# caller read it, so capacity and layering checks across experiments are race-free.
# KEYS: version, specs, audit. ARGV: expected version, id, experiment JSON, audit JSON, audit cap.
_COMMIT_LUA = """
if tonumber(redis.call('GET', KEYS[1]) or '0') ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[5]), -1)
return redis.call('INCR', KEYS[1])
"""

# The user side of one decision's exposures, atomic on the user's exp hash.
# ARGV: window, keep, then per exposure 8 args:
#   namespace, sticky JSON, previous raw sticky value ("" = none), "1" if hash-assigned,
#   experiment id, arm, request id, ts (decimal string)
# A hash-assigned record replaces the field only if it still holds what the decision saw
# (nothing, or a record of an experiment that is no longer active): the first writer wins.
# Returns one 0/1 per exposure: 1 = the user was enrolled in the experiment by this call.
_EXPOSE_LUA = """
local window, keep = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i = 3, #ARGV, 8 do
  local ns, rec, prev, hashed = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local exp, arm, rid, ts = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local new = 0
  if hashed == '1' then
    local cur = redis.call('HGET', KEYS[1], ns)
    if (cur == false and prev == '') or cur == prev then
      redis.call('HSET', KEYS[1], ns, rec)
      new = 1
    end
  end
  local field = 'x:' .. exp
  local raw = redis.call('HGET', KEYS[1], field)
  local kept = {}
  if raw then
    local cutoff = tonumber(ts) - window
    for _, e in ipairs(cjson.decode(raw)) do
      if tonumber(e[3]) >= cutoff then table.insert(kept, e) end
    end
  end
  table.insert(kept, {rid, arm, ts})
  while #kept > keep do table.remove(kept, 1) end
  redis.call('HSET', KEYS[1], field, cjson.encode(kept))
  table.insert(out, new)
end
return out
"""


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes | bytearray) else str(raw)


@dataclass(frozen=True)
class ExposureWrite:
    """One exposure to persist: the user side (sticky + recent list) and the record."""

    namespace: str
    record: ExposureRecord
    hashed: bool
    """The assignment was computed now (not read from a sticky record)."""
    previous: str
    """Raw sticky value the decision saw for the namespace ("" = none)."""


@dataclass(frozen=True)
class Credit:
    """An outcome attributed to one arm of one experiment (user = the exposure's user)."""

    experiment_id: str
    arm: str
    user_id: str
    outcome: OutcomeRecord


@dataclass(eq=False)
class ExperimentStore:
    redis: Any
    _: KW_ONLY
    prefix: str
    log_maxlen: int = DEFAULT_LOG_MAXLEN
    audit_maxlen: int = DEFAULT_AUDIT_MAXLEN
    recent_per_user: int = DEFAULT_RECENT_PER_USER
    attribution_window_s: float = DEFAULT_ATTRIBUTION_WINDOW_S

    def __post_init__(self) -> None:
        self.keys = ExperimentKeys(self.prefix)
        # EVALSHA after the first call: the scripts are not re-sent with every decision
        self._commit = self.redis.register_script(_COMMIT_LUA)
        self._expose = self.redis.register_script(_EXPOSE_LUA)

    @property
    def window(self) -> float:
        """Seconds after an exposure in which an outcome is credited to it."""
        return self.attribution_window_s

    def user_key(self, user_id: str) -> str:
        return UserKeys(self.prefix, user_id).experiments

    # ------------------------------------------------------------------ configuration

    async def version(self) -> int:
        raw = await self.redis.get(self.keys.version)
        return int(raw) if raw is not None else 0

    async def any_experiment(self) -> bool:
        """Whether any experiment was ever created (specs are never deleted, so until one
        is, no user has an exposure an outcome could be credited to)."""
        return bool(await self.redis.exists(self.keys.specs))

    @staticmethod
    def _parse_specs(raw: Mapping[Any, Any]) -> dict[str, Experiment]:
        out: dict[str, Experiment] = {}
        for k, v in raw.items():
            try:
                exp = Experiment.model_validate_json(v)
            except ValidationError as exc:  # a record this code cannot read: skip, loudly
                log.error("experiment %s is unreadable and ignored: %s", _text(k), exc)
                continue
            out[exp.id] = exp
        return out

    async def snapshot(self) -> tuple[int, dict[str, Experiment]]:
        """The configuration version and every experiment, read atomically."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.keys.version)
            pipe.hgetall(self.keys.specs)
            version, raw = await pipe.execute()
        return (int(version) if version is not None else 0), self._parse_specs(raw)

    async def all(self) -> list[Experiment]:
        _, experiments = await self.snapshot()
        return sorted(experiments.values(), key=lambda e: (e.created_at, e.id))

    async def active(self) -> tuple[Experiment, ...]:
        """Running and paused experiments (what assignment needs), for the runtime."""
        return tuple(e for e in await self.all() if e.is_active)

    async def get(self, experiment_id: str) -> Experiment | None:
        raw = await self.redis.hget(self.keys.specs, experiment_id)
        return Experiment.model_validate_json(raw) if raw is not None else None

    async def commit(
        self, expected_version: int, experiment: Experiment, entry: AuditEntry
    ) -> bool:
        """Store ``experiment`` and its audit entry if the configuration is still at
        ``expected_version``; False when someone else changed it first (re-read and retry)."""
        result = await self._commit(
            keys=[self.keys.version, self.keys.specs, self.keys.audit(experiment.id)],
            args=[
                str(expected_version),
                experiment.id,
                experiment.model_dump_json(),
                entry.model_dump_json(),
                str(self.audit_maxlen),
            ],
        )
        return int(result) != 0

    async def audit(self, experiment_id: str, limit: int = 1000) -> list[AuditEntry]:
        """The newest ``limit`` audit entries, oldest first."""
        raw = await self.redis.lrange(self.keys.audit(experiment_id), -limit, -1)
        return [AuditEntry.model_validate_json(r) for r in raw]

    # ------------------------------------------------------------------ counters & raw log

    async def counters(self, experiment_id: str, arms: Iterable[str]) -> dict[str, VariantCounters]:
        arms = list(arms)
        async with self.redis.pipeline(transaction=False) as pipe:
            for arm in arms:
                pipe.hgetall(self.keys.counters(experiment_id, arm))
            raw = await pipe.execute()
        return {arm: VariantCounters.from_hash(h) for arm, h in zip(arms, raw, strict=True) if h}

    def _xadd(self, pipe: Any, experiment_id: str, kind: str, record: BaseModel) -> None:
        pipe.xadd(
            self.keys.log(experiment_id),
            {"kind": kind, "record": record.model_dump_json()},
            maxlen=self.log_maxlen,
            approximate=True,
        )

    async def expose(self, user_id: str, writes: Sequence[ExposureWrite]) -> list[bool]:
        """Persist one decision's exposures: sticky record (first writer wins), the user's
        recent-exposure list, per-arm counters (``users`` only for a newly enrolled user) and
        the raw record. Returns, per write, whether the user was newly enrolled."""
        if not writes:
            return []
        args: list[str] = [repr(float(self.window)), str(self.recent_per_user)]
        for w in writes:
            r = w.record
            sticky = json.dumps({"experiment_id": r.experiment_id, "arm": r.arm, "ts": r.ts})
            args += [w.namespace, sticky, w.previous, "1" if w.hashed else "0"]
            args += [r.experiment_id, r.arm, r.request_id, repr(r.ts)]
        result = await self._expose(keys=[self.user_key(user_id)], args=args)
        fresh = [int(x) == 1 for x in result]
        await self.count_exposures([(w.record, new) for w, new in zip(writes, fresh, strict=True)])
        return fresh

    async def count_exposures(self, items: Sequence[tuple[ExposureRecord, bool]]) -> None:
        """Counter and raw-log side of exposures: ``(record, user is new to the arm)``."""
        if not items:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for rec, new_user in items:
                key = self.keys.counters(rec.experiment_id, rec.arm)
                pipe.hincrby(key, "exposures", 1)
                if new_user:
                    pipe.hincrby(key, "users", 1)
                self._xadd(pipe, rec.experiment_id, "exposure", rec)
            await pipe.execute()

    async def user_records(self, user_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """The ``exp`` hash of each user (one pipelined round trip)."""
        ids = list(dict.fromkeys(user_ids))
        async with self.redis.pipeline(transaction=False) as pipe:
            for uid in ids:
                pipe.hgetall(self.user_key(uid))
            raw = await pipe.execute()
        return {
            uid: {_text(k): _text(v) for k, v in h.items()} for uid, h in zip(ids, raw, strict=True)
        }

    async def record_outcomes(
        self, credits: Sequence[Credit], logged: Sequence[tuple[str, OutcomeRecord]]
    ) -> None:
        """Apply attributed outcomes to the counters and append outcome records to the raw log
        of every experiment in ``logged`` (all experiments the user had exposures in, credited
        or not: the recomputation decides attribution on its own).

        Round trip 1 (user hashes): converter flags (``HSETNX``) and running value totals
        (``HINCRBYFLOAT``). Round trip 2: counters and raw records.
        """
        if not credits and not logged:
            return
        firsts: list[bool] = []
        totals: list[float | None] = []
        if credits:
            async with self.redis.pipeline(transaction=False) as pipe:
                for c in credits:
                    key = self.user_key(c.user_id)
                    pipe.hsetnx(key, f"c:{c.experiment_id}:{c.arm}:{c.outcome.type}", "1")
                    if c.outcome.value:
                        pipe.hincrbyfloat(key, f"v:{c.experiment_id}:{c.arm}", c.outcome.value)
                raw = await pipe.execute()
            it = iter(raw)
            for c in credits:
                firsts.append(bool(int(next(it))))
                totals.append(float(next(it)) if c.outcome.value else None)
        async with self.redis.pipeline(transaction=False) as pipe:
            for c, first, total in zip(credits, firsts, totals, strict=True):
                key = self.keys.counters(c.experiment_id, c.arm)
                pipe.hincrby(key, f"events:{c.outcome.type}", 1)
                if first:
                    pipe.hincrby(key, f"converters:{c.outcome.type}", 1)
                if total is not None:
                    amount = c.outcome.value
                    previous = total - amount
                    pipe.hincrbyfloat(key, "value_sum", amount)
                    pipe.hincrbyfloat(key, "value_sum_sq", 2 * previous * amount + amount**2)
            for experiment_id, rec in logged:
                self._xadd(pipe, experiment_id, "outcome", rec)
            await pipe.execute()

    async def raw_records(
        self, experiment_id: str, page: int = 10_000
    ) -> tuple[list[ExposureRecord], list[OutcomeRecord]]:
        """Every raw record still in the experiment's (bounded) log."""
        exposures: list[ExposureRecord] = []
        outcomes: list[OutcomeRecord] = []
        start = "-"
        while True:
            batch = await self.redis.xrange(self.keys.log(experiment_id), start, "+", count=page)
            for entry_id, fields in batch:
                data = {_text(k): _text(v) for k, v in fields.items()}
                if data.get("kind") == "exposure":
                    exposures.append(ExposureRecord.model_validate_json(data["record"]))
                elif data.get("kind") == "outcome":
                    outcomes.append(OutcomeRecord.model_validate_json(data["record"]))
                start = "(" + _text(entry_id)
            if len(batch) < page:
                return exposures, outcomes

    async def recompute(self, experiment_id: str) -> dict[str, VariantCounters]:
        """Counters rebuilt from the raw log (exact while the log has not been trimmed)."""
        exposures, outcomes = await self.raw_records(experiment_id)
        return recompute_counters(exposures, outcomes, self.window, experiment_id)


def arms_of(experiment: Experiment) -> list[str]:
    return experiment.variant_ids + ([HOLDOUT] if experiment.holdout > 0 else [])
