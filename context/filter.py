"""The context filter: which actions may be shown to this customer, here and now.

Each rule is a named predicate; the filter applies them in order and counts how many
candidates each one removed, so a debug answer can say why an action is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from context.rules import holds
from intent.taxonomy import Intent
from recommender.models import Action


@dataclass(frozen=True)
class FilterContext:
    channel: str
    language: str
    country: str | None
    now: datetime
    owned: frozenset[str] = frozenset()
    intents: tuple[Intent, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    excluded: frozenset[str] = frozenset()


Predicate = Callable[[Action, FilterContext], bool]


def _intent(a: Action, c: FilterContext) -> bool:
    return not c.intents or any(i.allows(a.category, a.kind) for i in c.intents)


def _channel(a: Action, c: FilterContext) -> bool:
    return not a.channels or c.channel in a.channels


def _language(a: Action, c: FilterContext) -> bool:
    return c.language in a.title


def _region(a: Action, c: FilterContext) -> bool:
    return not a.regions or (c.country is not None and c.country in a.regions)


def _validity(a: Action, c: FilterContext) -> bool:
    return (a.valid_from is None or a.valid_from <= c.now) and (
        a.valid_to is None or c.now < a.valid_to
    )


def _owned(a: Action, c: FilterContext) -> bool:
    return a.id not in c.owned


def _eligibility(a: Action, c: FilterContext) -> bool:
    return all(holds(rule, c.facts) for rule in a.eligibility)


def _excluded(a: Action, c: FilterContext) -> bool:
    return a.id not in c.excluded


#: The rules in the order they run (cheap and most selective first).
RULES: tuple[tuple[str, Predicate], ...] = (
    ("intent", _intent),
    ("channel", _channel),
    ("language", _language),
    ("region", _region),
    ("validity", _validity),
    ("owned", _owned),
    ("excluded", _excluded),
    ("eligibility", _eligibility),
)


@dataclass
class FilterResult:
    kept: list[Action]
    removed: dict[str, int]


def apply_filter(candidates: Iterable[Action], ctx: FilterContext) -> FilterResult:
    removed = {name: 0 for name, _ in RULES}
    kept: list[Action] = []
    for action in candidates:
        for name, rule in RULES:
            if not rule(action, ctx):
                removed[name] += 1
                break
        else:
            kept.append(action)
    return FilterResult(kept=kept, removed=removed)
