"""Per-user state in Redis: one script reads a user, one script applies a decision's
changes (events are applied by :mod:`context.event_writes`).

Every script touches only the keys of one user (one hash slot on Redis Cluster). A script
rather than a pipeline of single commands: the client's cost is per command (packing,
parsing, a read timeout each), and a decision would otherwise send about thirty. The
scripts are called by SHA1 through :func:`context.bulk.call` (packed commands on one
pooled connection, not redis-py's per-command dispatch; on Redis Cluster its pipeline).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from redis.exceptions import RedisError

from context.bulk import Command, Script, call
from context.decay import Decay
from context.events import Op
from domain.customer import Journey, JourneyStep, LastAnswer, OpenIntent, Profile
from domain.keys import UserKeys

#: what a failing or slow store raises (callers degrade or refuse on these)
STORE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError, TimeoutError)

# One planned operation on KEYS[key]; returns an error reply for an unknown op.
_APPLY_OP = """
local function apply(op, key, a, b)
  if op == 'hincrbyfloat' then redis.call('HINCRBYFLOAT', key, a, b)
  elseif op == 'hset' then redis.call('HSET', key, a, b)
  elseif op == 'hsetnx' then redis.call('HSETNX', key, a, b)
  elseif op == 'hdel' then redis.call('HDEL', key, a)
  elseif op == 'sadd' then redis.call('SADD', key, a)
  elseif op == 'lpush_trim' then
    redis.call('LPUSH', key, a)
    redis.call('LTRIM', key, 0, tonumber(b) - 1)
  elseif op == 'expire' then redis.call('EXPIRE', key, tonumber(a))
  elseif op == 'hcap' then
    -- keep the a fields of largest value once there are more than a + b (b: slack, so
    -- the sort runs once per b new fields, not on every write)
    local keep = tonumber(a)
    if redis.call('HLEN', key) > keep + tonumber(b) then
      local flat = redis.call('HGETALL', key)
      local rows = {}
      for i = 1, #flat, 2 do rows[#rows + 1] = {flat[i], tonumber(flat[i + 1]) or 0} end
      table.sort(rows, function(x, y)
        if x[2] ~= y[2] then return x[2] > y[2] end
        return x[1] < y[1]
      end)
      for i = keep + 1, #rows do redis.call('HDEL', key, rows[i][1]) end
    end
  else return redis.error_reply('unknown op ' .. op) end
end
"""

# A decision's side effects (no idempotency: every decision is new).
# ARGV[1]: JSON list of [op, key index, a, b] (one argument to encode, not four per op).
APPLY_OPS_LUA = (
    _APPLY_OP
    + """
for _, o in ipairs(cjson.decode(ARGV[1])) do
  local err = apply(o[1], KEYS[o[2]], o[3], o[4])
  if err then return err end
end
return 1
"""
)

#: The user's state that a decision reads and events change (``domain.keys.UserKeys``
#: names); the read script and the events script each take these keys.
STATE_KEYS: tuple[str, ...] = (
    "profile",
    "category_affinity",
    "item_affinity",
    "owned",
    "impressions",
    "journey",
    "steps",
    "open_intents",
)

#: The keys the read script takes, in this order: the state, then experiment assignments.
READ_KEYS: tuple[str, ...] = (*STATE_KEYS, "experiments")

# Everything a decision needs about one user, as ONE JSON document (one reply to parse).
# ARGV[1]: how many journey steps (newest first). Hashes come back as flat
# [field, value, ...] lists; cjson writes an empty table as {}.
READ_USER_LUA = """
return cjson.encode({
  redis.call('HGETALL', KEYS[1]),
  redis.call('HGETALL', KEYS[2]),
  redis.call('HGETALL', KEYS[3]),
  redis.call('SMEMBERS', KEYS[4]),
  redis.call('HGETALL', KEYS[5]),
  redis.call('HGETALL', KEYS[6]),
  redis.call('LRANGE', KEYS[7], 0, tonumber(ARGV[1]) - 1),
  redis.call('HGETALL', KEYS[8]),
  redis.call('HGETALL', KEYS[9]),
})
"""


#: Field of the user's ``exp`` hash holding the user's pseudonym: a random token that the
#: decision log and the experiment logs carry instead of the user id. It lives only among
#: the user's own keys, so erasing the user deletes the one link from the logs' records
#: back to the user (crypto-shredding: the records stay, nobody can tell whose they were).
PSEUDONYM_FIELD = "p:id"


def new_pseudonym() -> str:
    return secrets.token_hex(8)


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
    pseudonym: str = field(default_factory=new_pseudonym)
    """What the logs call this user (see :data:`PSEUDONYM_FIELD`)."""
    pseudonym_is_new: bool = True
    """No pseudonym was stored yet: the decision's write stores this one."""

    def pseudonym_ops(self) -> list[Op]:
        """The write that stores a new pseudonym (first writer wins), else nothing."""
        if not self.pseudonym_is_new:
            return []
        return [("hsetnx", "experiments", PSEUDONYM_FIELD, self.pseudonym)]

    @property
    def is_cold(self) -> bool:
        return not self.category_affinity and not self.item_affinity and not self.owned


