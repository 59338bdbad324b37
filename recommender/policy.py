"""The contact policy: how often a customer may be shown what, enforced atomically.

Three kinds of rule, configured per channel (``/v1/policies/contact``):

* **caps** -- at most ``max`` impressions per user of one *group* of actions in the
  channel, over a sliding window (``window_s``) or within one session
  (``per_session``: e.g. "at most 1 agent offer per call"). A group is an action, a
  category prefix or a kind: ``{"scope": "kind", "match": "retention", "max": 3,
  "window_s": 604800}`` caps all retention offers together; without ``match`` the cap
  holds for each action / leaf category / kind separately. A catalog entry's own
  ``Action.cap`` is enforced as well, across all channels.
* **suppression** -- after ``after`` declines or dismissals of an action within
  ``within_s`` (counted in every channel: the customer said no), the action is not
  shown again until ``cooldown_s`` after the latest of them.
* **snooze** -- a ``maybe_later`` hides the action for ``snooze_s``.

Enforcement happens in one Lua script on the user's Redis slot (every key is
hash-tagged ``{u:<id>}``), at decision time: it walks the ranked candidates in order,
checks each against the caps (counting the impressions already reserved, including the
ones just admitted to this very answer), the suppression and the snooze state, and
reserves a slot (``ZADD``) only for the actions it admits, until the answer is full.
Because a script runs atomically, two concurrent requests for the same user can never
both take the last slot of a cap; the backfill from the next-ranked candidates happens
inside the same script, so it needs no retries. Exploration (see
:mod:`recommender.explore`) is decided in the same script so that an explored action
has passed the policy too.

Storage, per user (see :class:`domain.keys.UserKeys`):

* ``contact`` -- sorted set of reserved impressions, score = time, member =
  ``ts|request_id|position|channel|session|kind|category|action``. Only actions some
  rule could count are recorded; entries older than the longest window are pruned.
* ``feedback`` -- hash written by the event planner: ``n:<event_id>`` ->
  ``ts|action`` for declines and dismissals, ``s:<action>`` -> ``ts`` for maybe-later.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator
from redis.exceptions import WatchError

from domain.actions import Action, CatalogItem
from domain.keys import UserKeys
from domain.values import CHANNELS, INTEGER, Channel
from recommender.catalog import CatalogIndex
from recommender.documents import VersionedDocument

log = logging.getLogger("waypoint.policy")

__all__ = [
    "DEFAULT_POLICY",
    "Admission",
    "Candidate",
    "ChannelPolicy",
    "ContactCap",
    "ContactEnforcer",
    "ContactPolicy",
    "PolicyStore",
    "Suppression",
]

DAY = 86_400
#: longest window a cap may use (bounds what each user's ``contact`` set keeps)
MAX_WINDOW_S = 366 * DAY
#: how long impressions are kept for per-session caps
SESSION_HORIZON_S = DAY
#: most candidates handed to the admission script per decision
MAX_CANDIDATES = 400
#: without exploration the script is first given only the top ``want + BACKFILL_MARGIN``
#: candidates (room for that many refusals); the whole list only if those cannot fill it
BACKFILL_MARGIN = 10


class ContactCap(BaseModel):
    """At most ``max`` impressions of one group of actions per user in the channel."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    scope: Literal["action", "category", "kind"]
    match: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        default=None,
        description="Action id, category prefix or kind the cap is about; unset: the cap "
        "holds for each action / leaf category / kind on its own.",
    )
    max: Annotated[int, Field(ge=1, le=10_000), INTEGER]
    window_s: Annotated[int, Field(ge=1, le=MAX_WINDOW_S), INTEGER] | None = Field(
        default=None, description="Sliding window in seconds."
    )
    per_session: StrictBool = Field(
        default=False,
        description="Count within the session (e.g. one call) instead of a window; a "
        "request without session_id counts only its own answer.",
    )

    @model_validator(mode="after")
    def _one_window(self) -> ContactCap:
        if (self.window_s is None) == (not self.per_session):
            raise ValueError("a cap needs exactly one of window_s or per_session: true")
        return self


