"""Admission at decision time: the Lua script that enforces the contact policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson

from context.bulk import Script, call
from domain.actions import Action, CatalogItem
from domain.keys import UserKeys
from recommender.catalog import CatalogIndex
from recommender.controls.policy.models import ChannelPolicy, ContactPolicy, counted

#: most candidates handed to the admission script per decision
MAX_CANDIDATES = 400
#: without exploration the script is first given only the top ``want + BACKFILL_MARGIN``
#: candidates (room for that many refusals); the whole list only if those cannot fill it
BACKFILL_MARGIN = 10


# KEYS[1] = contact (sorted set of impressions), KEYS[2] = feedback (hash).
# ARGV: now, prune-before, feedback-forget-before, channel, session, request_id,
#       config JSON, want, exploration mode (0 none, 1 count, 2 explore), ttl_s,
#       prefix (1: the candidates are the head of a longer ranked list),
#       candidates JSON [[id, kind, category, record 0/1], ...],
#       exploration pool JSON: 1-based candidate indices in random order.
# Returns {explored index or 0, eligible pool size, denied by cap, suppressed, snoozed,
#          number admitted, admitted candidate indices in order..., refused indices...},
# or {-1} (having reserved nothing) when a prefix could not fill the answer: the caller
# then runs the script again with the whole list. The script ships beside this module.
ADMIT_LUA = (resources.files("recommender.controls.policy") / "admit.lua").read_text("utf-8")


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


def _channel_caps(policy: ChannelPolicy) -> list[dict[str, Any]]:
    """The channel's caps as the script reads them."""
    return [
        {
            "scope": cap.scope,
            "match": cap.match or "",
            "max": cap.max,
            "window": cap.window_s or 0,
            "session": cap.per_session,
            "any_channel": False,
        }
        for cap in policy.caps
    ]


def _rules(policy: ChannelPolicy, candidates: Sequence[Candidate]) -> list[dict[str, Any]]:
    rules = _channel_caps(policy)
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


def _config(rules: list[dict[str, Any]], suppression: dict[str, int] | bool, snooze: int) -> bytes:
    return orjson.dumps({"rules": rules, "supp": suppression, "snooze": snooze})


@dataclass(frozen=True)
class _ChannelRules:
    """What one channel's admission needs from the policy (derived once per policy)."""

    policy: ChannelPolicy
    #: seconds back that any rule looks (impressions older are pruned)
    horizon_s: int
    #: seconds back that declines and snoozes matter
    feedback_horizon_s: int
    suppression: dict[str, int] | bool
    #: the script's config when no candidate has a cap of its own (the common case)
    config: bytes


class ContactEnforcer:
    """Runs the admission script for one decision."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._script = Script(ADMIT_LUA)
        self._horizon: tuple[int, int] = (-1, 0)
        #: per-channel rules of the policy object last seen (the live state swaps it whole)
        self._rules: tuple[ContactPolicy | None, dict[str, _ChannelRules]] = (None, {})
        #: whether some rule of the policy object last seen counts an action, by the
        #: action's id, kind and category (what the rules match on)
        self._counted: tuple[ContactPolicy | None, dict[tuple[str, str, str], int]] = (None, {})

    def _rows(
        self, policy: ContactPolicy, candidates: Sequence[Candidate]
    ) -> list[tuple[str, str, str, int]]:
        """Per candidate: id, kind, category and whether some rule counts it."""
        cached_policy, seen = self._counted
        if cached_policy is not policy or len(seen) > _COUNTED_ENTRIES:
            seen = {}
            self._counted = (policy, seen)
        rows = []
        for c in candidates:
            a = c.action
            key = (a.id, a.kind, a.category)
            if a.cap is not None:
                flag = 1
            else:
                found = seen.get(key)
                if found is None:
                    found = seen[key] = int(counted(policy, a))
                flag = found
            rows.append((*key, flag))
        return rows

    def _channel_rules(self, policy: ContactPolicy, channel: str) -> _ChannelRules:
        cached_policy, by_channel = self._rules
        if cached_policy is not policy:
            by_channel = {}
            self._rules = (policy, by_channel)
        rules = by_channel.get(channel)
        if rules is None:
            chan = policy.of(channel)
            supp = chan.suppression
            suppression: dict[str, int] | bool = (
                {"after": supp.after, "within": supp.within_s, "cooldown": supp.cooldown_s}
                if supp is not None
                else False
            )
            rules = by_channel[channel] = _ChannelRules(
                policy=chan,
                horizon_s=policy.horizon_s(),
                feedback_horizon_s=policy.feedback_horizon_s(),
                suppression=suppression,
                config=_config(_channel_caps(chan), suppression, chan.snooze_s),
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
        config = (
            _config(_rules(chan.policy, candidates), chan.suppression, chan.policy.snooze_s)
            if any(c.action.cap is not None for c in candidates)
            else chan.config
        )
        args: list[bytes | str | int | float] = [
            repr(now),
            repr(now - horizon),
            repr(now - chan.feedback_horizon_s),
            run.channel,
            run.session_id or "",
            run.request_id,
            config,
            run.want,
            mode,
            horizon + 60,
            "1" if prefix else "0",
            orjson.dumps(self._rows(policy, candidates)),
            orjson.dumps([i + 1 for i in explore_order or () if 0 <= i < len(candidates)]),
        ]
        command = self._script.command([run.keys.contact, run.keys.feedback], args)
        (raw,) = await call(self.redis, [command], [self._script])
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


#: actions whose counting the enforcer remembers before it starts afresh
_COUNTED_ENTRIES = 100_000


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
