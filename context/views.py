"""Read models for people: the user context shown to agents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from context.store import UserStore
from domain.customer import Journey, OpenIntent, Profile


@dataclass
class Affinity:
    category: str
    score: float


@dataclass
class UserContextView:
    user_id: str
    known: bool
    profile: Profile
    journey: Journey
    open_intents: list[OpenIntent]
    top_affinities: list[Affinity]
    owned: list[str]
    recent_events: list[dict[str, Any]]
    engagement: str


def engagement_level(n_events: int, affinity_total: float) -> str:
    if n_events == 0:
        return "new"
    if affinity_total >= 20 or n_events >= 30:
        return "high"
    if affinity_total >= 5 or n_events >= 8:
        return "medium"
    return "low"


async def user_context(store: UserStore, user_id: str, *, now: float) -> UserContextView:
    snap = await store.read(user_id, now)
    recent = await store.history(user_id, 20)
    # top-level and leaf categories both carry meaning; show the strongest few
    top = sorted(
        ((c, s) for c, s in snap.category_affinity.items() if s > 0), key=lambda kv: -kv[1]
    )[:8]
    return UserContextView(
        user_id=user_id,
        known=bool(recent) or not snap.is_cold or bool(snap.profile.segments),
        profile=snap.profile,
        journey=snap.journey,
        open_intents=snap.open_intents,
        top_affinities=[Affinity(c, round(s, 3)) for c, s in top],
        owned=sorted(snap.owned),
        recent_events=recent,
        engagement=engagement_level(
            len(recent), sum(max(0.0, s) for c, s in snap.category_affinity.items() if "/" not in c)
        ),
    )
