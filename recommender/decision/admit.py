"""Admit: the contact policy lets candidates through in order until the answer is full
(one atomic script on the user's slot), and explores the last slot when asked to."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import overload

from context.store import STORE_ERRORS
from domain.actions import CatalogItem
from recommender.controls.policy import Admission, Candidate, ContactEnforcer, unenforced
from recommender.decision.case import Decision

log = logging.getLogger("waypoint.arbiter")

POLICY_DOWN = "contact policy unavailable: actions under a cap or suppression rule withheld"


class LazyCandidates(Sequence[Candidate]):
    """The candidates in the order offered to the contact policy, made into
    :class:`Candidate` objects only when read (the policy usually reads the head alone)."""

    def __init__(self, items: Sequence[CatalogItem], positions: list[int]) -> None:
        self.items = items
        self.positions = positions

    def __len__(self) -> int:
        return len(self.positions)

    @overload
    def __getitem__(self, i: int) -> Candidate: ...
    @overload
    def __getitem__(self, i: slice) -> list[Candidate]: ...
    def __getitem__(self, i: int | slice) -> Candidate | list[Candidate]:
        if isinstance(i, slice):
            return [Candidate(self.items[p]) for p in self.positions[i]]
        return Candidate(self.items[self.positions[i]])


async def admit(
    enforcer: ContactEnforcer | None,
    d: Decision,
    candidates: Sequence[Candidate],
    pool: list[int] | None,
    go: bool,
) -> Admission:
    """The admitted candidates; without a store the answer holds only what no rule could
    count (and says it is degraded)."""
    req, state = d.req, d.state
    if enforcer is None:
        return Admission(shown=list(range(min(req.limit, len(candidates)))))
    try:
        return await enforcer.admit(
            d.user_keys,
            policy=state.contact_policy,
            channel=req.context.channel,
            session_id=req.session_id,
            request_id=d.request_id,
            candidates=candidates,
            want=req.limit,
            explore_order=pool,
            explore=go,
            now=d.now,
            catalog_horizon_s=enforcer.catalog_horizon(state.catalog),
        )
    except STORE_ERRORS as exc:
        log.warning("contact policy not enforced (store error): %r", exc)
        d.degraded.append(POLICY_DOWN)
        return unenforced(state.contact_policy, candidates, req.limit)
