"""Typed queries' work remembered across requests: the same answers as computing them
afresh, and nothing kept from a model or catalog that is no longer live."""

from __future__ import annotations

from dataclasses import replace

from demo.seed import data_dir
from intent.resolve import IntentDecision
from recommender.catalog import CatalogIndex, load_actions_file
from recommender.intent_evidence import weigh_query
from recommender.query_memo import Lru, QueryMemo, weighs
from recommender.ranking.preference import semantic_preference
from recommender.state import LiveState
from tests.recommender.evidence_world import CATALOG, TAXONOMY
from tests.recommender.test_intent_evidence import _Learned

QUERIES = ["washng machine brokn", "Kaltes Kontobuch", "a quiet fridge", "cancel it"]


def _state() -> LiveState:
    return LiveState(
        catalog=CATALOG, taxonomy=TAXONOMY, model=_Learned({"washing", "machine", "broken"})
    )


def test_a_remembered_decision_equals_a_fresh_one() -> None:
    state, memo = _state(), QueryMemo()
    for query in QUERIES * 2:
        assert weighs(query, None, state)
        assert memo.weigh(query, state) == weigh_query(query, None, IntentDecision(), state)
    assert memo.decisions.misses == len(QUERIES) and memo.decisions.hits == len(QUERIES)
    first = memo.weigh(QUERIES[0], state)
    assert memo.weigh(QUERIES[0], state) is first  # one immutable value, shared


def test_only_typed_queries_the_evidence_decides_are_remembered() -> None:
    state = _state()
    assert not weighs("washing machine", "buy_appliance", state)  # an explicit intent
    assert not weighs("", None, state) and not weighs(None, None, state)
    assert not weighs("42 !!", None, state)  # no words
    assert not weighs("washing machine", None, replace(state, model=None))


def test_a_new_model_or_catalog_starts_the_memo_afresh() -> None:
    state, memo = _state(), QueryMemo()
    memo.weigh(QUERIES[0], state)
    other_model = replace(state, model=_Learned({"washing"}))
    memo.weigh(QUERIES[0], other_model)
    assert memo.decisions.misses == 2 and len(memo.decisions) == 1
    grown = CatalogIndex.build(load_actions_file(data_dir() / "catalog.jsonl"), 2)
    memo.weigh(QUERIES[0], replace(other_model, catalog=grown))
    assert memo.decisions.misses == 3 and len(memo.decisions) == 1


def test_semantic_preferences_are_the_fresh_ones() -> None:
    memo = QueryMemo()
    gate = ("home_appliances",)
    for query in ["a quiet fridge", "a quiet fridge", "dishwasher"]:
        assert memo.semantic(query, CATALOG, gate) == semantic_preference(query, CATALOG, gate)
    assert memo.semantic(None, CATALOG, gate) == {} and memo.semantic("x", CATALOG, ()) == {}


def test_the_lru_forgets_the_least_recently_used() -> None:
    lru: Lru[str, int] = Lru(size=2)
    owner = (object(),)
    for key, value in [("a", 1), ("b", 2)]:
        assert lru.get(owner, key, lambda v=value: v) == value  # type: ignore[misc]
    assert lru.get(owner, "a", lambda: 0) == 1  # "a" used last: "b" goes first
    lru.get(owner, "c", lambda: 3)
    assert lru.get(owner, "b", lambda: 20) == 20 and lru.get(owner, "c", lambda: 0) == 3
