"""Human-readable reasons, written from the score terms that ranked an action."""

from __future__ import annotations

from collections.abc import Callable

from recommender.scoring import Scored, ScoringContext

#: contributions below this do not earn a reason of their own
MIN_CONTRIBUTION = 0.08
MAX_REASONS = 3

CHANNEL_NAMES = {
    "web": "the website",
    "app": "the app",
    "contact_center": "calls with an agent",
    "store": "the store",
    "email": "email",
    "chat": "chat",
}


def _pretty_category(category: str) -> str:
    return category.rsplit("/", 1)[-1].replace("_", " ")


def _affinity(s: Scored, ctx: ScoringContext, labels: dict[str, str]) -> str:
    if s.terms["affinity"] < 0:
        return "you passed on similar items before, so it ranks lower"
    if s.details.get("affinity") == "item":
        return "you looked at this recently"
    return f"you have shown interest in {_pretty_category(s.action.category)}"


def _context(s: Scored, ctx: ScoringContext, labels: dict[str, str]) -> str:
    kind = s.details.get("context")
    if kind == "query" and ctx.query:
        return f'matches what you asked for: "{ctx.query}"'
    if kind == "page":
        return "related to what you are looking at now"
    return f"made for {CHANNEL_NAMES.get(ctx.channel, ctx.channel)}"


def _intent(s: Scored, ctx: ScoringContext, labels: dict[str, str]) -> str:
    names = [labels.get(n, n) for n in sorted(ctx.intent_names)]
    return f"fits your request: {names[0].lower()}" if names else "fits your request"


def _value(s: Scored, ctx: ScoringContext, labels: dict[str, str]) -> str:
    return "one of our best-value options"


def _popularity(s: Scored, ctx: ScoringContext, labels: dict[str, str]) -> str:
    return "popular with other customers right now"


def _open_intent(s: Scored, ctx: ScoringContext, labels: dict[str, str]) -> str:
    name = s.details.get("open_intent", "")
    return f"you were looking for {labels.get(name, name).lower()} last time"


def _fatigue(s: Scored, ctx: ScoringContext, labels: dict[str, str]) -> str:
    return "shown to you recently, so it ranks lower"


def _similar(s: Scored, ctx: ScoringContext, labels: dict[str, str]) -> str:
    source = s.details.get("similar")
    if source:
        return f'customers who chose "{source}" also chose this'
    return "customers with a history like yours chose this"


WRITERS: dict[str, Callable[[Scored, ScoringContext, dict[str, str]], str]] = {
    "affinity": _affinity,
    "context": _context,
    "intent": _intent,
    "value": _value,
    "popularity": _popularity,
    "open_intent": _open_intent,
    "fatigue": _fatigue,
    "similar": _similar,
}


def reasons(s: Scored, ctx: ScoringContext, intent_labels: dict[str, str]) -> list[str]:
    """Reasons for the terms that contributed most (by absolute contribution).

    Positive contributions explain why the action is here; a large negative one is
    mentioned too, so an agent knows why an obvious pick sits low. There is always at
    least one reason: the largest contribution, whatever its size.
    """
    ranked = sorted(s.contributions.items(), key=lambda kv: -abs(kv[1]))
    chosen = [name for name, c in ranked if abs(c) >= MIN_CONTRIBUTION][:MAX_REASONS]
    if not chosen and ranked and ranked[0][1] != 0:
        chosen = [ranked[0][0]]
    out = [WRITERS[name](s, ctx, intent_labels) for name in chosen]
    return out or ["a good general fit for this moment"]
