"""The demo world's data files: schema validity, coverage and internal consistency."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from demo import build_catalog
from domain.actions import Action
from domain.customer import Profile
from domain.events import Event
from intent.data import load_jsonl
from intent.taxonomy import OUT_OF_SCOPE, Taxonomy
from recommender.ranking.rules import holds

LANGUAGES = ("en", "de", "fr")
DEMO_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

REQUIRED_TOP = {
    "books",
    "home_appliances",
    "electronics",
    "fashion",
    "plans",
    "services",
    "retention",
    "agent",
    "social",
}
REQUIRED_INTENTS = {
    "buy_book",
    "buy_appliance",
    "repair_appliance",
    "buy_electronics",
    "buy_fashion",
    "mobile_plan",
    "broadband",
    "cancel_contract",
    "billing_question",
    "tech_support",
    "track_order",
    "return_item",
    "talk_to_agent",
    "share_with_friends",
    "moving_house",
    "gift_ideas",
}
ID_PREFIX = {
    "bk": "books",
    "ha": "home_appliances",
    "el": "electronics",
    "fa": "fashion",
    "pm": "plans/mobile",
    "pb": "plans/broadband",
    "sv": "services",
    "rt": "retention",
    "ag": "agent",
    "so": "social",
}
# Sentences the intent tests use; they must not be in the training data verbatim.
HELD_OUT = {
    "i want a new crime novel",
    "my dishwasher broke, i need a new one",
    "my dishwasher is broken, can someone repair it",
    "i want to cancel my contract",
}


def data_dir() -> Path:
    return Path(str(resources.files("demo") / "data"))


def read_jsonl(name: str) -> list[dict[str, Any]]:
    with (data_dir() / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@cache
def catalog() -> dict[str, Action]:
    actions = [Action.model_validate(row) for row in read_jsonl("catalog.jsonl")]
    return {a.id: a for a in actions}


@cache
def taxonomy() -> Taxonomy:
    return Taxonomy.model_validate_json((data_dir() / "taxonomy.json").read_text("utf-8"))


# --- catalog -----------------------------------------------------------------------------


def test_every_catalog_line_validates_and_ids_are_unique() -> None:
    rows = read_jsonl("catalog.jsonl")
    ids = [Action.model_validate(row).id for row in rows]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert len(rows) >= 320


def test_catalog_has_the_required_top_level_categories() -> None:
    tops = {a.top_category for a in catalog().values()}
    assert len(tops) >= 9
    assert tops >= REQUIRED_TOP


def test_ids_use_a_readable_prefix_per_family() -> None:
    for action in catalog().values():
        prefix = action.id.split("-", 1)[0]
        assert prefix in ID_PREFIX, action.id
        assert action.category.startswith(ID_PREFIX[prefix] + "/"), action.id


def test_kinds_match_their_family() -> None:
    for action in catalog().values():
        if action.top_category in ("retention", "agent", "social"):
            assert action.kind == action.top_category, action.id
        if action.top_category == "plans":
            assert action.kind == "offer", action.id
    kinds = Counter(a.kind for a in catalog().values())
    assert set(kinds) == {"product", "offer", "content", "service", "retention", "agent", "social"}


def test_values_are_realistic() -> None:
    for action in catalog().values():
        if action.kind != "product":
            continue
        if action.category.startswith("books/fiction") or action.category.startswith(
            "books/nonfiction"
        ):
            assert 2 <= action.value <= 8, action.id
        if action.top_category == "home_appliances" and action.price and action.price >= 100:
            assert 40 <= action.value <= 200, action.id
    for action in catalog().values():
        if action.top_category == "retention":
            assert 100 <= action.value <= 300, action.id
        if action.top_category == "plans":
            assert 50 <= action.value <= 400, action.id


def test_titles_are_mostly_trilingual_with_a_few_deliberate_exceptions() -> None:
    actions = list(catalog().values())
    trilingual = [a for a in actions if a.languages >= set(LANGUAGES)]
    assert len(trilingual) >= 0.9 * len(actions)
    assert any(a.languages == {"en"} for a in actions)
    assert any(a.languages == {"de"} for a in actions)
    assert all(a.languages <= set(LANGUAGES) for a in actions)


def test_regions_and_channels_vary() -> None:
    actions = list(catalog().values())
    assert sum(not a.regions for a in actions) > len(actions) / 2
    dach_broadband = [
        a
        for a in actions
        if a.category.startswith("plans/broadband") and a.regions == ["DE", "AT", "CH"]
    ]
    assert dach_broadband
    assert any(a.regions == ["FR"] for a in actions)
    assert any(a.channels == ["store"] for a in actions)
    assert any(a.channels and "contact_center" not in a.channels for a in actions)
    for action in actions:
        if action.kind == "agent":
            assert not action.channels or set(action.channels) & {"web", "app", "chat"}


def test_validity_windows_cover_past_present_and_future() -> None:
    windows: list[tuple[datetime, datetime]] = []
    for action in catalog().values():
        if action.valid_from is None and action.valid_to is None:
            continue
        assert action.valid_from is not None and action.valid_to is not None, action.id
        assert action.valid_from.tzinfo is not None, action.id
        windows.append((action.valid_from, action.valid_to))
    current = [w for w in windows if w[0] <= DEMO_NOW <= w[1]]
    expired = [w for w in windows if w[1] < DEMO_NOW]
    future = [w for w in windows if w[0] > DEMO_NOW]
    assert len(current) >= 3
    assert len(expired) >= 1
    assert len(future) >= 1


def test_eligibility_caps_and_regulated_offers() -> None:
    actions = list(catalog().values())
    contract = {"field": "profile.segments", "op": "contains", "value": "contract_customer"}
    renewal = [a for a in actions if a.category.startswith("retention/renewal")]
    assert renewal
    for action in renewal:
        assert contract in [r.model_dump() for r in action.eligibility], action.id
    rules = [r.model_dump() for a in actions for r in a.eligibility]
    assert {"field": "profile.segments", "op": "contains", "value": "student"} in rules
    assert {"field": "profile.tenure_months", "op": "gte", "value": 12} in rules
    assert sum(a.cap is not None for a in actions) >= 3
    regulated = [a for a in actions if not a.explore]
    assert regulated
    for action in actions:
        if {"credit", "financing"} & set(action.tags):
            assert not action.explore, f"{action.id} is a credit offer and must not be explored"


def test_tags_are_lower_case_words() -> None:
    for action in catalog().values():
        assert action.tags, action.id
        for tag in action.tags:
            assert tag == tag.lower() and " " not in tag, (action.id, tag)


# --- build script --------------------------------------------------------------------------


def test_build_catalog_is_deterministic(tmp_path: Path) -> None:
    committed = (data_dir() / "catalog.jsonl").read_bytes()
    assert build_catalog.render().encode("utf-8") == committed
    out = tmp_path / "catalog.jsonl"
    assert build_catalog.main(["--out", str(out)]) == 0
    assert out.read_bytes() == committed
    assert build_catalog.render() == build_catalog.render()


# --- taxonomy --------------------------------------------------------------------------------


def test_taxonomy_validates_and_has_the_required_intents() -> None:
    tax = taxonomy()
    assert len(tax.intents) >= 16
    assert set(tax.names) >= REQUIRED_INTENTS
    for intent in tax.intents:
        assert set(intent.label) >= set(LANGUAGES), intent.name
        assert set(intent.clarify_prompt) >= set(LANGUAGES), intent.name
        assert all(text.strip() for text in intent.clarify_prompt.values())


def test_every_intent_reaches_at_least_one_action() -> None:
    actions = list(catalog().values())
    for intent in taxonomy().intents:
        for prefix in intent.allowed_categories:
            assert any(
                a.category == prefix or a.category.startswith(prefix + "/") for a in actions
            ), f"{intent.name}: no action under {prefix}"
        assert any(intent.allows(a.category, a.kind) for a in actions), intent.name


def test_intent_mapping_is_sensible() -> None:
    tax = taxonomy()

    def tops(name: str) -> set[str]:
        intent = tax.get(name)
        assert intent is not None
        return {p.split("/", 1)[0] for p in intent.allowed_categories}

    assert tops("buy_book") == {"books"}
    assert tops("cancel_contract") == {"retention", "agent"}
    assert tops("talk_to_agent") == {"agent"}
    assert tops("share_with_friends") == {"social"}
    assert "home_appliances" in tops("buy_appliance")
    assert "books" not in tops("buy_appliance")
    book = tax.get("buy_book")
    assert book is not None
    for action in catalog().values():
        if action.top_category != "books":
            assert not book.allows(action.category, action.kind), action.id


# --- utterances ------------------------------------------------------------------------------


def test_utterances_cover_every_intent_in_three_languages() -> None:
    examples = load_jsonl(data_dir() / "utterances.jsonl")
    names = set(taxonomy().names)
    counts = Counter((e.intent, e.language) for e in examples)
    for example in examples:
        assert example.intent in names or example.intent == OUT_OF_SCOPE, example
        assert example.language in LANGUAGES, example
        assert example.text == example.text.strip() and example.text
    for name in names:
        assert counts[(name, "en")] >= 40, name
        assert counts[(name, "de")] >= 15, name
        assert counts[(name, "fr")] >= 15, name
    oos = [e for e in examples if e.intent == OUT_OF_SCOPE]
    assert len(oos) >= 150
    assert all(counts[(OUT_OF_SCOPE, lang)] >= 30 for lang in LANGUAGES)


def test_utterances_are_unique_and_exclude_the_held_out_sentences() -> None:
    examples = load_jsonl(data_dir() / "utterances.jsonl")
    keys = [(e.text.lower(), e.language) for e in examples]
    assert len(keys) == len(set(keys)), [k for k, n in Counter(keys).items() if n > 1]
    texts = {e.text.lower().strip(" .!?") for e in examples}
    assert not texts & HELD_OUT


# --- customers -------------------------------------------------------------------------------


@cache
def customers() -> list[dict[str, Any]]:
    return read_jsonl("customers.jsonl")


def test_customers_validate() -> None:
    people = customers()
    assert len(people) == 12
    ids = [c["user_id"] for c in people]
    assert len(ids) == len(set(ids))
    for customer in people:
        profile = Profile.model_validate(customer["profile"])
        assert {"name", "country", "language"} <= set(profile.attributes)
        assert 5 <= len(customer["events"]) <= 25, customer["user_id"]
        for raw in customer["events"]:
            Event.model_validate({**raw, "user_id": customer["user_id"]})
    countries = {c["profile"]["attributes"]["country"] for c in people}
    languages = {c["profile"]["attributes"]["language"] for c in people}
    assert len(countries) >= 5
    assert languages == set(LANGUAGES)
    segments = {s for c in people for s in c["profile"]["segments"]}
    assert segments >= {"contract_customer", "student", "premium", "new_customer", "at_risk"}


def test_customer_events_refer_to_existing_items_and_have_unique_ids() -> None:
    known = catalog()
    event_ids: list[str] = []
    for customer in customers():
        for raw in customer["events"]:
            event_ids.append(raw["event_id"])
            if raw.get("item_id") is not None:
                assert raw["item_id"] in known, (customer["user_id"], raw["item_id"])
            if raw["type"] == "search":
                assert raw.get("query")
    assert len(event_ids) == len(set(event_ids))


def test_customer_stories_respect_availability() -> None:
    """Items a customer saw were available to them: language, country, channel, date, rules."""
    known = catalog()
    for customer in customers():
        profile = Profile.model_validate(customer["profile"])
        country = profile.attributes["country"]
        facts = {
            "profile": {
                **profile.attributes,
                "segments": profile.segments,
                "tenure_months": profile.tenure_months,
            }
        }
        for raw in customer["events"]:
            event = Event.model_validate({**raw, "user_id": customer["user_id"]})
            if event.item_id is None:
                continue
            action = known[event.item_id]
            where = (customer["user_id"], event.event_id, action.id)
            assert event.context is not None
            assert event.context.language in action.languages, where
            assert not action.channels or event.context.channel in action.channels, where
            assert not action.regions or country in action.regions, where
            if event.type in ("impression", "click", "accept") and event.ts is not None:
                assert action.valid_from is None or action.valid_from <= event.ts, where
                assert action.valid_to is None or event.ts <= action.valid_to, where
            if event.type in ("impression", "accept"):
                assert all(holds(rule, facts) for rule in action.eligibility), where


@pytest.mark.parametrize("name", ["catalog.jsonl", "utterances.jsonl", "customers.jsonl"])
def test_jsonl_files_are_utf8_with_one_object_per_line(name: str) -> None:
    raw = (data_dir() / name).read_bytes()
    text = raw.decode("utf-8")
    assert text.endswith("\n")
    for line in text.splitlines():
        assert line.strip(), f"{name}: blank line"
        assert isinstance(json.loads(line), dict)
