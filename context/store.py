"""Per-user state in Redis: one pipelined read per request, one atomic write per event."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from context.decay import Decay
from context.events import Op
from context.keys import UserKeys
from context.models import Journey, JourneyStep, OpenIntent, Profile

#: what a failing or slow store raises (callers degrade or refuse on these)
STORE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError, TimeoutError)

#: Order of the user's keys as passed to the Lua script (KEYS[1] is the dedup set).
KEY_ORDER: tuple[str, ...] = (
    "seen_events",
    "profile",
    "category_affinity",
    "item_affinity",
    "owned",
    "impressions",
    "journey",
    "steps",
    "history",
    "open_intents",
    "feedback",
)
_INDEX = {name: i + 1 for i, name in enumerate(KEY_ORDER)}

# Marks the event id as seen (NX) and, only if it was new, applies the planned operations.
# ARGV: event_id, now, forget-before, then operations as (op, key index, a, b) quadruples.
APPLY_EVENT_LUA = """
if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
for i = 4, #ARGV, 4 do
  local op, key, a, b = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3]
  if op == 'hincrbyfloat' then redis.call('HINCRBYFLOAT', key, a, b)
  elseif op == 'hset' then redis.call('HSET', key, a, b)
  elseif op == 'hdel' then redis.call('HDEL', key, a)
  elseif op == 'sadd' then redis.call('SADD', key, a)
  elseif op == 'lpush_trim' then
    redis.call('LPUSH', key, a)
    redis.call('LTRIM', key, 0, tonumber(b) - 1)
  elseif op == 'expire' then redis.call('EXPIRE', key, tonumber(a))
  else return redis.error_reply('unknown op ' .. op) end