class Suppression(BaseModel):
    """After ``after`` declines/dismissals within ``within_s``: hidden for ``cooldown_s``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    after: Annotated[int, Field(ge=1, le=100), INTEGER] = 2
    within_s: Annotated[int, Field(ge=1, le=MAX_WINDOW_S), INTEGER] = 30 * DAY
    cooldown_s: Annotated[int, Field(ge=1, le=MAX_WINDOW_S), INTEGER] = 14 * DAY


class ChannelPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    caps: Annotated[list[ContactCap], Field(max_length=50)] = []
    suppression: Suppression | None = Field(
        default_factory=Suppression, description="null: declines never suppress."
    )
    snooze_s: Annotated[int, Field(ge=0, le=MAX_WINDOW_S), INTEGER] = Field(
        default=3 * DAY, description="How long 'maybe later' hides an action (0: not at all)."
    )


def _default_channels() -> dict[Channel, ChannelPolicy]:
    return {
        "contact_center": ChannelPolicy(
            caps=[
                ContactCap(scope="kind", match="retention", max=3, window_s=7 * DAY),
                ContactCap(scope="kind", match="agent", max=1, per_session=True),
            ]
        )
    }


class ContactPolicy(BaseModel):
    """The policy of every channel; a channel without an entry uses ``ChannelPolicy()``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    version: int = 0
    channels: dict[Channel, ChannelPolicy] = Field(default_factory=_default_channels)

    def of(self, channel: str) -> ChannelPolicy:
        for name, policy in self.channels.items():
            if name == channel:
                return policy
        return ChannelPolicy()

    def all_channels(self) -> dict[str, ChannelPolicy]:
        return {c: self.of(c) for c in CHANNELS}

    def horizon_s(self) -> int:
        """How far back any rule of any channel looks (impressions older are pruned)."""
        windows = [SESSION_HORIZON_S]
        for p in self.channels.values():
            windows.extend(c.window_s for c in p.caps if c.window_s is not None)
        return max(windows)

    def feedback_horizon_s(self) -> int:
        """How long declines and snoozes matter in the strictest channel."""
        spans = [DAY]
        for p in self.all_channels().values():
            if p.suppression is not None:
                spans.append(p.suppression.within_s + p.suppression.cooldown_s)
            spans.append(p.snooze_s)
        return max(spans)


DEFAULT_POLICY = ContactPolicy()


def _under(category: str, prefix: str) -> bool:
    return category == prefix or category.startswith(prefix + "/")


def _applies(cap: ContactCap, action: Action | CatalogItem) -> bool:
    if cap.match is None:
        return True
    if cap.scope == "action":
        return action.id == cap.match
    if cap.scope == "kind":
        return action.kind == cap.match
    return _under(action.category, cap.match)


def counted(policy: ContactPolicy, action: Action | CatalogItem) -> bool:
    """Whether some rule in some channel could count impressions of ``action``."""
    if action.cap is not None:
        return True
    return any(_applies(c, action) for p in policy.channels.values() for c in p.caps)


class PolicyStore(VersionedDocument[ContactPolicy]):
    """The contact policy in one Redis hash (``doc``, ``version``), changed atomically."""

    def __init__(self, redis: Any, *, key: str) -> None:
        super().__init__(redis, key=key, model=ContactPolicy, default=DEFAULT_POLICY)

    async def put(self, channels: Mapping[Channel, ChannelPolicy]) -> ContactPolicy:
        """Replace the policy of the given channels (others keep theirs).

        A read-modify-write under ``WATCH``, so two admins changing different channels
        at the same time both keep their change.
        """
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.key)
                    current = self.parse(await pipe.hget(self.key, "doc"))
                    merged = ContactPolicy.model_validate(
                        {"channels": {**current.channels, **channels}}
                    )
                    pipe.multi()
                    self.queue_write(pipe, merged)
                    _, version = await pipe.execute()
                    return self.with_version(merged, version)
                except WatchError:
                    continue


