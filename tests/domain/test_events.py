"""The one table of event types: every derived set and the accepted names come from it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.events import (
    EVENT_KINDS,
    ITEM_EVENTS,
    NEGATIVE_EVENTS,
    OUTCOME_EVENTS,
    POPULARITY_WEIGHTS,
    Event,
    EventWeights,
)


def test_the_api_accepts_exactly_the_table_in_its_order() -> None:
    enum = Event.model_json_schema()["properties"]["type"]["enum"]
    assert enum == list(EVENT_KINDS)


def test_derived_sets_follow_the_table() -> None:
    assert {n for n, k in EVENT_KINDS.items() if k.requires == "item_id"} == ITEM_EVENTS
    assert {"purchase", "accept"} == OUTCOME_EVENTS
    assert {"decline", "dismiss"} == NEGATIVE_EVENTS
    assert POPULARITY_WEIGHTS["purchase"] == 3.0 and "view" not in POPULARITY_WEIGHTS
    weights = EventWeights()
    assert [weights.of(n) for n in ("purchase", "accept", "add_to_cart", "decline")] == [
        5.0,
        4.0,
        3.0,
        -3.0,
    ]
    assert weights.of("search") == 0.0 and weights.of("no_such_type") == 0.0


@pytest.mark.parametrize("name", list(EVENT_KINDS))
def test_each_type_requires_its_field(name: str) -> None:
    required = EVENT_KINDS[name].requires
    if required is None:
        Event(event_id="e1", user_id="u", type=name)
        return
    with pytest.raises(ValidationError, match=f"{required} is required for '{name}' events"):
        Event(event_id="e1", user_id="u", type=name)