end
return 1
"""


@dataclass
class UserSnapshot:
    """Everything the decision needs to know about one user, read in one round trip."""

    user_id: str
    profile: Profile = field(default_factory=Profile)
    category_affinity: dict[str, float] = field(default_factory=dict)
    item_affinity: dict[str, float] = field(default_factory=dict)
    owned: set[str] = field(default_factory=set)
    impressions: dict[str, float] = field(default_factory=dict)
    journey: Journey = field(default_factory=Journey)
    open_intents: list[OpenIntent] = field(default_factory=list)
    experiments: dict[str, str] = field(default_factory=dict)

    @property
    def is_cold(self) -> bool:
        return not self.category_affinity and not self.item_affinity and not self.owned


def _s(raw: bytes | str | None) -> str | None:
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else raw


def _decode_hash(raw: dict[Any, Any]) -> dict[str, str]:
    return {str(_s(k)): str(_s(v)) for k, v in raw.items()}


def parse_profile(raw: dict[str, str]) -> Profile:
    return Profile(
        segments=json.loads(raw.get("segments", "[]")),
        tenure_months=int(raw["tenure_months"]) if raw.get("tenure_months") else None,
        attributes=json.loads(raw.get("attributes", "{}")),
    )


def parse_journey(raw: dict[str, str], steps: Sequence[bytes | str]) -> Journey:
    def num(name: str) -> float | None:
        return float(raw[name]) if raw.get(name) else None

    channels = sorted(
        (k[3:] for k in raw if k.startswith("ch:")), key=lambda c: float(raw[f"ch:{c}"])
    )
    return Journey(
        session_id=raw.get("session_id"),
        channel=raw.get("channel"),
        channels=channels,
        language=raw.get("language"),
        country=raw.get("country"),
        device=raw.get("device"),
        page_item=raw.get("page_item"),
        last_query=raw.get("last_query"),
        intent=raw.get("intent"),
        intent_confidence=num("intent_confidence"),
        intent_source=raw.get("intent_source"),
        outcome=raw.get("outcome") == "1",
        clarify_query=raw.get("clarify_query"),
        clarify_options=[o for o in raw.get("clarify_options", "").split(",") if o],
        updated_at=num("updated_at"),
        steps=[JourneyStep.model_validate_json(s) for s in steps],
    )


def coalesce_hsets(ops: Sequence[Op]) -> list[Op]:
    """Merge runs of HSETs on one key into a single command (fewer commands per decision)."""
    out: list[Op] = []
    run: dict[str, str] = {}
    run_key = ""

    def flush() -> None:
        if len(run) == 1:
            ((field_, value),) = run.items()
            out.append(("hset", run_key, field_, value))
        elif run:
            out.append(("hset_many", run_key, json.dumps(run), ""))
        run.clear()

    for op in ops:
        if op[0] == "hset" and (not run or op[1] == run_key):
            run_key = op[1]
            run[op[2]] = op[3]
            continue
        flush()
        if op[0] == "hset":
            run_key = op[1]
            run[op[2]] = op[3]
        else:
            out.append(op)
    flush()
    return out


class UserStore:
    def __init__(
        self,
        redis: Any,
        *,
        prefix: str,
        affinity: Decay,
        fatigue: Decay,
        dedup_ttl_s: int,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.affinity = affinity
        self.fatigue = fatigue
        self.dedup_ttl_s = dedup_ttl_s

    def keys(self, user_id: str) -> UserKeys:
        return UserKeys(self.prefix, user_id)

    def _ordered_keys(self, user_id: str) -> list[str]:
        k = self.keys(user_id)
        return [getattr(k, name) for name in KEY_ORDER]

    async def read(self, user_id: str, now: float, *, steps: int = 20) -> UserSnapshot:
        k = self.keys(user_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(k.profile)
            pipe.hgetall(k.category_affinity)
            pipe.hgetall(k.item_affinity)
            pipe.smembers(k.owned)
            pipe.hgetall(k.impressions)
            pipe.hgetall(k.journey)
            pipe.lrange(k.steps, 0, steps - 1)
            pipe.hgetall(k.open_intents)
            pipe.hgetall(k.experiments)
            (
                profile,
                cat,
                item,
                owned,
                imp,
                journey,
                step_list,
                open_raw,
                exp_raw,
            ) = await pipe.execute()
        return UserSnapshot(
            user_id=user_id,
            profile=parse_profile(_decode_hash(profile)),
            category_affinity=self.affinity.decode_all(cat, now),
            item_affinity=self.affinity.decode_all(item, now),
            owned={str(_s(m)) for m in owned},
            impressions=self.fatigue.decode_all(imp, now),
            journey=parse_journey(_decode_hash(journey), step_list),
            open_intents=sorted(
                (OpenIntent.model_validate_json(v) for v in _decode_hash(open_raw).values()),
                key=lambda o: -o.last_seen,
            ),
            experiments=_decode_hash(exp_raw),
        )

    async def apply_events(
        self, planned: Sequence[tuple[str, str, list[Op]]], now: float
    ) -> list[bool]:
        """Apply (user_id, event_id, ops) atomically each; True where the event was new."""
        if not planned:
            return []
        forget_before = repr(now - self.dedup_ttl_s)
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id, event_id, ops in planned:
                args: list[str] = [event_id, repr(now), forget_before]
                for op, key, a, b in ops:
                    args.extend((op, str(_INDEX[key]), a, b))
                keys = self._ordered_keys(user_id)
                pipe.eval(APPLY_EVENT_LUA, len(keys), *keys, *args)
            results = await pipe.execute()
        return [int(r) == 1 for r in results]

    async def write(
        self, user_id: str, ops: Sequence[Op], *, also: Callable[[Any], None] | None = None
    ) -> None:
        """Apply operations without idempotency (decision side effects), one round trip.

        ``also`` may queue more commands on the same pipeline (e.g. the decision log).
        """
        k = self.keys(user_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            if also is not None:
                also(pipe)
            for op, key, a, b in coalesce_hsets(ops):
                name = getattr(k, key)
                if op == "hincrbyfloat":
                    pipe.hincrbyfloat(name, a, float(b))
                elif op == "hset_many":
                    pipe.hset(name, mapping=json.loads(a))
                elif op == "hset":
                    pipe.hset(name, a, b)
                elif op == "hdel":
                    pipe.hdel(name, a)
                elif op == "sadd":
                    pipe.sadd(name, a)
                elif op == "lpush_trim":
                    pipe.lpush(name, a)
                    pipe.ltrim(name, 0, int(b) - 1)
                elif op == "expire":
                    pipe.expire(name, int(a))
                else:
                    raise ValueError(f"unknown op {op}")
            await pipe.execute()

    async def set_profile(self, user_id: str, profile: Profile) -> None:
        k = self.keys(user_id)
        mapping: dict[str, str] = {
            "segments": json.dumps(profile.segments),
            "attributes": json.dumps(profile.attributes),
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(k.profile)
            if profile.tenure_months is not None:
                mapping["tenure_months"] = str(profile.tenure_months)
            pipe.hset(k.profile, mapping=mapping)
            await pipe.execute()

    async def history(self, user_id: str, n: int = 50) -> list[dict[str, Any]]:
        raw = await self.redis.lrange(self.keys(user_id).history, 0, n - 1)
        return [json.loads(r) for r in raw]

    async def erase(self, user_id: str) -> int:
        """Delete every key of the user; returns how many existed."""
        return int(await self.redis.delete(*self.keys(user_id).all()))