# KEYS[1] = contact (sorted set of impressions), KEYS[2] = feedback (hash).
# ARGV: now, prune-before, feedback-forget-before, channel, session, request_id,
#       config JSON, want, exploration mode (0 none, 1 count, 2 explore), ttl_s,
#       prefix (1: the candidates are the head of a longer ranked list),
#       candidates JSON [[id, kind, category, record 0/1], ...],
#       exploration pool JSON: 1-based candidate indices in random order.
# Returns {explored index or 0, eligible pool size, denied by cap, suppressed, snoozed,
#          number admitted, admitted candidate indices in order..., refused indices...},
# or {-1} (having reserved nothing) when a prefix could not fill the answer: the caller
# then runs the script again with the whole list.
ADMIT_LUA = """
local function split(s)
  local out, start = {}, 1
  while true do
    local i = string.find(s, '|', start, true)
    if not i then out[#out + 1] = string.sub(s, start); return out end
    out[#out + 1] = string.sub(s, start, i - 1)
    start = i + 1
  end
end
local function under(cat, prefix)
  return cat == prefix or string.sub(cat, 1, #prefix + 1) == prefix .. '/'
end
local now = tonumber(ARGV[1])
local channel, session, request_id = ARGV[4], ARGV[5], ARGV[6]
local cfg = cjson.decode(ARGV[7])
local want, mode, ttl = tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10])
local prefix = ARGV[11] == '1'
local cands = cjson.decode(ARGV[12])
local n = #cands
local rules = cfg.rules

local function group(r, id, kind, cat)
  local m = r.match
  if r.scope == 'action' then
    if m == '' or m == id then return id end
  elseif r.scope == 'kind' then
    if m == '' or m == kind then return kind end
  else
    if m == '' then return cat end
    if under(cat, m) then return m end
  end
  return nil
end

-- impressions already reserved, counted per rule and group
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
local counts = {}
for i = 1, #rules do counts[i] = {} end
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f = split(member)
  local ts, ch, sess, kind, cat, id = tonumber(f[1]), f[4], f[5], f[6], f[7], f[8]
  for i, r in ipairs(rules) do
    if r.any_channel or ch == channel then
      local inside
      if r.session then inside = session ~= '' and sess == session
      else inside = ts > now - r.window end
      if inside then
        local g = group(r, id, kind, cat)
        if g then counts[i][g] = (counts[i][g] or 0) + 1 end
      end
    end
  end
end

-- declines / dismissals and snoozes
local negs, snoozed = {}, {}
local fb = redis.call('HGETALL', KEYS[2])
local forget = tonumber(ARGV[3])
for j = 1, #fb, 2 do
  local name, value = fb[j], fb[j + 1]
  if string.sub(name, 1, 2) == 'n:' then
    local f = split(value)
    local ts = tonumber(f[1])
    if ts < forget then redis.call('HDEL', KEYS[2], name)
    else
      local list = negs[f[2]] or {}
      list[#list + 1] = ts
      negs[f[2]] = list
    end
  elseif string.sub(name, 1, 2) == 's:' then
    local ts = tonumber(value)
    if ts < forget then redis.call('HDEL', KEYS[2], name)
    elseif cfg.snooze > 0 and now < ts + cfg.snooze then snoozed[string.sub(name, 3)] = true end
  end
end
local suppressed = {}
if cfg.supp then
  for id, list in pairs(negs) do
    local latest = list[1]
    for _, ts in ipairs(list) do if ts > latest then latest = ts end end
    local k = 0
    for _, ts in ipairs(list) do if ts >= latest - cfg.supp.within then k = k + 1 end end
    if k >= cfg.supp.after and now < latest + cfg.supp.cooldown then suppressed[id] = true end
  end
end

local function check(c)
  if suppressed[c[1]] then return 'suppressed' end
  if snoozed[c[1]] then return 'snoozed' end
  for i, r in ipairs(rules) do
    local g = group(r, c[1], c[2], c[3])
    if g and (counts[i][g] or 0) + 1 > r.max then return 'cap' end
  end
  return nil
end
local function count(c, delta)
  for i, r in ipairs(rules) do
    local g = group(r, c[1], c[2], c[3])
    if g then counts[i][g] = (counts[i][g] or 0) + delta end
  end
end

local admitted, taken, refused = {}, {}, {}
local denied = {cap = 0, suppressed = 0, snoozed = 0}
for i = 1, n do
  if #admitted >= want then break end
  local why = check(cands[i])
  if why then
    denied[why] = denied[why] + 1
    refused[#refused + 1] = i
  else
    admitted[#admitted + 1] = i
    taken[i] = true
    count(cands[i], 1)
  end
end
if prefix and #admitted < want then return {-1} end

-- mode '1': only count what exploration could pick (for the logged probabilities);
-- mode '2': explore, i.e. replace the last slot with the first eligible pool entry
local explored, eligible = 0, 0
if mode ~= '0' and #admitted > 0 then
  local last = admitted[#admitted]
  count(cands[last], -1)
  for _, i in ipairs(cjson.decode(ARGV[13])) do
    if not taken[i] and not check(cands[i]) then
      eligible = eligible + 1
      if explored == 0 then explored = i end
    end
  end
  if mode == '2' and explored ~= 0 then
    admitted[#admitted] = explored
    count(cands[explored], 1)
  else
    explored = 0
    count(cands[last], 1)
  end
end

for pos, i in ipairs(admitted) do
  local c = cands[i]
  if c[4] == 1 then
    local member = table.concat({ARGV[1], request_id, pos, channel, session, c[2], c[3], c[1]}, '|')
    redis.call('ZADD', KEYS[1], now, member)
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ttl) end

local out = {explored, eligible, denied.cap, denied.suppressed, denied.snoozed, #admitted}
for _, i in ipairs(admitted) do out[#out + 1] = i end
for _, i in ipairs(refused) do out[#out + 1] = i end
return out
"""