def _pairs(flat: list[str] | dict[str, Any]) -> dict[str, str]:
    """A hash from the read script's flat ``[field, value, ...]`` list."""
    if not flat:  # an empty hash (cjson encodes the empty table as {})
        return {}
    it = iter(flat)
    return dict(zip(it, it, strict=True))


def parse_profile(raw: dict[str, str]) -> Profile:
    return Profile(
        segments=json.loads(raw.get("segments", "[]")),
        tenure_months=int(raw["tenure_months"]) if raw.get("tenure_months") else None,
        attributes=json.loads(raw.get("attributes", "{}")),
    )


def _last_answer(raw: str | None) -> LastAnswer | None:
    if not raw:
        return None
    try:
        return LastAnswer.model_validate_json(raw)
    except ValidationError:  # written by another release: forget it, it is only a hint
        return None


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
        last_answer=_last_answer(raw.get("last_answer")),
        intent=raw.get("intent"),
        intent_confidence=num("intent_confidence"),
        intent_source=raw.get("intent_source"),
        outcome=raw.get("outcome") == "1",
        clarify_query=raw.get("clarify_query"),
        clarify_options=[o for o in raw.get("clarify_options", "").split(",") if o],
        updated_at=num("updated_at"),
        steps=_steps(steps),
    )


_STEPS: TypeAdapter[list[JourneyStep]] = TypeAdapter(list[JourneyStep])


def _steps(raw: Sequence[bytes | str]) -> list[JourneyStep]:
    """The journey steps, validated as one JSON array (one call instead of one per step)."""
    if not raw:
        return []
    return _STEPS.validate_json(
        b"[" + b",".join(s.encode() if isinstance(s, str) else s for s in raw) + b"]"
    )


@dataclass(eq=False)
class UserStore:
    """Each user's state in Redis: one-call reads, decisions' side effects, the profile,
    the history and erasure."""

    redis: Any
    _: KW_ONLY
    prefix: str
    #: decay of the affinities and of the impression counts (fatigue)
    affinity: Decay
    fatigue: Decay
    #: how long an event id is remembered as seen
    dedup_ttl_s: int

    def __post_init__(self) -> None:
        self._read = Script(READ_USER_LUA)
        self._apply = Script(APPLY_OPS_LUA)

    def keys(self, user_id: str) -> UserKeys:
        return UserKeys(self.prefix, user_id)

    async def read(self, user_id: str, now: float, *, steps: int = 20) -> UserSnapshot:
        k = self.keys(user_id)
        command = self._read.command([getattr(k, name) for name in READ_KEYS], [steps])
        (raw,) = await call(self.redis, [command], [self._read])
        profile, cat, item, owned, imp, journey, step_list, open_raw, exp_raw = (
            orjson.loads(raw) if raw else [[]] * len(READ_KEYS)
        )
        experiments = _pairs(exp_raw)
        stored_pseudonym = experiments.get(PSEUDONYM_FIELD)
        return UserSnapshot(
            user_id=user_id,
            profile=parse_profile(_pairs(profile)),
            category_affinity=self.affinity.decode_all(_pairs(cat), now),
            item_affinity=self.affinity.decode_all(_pairs(item), now),
            owned=set(owned or ()),
            impressions=self.fatigue.decode_all(_pairs(imp), now),
            journey=parse_journey(_pairs(journey), step_list or []),
            open_intents=sorted(
                (OpenIntent.model_validate_json(v) for v in _pairs(open_raw).values()),
                key=lambda o: -o.last_seen,
            ),
            experiments=experiments,
            pseudonym=stored_pseudonym or new_pseudonym(),
            pseudonym_is_new=stored_pseudonym is None,
        )

    async def write(
        self,
        user_id: str,
        ops: Sequence[Op],
        *,
        also: Sequence[tuple[Command, Script | None]] = (),
    ) -> None:
        """Apply operations without idempotency (decision side effects), one round trip.

        The operations run as one script on the user's slot; ``also`` are more commands
        sent in the same round trip (each with the script it calls by SHA1, if any: e.g.
        the decision log, which is on another slot). Raises the first error reply.
        """
        commands = [command for command, _ in also]
        scripts = [script for _, script in also]
        if ops:
            k = self.keys(user_id)
            names = list(dict.fromkeys(key for _, key, _, _ in ops))
            index = {name: i for i, name in enumerate(names, start=1)}
            planned = orjson.dumps([(op, index[key], a, b) for op, key, a, b in ops])
            commands.append(self._apply.command([getattr(k, name) for name in names], [planned]))
            scripts.append(self._apply)
        if commands:
            await call(self.redis, commands, scripts)

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
        return [orjson.loads(r) for r in raw]

    async def erase(self, user_id: str) -> int:
        """Delete every key of the user (with the pseudonym); returns how many existed."""
        return int(await self.redis.delete(*self.keys(user_id).all()))
