"""Pure parts of the context package: decay, keys, rules, the filter, event plans."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pydantic import ValidationError
from redis.crc import key_slot

from context.decay import EPOCH, Decay
from context.events import EFFECTS, EventPlanner
from domain.actions import Action, Rule
from domain.events import EVENT_KINDS, NEGATIVE_EVENTS, OUTCOME_EVENTS, Event
from domain.keys import GlobalKeys, UserKeys
from intent.taxonomy import Intent
from recommender.catalog import CatalogIndex
from recommender.ranking.filter import ContextFilter, FilterContext
from recommender.ranking.rules import holds

DAY = 86_400.0


def action(**kw: object) -> Action:
    base: dict[str, object] = {
        "id": "a1",
        "kind": "product",
        "title": {"en": "A", "de": "A"},
        "category": "books/fiction/crime",
        "value": 5,
    }
    return Action.model_validate({**base, **kw})


def test_decay_halves_every_half_life_and_adds_up() -> None:
    d = Decay(14 * DAY)
    t0 = EPOCH + 100 * DAY
    stored = d.encode(4.0, t0) + d.encode(2.0, t0 + 14 * DAY)
    scores = d.decode_all({b"x": repr(stored).encode()}, t0 + 28 * DAY)
    assert scores["x"] == pytest.approx(4.0 / 4 + 2.0 / 2)


def test_decay_refuses_tiny_half_life() -> None:
    with pytest.raises(ValueError):
        Decay(60)


def test_every_user_key_lives_on_one_cluster_slot() -> None:
    keys = UserKeys("wp", "anna:{weird}*id")
    slots = {key_slot(k.encode()) for k in keys.all()}
    assert len(slots) == 1
    assert len({key_slot(k.encode()) for k in UserKeys("wp", "ben").all()}) == 1


def test_keys_written_together_share_their_concerns_slot() -> None:
    g = GlobalKeys("wp")
    models = g.intent_models
    groups = {
        "catalog": [g.catalog_items, g.catalog_version, g.catalog_changes],
        "intents": [g.taxonomy, g.taxonomy_version, models.index, models.blob("v1"), models.active],
        "ranker": [g.rankers.index, g.rankers.blob("r1"), g.rankers.active],
    }
    for name, keys in groups.items():
        assert len({key_slot(k.encode()) for k in keys}) == 1, name


@pytest.mark.parametrize(
    "rule,facts,expected",
    [
        (
            Rule(field="profile.segments", op="contains", value="student"),
            {"profile": {"segments": ["student"]}},
            True,
        ),
        (
            Rule(field="profile.segments", op="contains", value="student"),
            {"profile": {"segments": []}},
            False,
        ),
        (
            Rule(field="profile.tenure_months", op="gte", value=12),
            {"profile": {"tenure_months": None}},
            False,
        ),
        (
            Rule(field="profile.tenure_months", op="gte", value=12),
            {"profile": {"tenure_months": 13}},
            True,
        ),
        (
            Rule(field="context.channel", op="in", value=["web", "app"]),
            {"context": {"channel": "app"}},
            True,
        ),
        (Rule(field="context.device", op="ne", value="kiosk"), {"context": {}}, True),
        (Rule(field="profile.age", op="gte", value="x"), {"profile": {"age": 3}}, False),
    ],
)
def test_rules(rule: Rule, facts: dict[str, object], expected: bool) -> None:
    assert holds(rule, facts) is expected


def test_filter_counts_each_rule() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    book = Intent(name="buy_book", label={"en": "Book"}, allowed_categories=["books"])
    actions = [
        action(id="ok"),
        action(id="fridge", category="home_appliances/fridges"),
        action(id="store-only", channels=["store"]),
        action(id="en-only", title={"en": "B"}),
        action(id="fr-only", regions=["FR"]),
        action(id="expired", valid_to=now - timedelta(days=1)),
        action(id="owned"),
        action(
            id="students",
            eligibility=[{"field": "profile.segments", "op": "contains", "value": "student"}],
        ),
    ]
    catalog = CatalogIndex.build(actions, 1)
    result = ContextFilter(
        catalog,
        FilterContext(
            channel="web",
            language="de",
            country="DE",
            now=now.timestamp(),
            owned=frozenset({"owned"}),
            intents=(book,),
            facts={"profile": {"segments": []}},
        ),
    ).apply(np.arange(len(catalog), dtype=np.int32))
    assert [catalog.ids[p] for p in result.kept] == ["ok"]
    assert result.removed == {
        "intent": 1,
        "channel": 1,
        "language": 1,
        "region": 1,
        "validity": 1,
        "owned": 1,
        "excluded": 0,
        "eligibility": 1,
    }


def test_purchase_plan_owns_item_and_closes_open_intents() -> None:
    planner = EventPlanner(affinity=Decay(14 * DAY), fatigue=Decay(DAY), journey_ttl_s=1800)
    event = Event(event_id="e1", user_id="u", type="purchase", item_id="a1")
    ops = planner.plan(
        event, now=EPOCH + DAY, action=action(), intents_closed_by=lambda a: ["buy_book"]
    )
    assert ("sadd", "owned", "a1", "") in ops
    assert ("hdel", "open_intents", "buy_book", "") in ops
    increments = {a: float(b) for op, k, a, b in ops if k == "category_affinity"}
    assert set(increments) == {"books", "books/fiction", "books/fiction/crime"}
    assert all(
        math.isclose(v, Decay(14 * DAY).encode(5.0, EPOCH + DAY)) for v in increments.values()
    )
    history = [json.loads(a) for op, k, a, _ in ops if k == "history"]
    assert history[0]["event_id"] == "e1"


@pytest.mark.parametrize(
    "payload,message",
    [
        ({"type": "view"}, "item_id is required"),
        ({"type": "search"}, "query is required"),
        ({"type": "clarify_answer"}, "intent is required"),
        ({"type": "view", "item_id": "x", "ts": "2026-01-01T00:00:00"}, "timezone"),
        ({"type": "teleport", "item_id": "x"}, "Input should be"),
    ],
)
def test_event_validation_messages(payload: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Event.model_validate({"event_id": "e", "user_id": "u", **payload})


def test_event_types_with_a_state_effect_have_a_handler() -> None:
    assert set(EFFECTS) == NEGATIVE_EVENTS | OUTCOME_EVENTS | {"maybe_later"}
    assert set(EFFECTS) <= set(EVENT_KINDS)


def test_journey_steps_are_stored_as_the_model_would_write_them() -> None:
    from context.events import step_json
    from domain.customer import JourneyStep

    for fields in (
        {"ts": 1.5, "type": "view", "channel": "web", "item_id": "a1", "query": None},
        {"ts": 2.0, "type": "recommend", "channel": "app", "query": 'é "x"', "intent": "i"},
    ):
        want = JourneyStep.model_validate(fields).model_dump_json(exclude_none=True)
        assert json.loads(step_json(fields)) == json.loads(want)
        assert list(json.loads(step_json(fields))) == list(json.loads(want))