@dataclass(frozen=True)
class Candidate:
    """One action offered to the admission script, in rank order."""

    action: Action | CatalogItem
    #: may be picked by exploration (passed every filter, ``explore`` is true)
    explorable: bool = True


@dataclass
class Admission:
    """What the contact policy let through, in the order to show it."""

    #: indices into the candidate list, in display order
    shown: list[int]
    #: index of the explored action (always the last shown), if one was explored
    explored: int | None = None
    #: how many actions exploration could pick from (0 when the strategy never explores)
    eligible: int = 0
    denied: dict[str, int] = field(default_factory=dict)
    #: indices of the candidates the policy refused (caps, suppression, snooze)
    refused: list[int] = field(default_factory=list)
    enforced: bool = True


def _rules(policy: ChannelPolicy, candidates: Sequence[Candidate]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for cap in policy.caps:
        rules.append(
            {
                "scope": cap.scope,
                "match": cap.match or "",
                "max": cap.max,
                "window": cap.window_s or 0,
                "session": cap.per_session,
                "any_channel": False,
            }
        )
    seen: set[str] = set()
    for c in candidates:
        a = c.action
        if a.cap is not None and a.id not in seen:
            seen.add(a.id)
            rules.append(
                {
                    "scope": "action",
                    "match": a.id,
                    "max": a.cap.max_impressions,
                    "window": a.cap.per_seconds,
                    "session": False,
                    "any_channel": True,
                }
            )
    return rules


@dataclass(frozen=True)
class _ChannelRules:
    """What one channel's admission needs from the policy (derived once per policy)."""

    policy: ChannelPolicy
    #: seconds back that any rule looks (impressions older are pruned)
    horizon_s: int
    #: seconds back that declines and snoozes matter
    feedback_horizon_s: int
    suppression: dict[str, int] | bool


class ContactEnforcer:
    """Runs the admission script for one decision."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._script = redis.register_script(ADMIT_LUA)
        self._horizon: tuple[int, int] = (-1, 0)
        #: per-channel rules of the policy object last seen (the live state swaps it whole)
        self._rules: tuple[ContactPolicy | None, dict[str, _ChannelRules]] = (None, {})

    def _channel_rules(self, policy: ContactPolicy, channel: str) -> _ChannelRules:
        cached_policy, by_channel = self._rules
        if cached_policy is not policy:
            by_channel = {}
            self._rules = (policy, by_channel)
        rules = by_channel.get(channel)
        if rules is None:
            chan = policy.of(channel)
            supp = chan.suppression
            rules = by_channel[channel] = _ChannelRules(
                policy=chan,
                horizon_s=policy.horizon_s(),
                feedback_horizon_s=policy.feedback_horizon_s(),
                suppression=(
                    {"after": supp.after, "within": supp.within_s, "cooldown": supp.cooldown_s}
                    if supp is not None
                    else False
                ),
            )
        return rules

    def catalog_horizon(self, catalog: CatalogIndex) -> int:
        """Longest ``Action.cap`` window in the catalog (cached per catalog version)."""
        version, horizon = self._horizon
        if version != catalog.version:
            horizon = catalog.max_cap_s
            self._horizon = (catalog.version, horizon)
        return horizon

    async def admit(
        self,
        keys: UserKeys,
        *,
        policy: ContactPolicy,
        channel: str,
        session_id: str | None,
        request_id: str,
        candidates: Sequence[Candidate],
        want: int,
        explore_order: Sequence[int] | None,
        explore: bool = False,
        now: float,
        catalog_horizon_s: int = 0,
    ) -> Admission:
        """Admit up to ``want`` candidates in order; explore among ``explore_order``.

        ``explore_order`` is a random permutation of the candidate indices (0-based)
        that exploration may pick, or None when the strategy never explores. The
        script always counts how many of them pass the policy and are not in the
        answer (``Admission.eligible``, needed for the logged probabilities); with
        ``explore`` the first such one replaces the last slot, so the pick is uniform
        among the eligible ones.
        """
        run = _Run(
            keys=keys,
            policy=policy,
            channel=channel,
            session_id=session_id,
            request_id=request_id,
            want=want,
            now=now,
            catalog_horizon_s=catalog_horizon_s,
        )
        if explore_order is None and len(candidates) > want + BACKFILL_MARGIN:
            # Without exploration the script stops as soon as the answer is full, so the
            # head of the list nearly always suffices; if it does not, the script has
            # reserved nothing and the whole list is walked again (atomically, afresh).
            first = list(candidates[: want + BACKFILL_MARGIN])
            head = await self._run(run, first, None, "0", True)
            if head is not None:
                return head
        # (a lazily built sequence is only materialised this far when needed)
        candidates = list(candidates[:MAX_CANDIDATES])
        mode = "0" if explore_order is None else ("2" if explore else "1")
        admission = await self._run(run, candidates, explore_order, mode, False)
        assert admission is not None  # only a prefix run can ask for more
        return admission

    async def _run(
        self,
        run: _Run,
        candidates: Sequence[Candidate],
        explore_order: Sequence[int] | None,
        mode: str,
        prefix: bool,
    ) -> Admission | None:
        policy, now = run.policy, run.now
        chan = self._channel_rules(policy, run.channel)
        horizon = max(chan.horizon_s, run.catalog_horizon_s)
        config = {
            "rules": _rules(chan.policy, candidates),
            "supp": chan.suppression,
            "snooze": chan.policy.snooze_s,
        }
        args: list[str | int | float] = [
            repr(now),
            repr(now - horizon),
            repr(now - chan.feedback_horizon_s),
            run.channel,
            run.session_id or "",
            run.request_id,
            json.dumps(config, separators=(",", ":")),
            run.want,
            mode,
            horizon + 60,
            "1" if prefix else "0",
            json.dumps(
                [
                    (c.action.id, c.action.kind, c.action.category, int(counted(policy, c.action)))
                    for c in candidates
                ],
                separators=(",", ":"),
            ),
            json.dumps(
                [i + 1 for i in explore_order or () if 0 <= i < len(candidates)],
                separators=(",", ":"),
            ),
        ]
        raw = await self._script(keys=[run.keys.contact, run.keys.feedback], args=args)
        values = [int(v) for v in raw]
        if values[0] == -1:
            return None
        explored = values[0] - 1 if values[0] else None
        k = values[5]
        return Admission(
            shown=[v - 1 for v in values[6 : 6 + k]],
            explored=explored,
            eligible=values[1],
            denied={"cap": values[2], "suppressed": values[3], "snoozed": values[4]},
            refused=[v - 1 for v in values[6 + k :]],
        )


@dataclass(frozen=True)
class _Run:
    """The parts of one admission that do not depend on the candidate list."""

    keys: UserKeys
    policy: ContactPolicy
    channel: str
    session_id: str | None
    request_id: str
    want: int
    now: float
    catalog_horizon_s: int


def unenforced(policy: ContactPolicy, candidates: Sequence[Candidate], want: int) -> Admission:
    """Fallback when the store is down: only actions no rule could count are shown."""
    shown: list[int] = []
    withheld = 0
    for i, c in enumerate(candidates):
        if len(shown) == want:
            break
        if counted(policy, c.action):
            withheld += 1
        else:
            shown.append(i)
    return Admission(shown=shown, denied={"unenforced": withheld}, enforced=False)
