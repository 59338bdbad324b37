"""The query's sub-category preference (lexical and semantic), the damped popularity prior,
the retrieval of the named leaves and the specificity of gate prefixes, on the real index
of the demo catalog and the real static embedding."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from demo.seed import data_dir
from intent.embeddings import embedding_available
from recommender.catalog import CatalogIndex, load_actions_file
from recommender.history_scope import history_inside
from recommender.query_preference import with_preference
from recommender.ranking.preference import (
    GENERIC,
    NAMED,
    combined,
    lexical_preference,
    named_categories,
    semantic_preference,
    specificity,
)
from recommender.ranking.score import score_positions
from recommender.ranking.terms import ScoringContext, Weights, category_terms
from recommender.retrieval import Limits, RetrievalQuery, retrieve
from recommender.retrieval.evidence import Evidence, catalog_evidence
from recommender.retrieval.semantic import _sample, prototype_groups, semantic_index, warm
from recommender.text import tokens
from tests.recommender.evidence_world import CATALOG, TAXONOMY

needs_embedding = pytest.mark.skipif(
    not embedding_available(), reason="the static embedding package is not installed"
)


def _best(pref: dict[str, float]) -> str:
    return max(pref, key=lambda c: pref[c])


def _gate(name: str) -> tuple[str, ...]:
    intent = TAXONOMY.get(name)
    assert intent is not None
    return tuple(intent.allowed_categories)


@needs_embedding
@pytest.mark.parametrize(
    ("query", "gate", "leaf"),
    [
        ("earphones for jogging", "buy_electronics", "electronics/headphones"),
        ("something with dragons and wizards", "buy_book", "books/fiction/fantasy"),
        ("how to lead a team and run a company", "buy_book", "books/nonfiction/business"),
    ],
)
def test_the_meaning_of_a_query_names_its_leaf(query: str, gate: str, leaf: str) -> None:
    pref = semantic_preference(query, CATALOG, _gate(gate))
    assert _best(pref) == leaf
    assert all(0 < v <= 1 for v in pref.values())
    # only leaves inside the gate compete
    assert all(any(c.startswith(p) for p in _gate(gate)) for c in pref)


@needs_embedding
def test_semantic_index_is_built_once_per_catalog_and_bounded_per_leaf() -> None:
    index = semantic_index(CATALOG)
    assert index is not None and semantic_index(CATALOG) is index
    assert index.slots <= 16 * 3  # prototypes x title languages
    found = index.similarity("qqqq zzzz")  # no known token may still map to sub-words
    assert len(found.categories) in (0, len(index.leaves))
    assert semantic_preference("", CATALOG, _gate("buy_book")) == {}
    assert semantic_preference("a novel", CATALOG, ()) == {}


@needs_embedding
def test_a_grown_catalog_keeps_its_prototypes_and_the_previous_index_beside_it() -> None:
    """Prototypes are a sample fixed by the actions' ids: growing a leaf keeps most of
    them (a new version embeds few texts), and the previous catalog's index stays beside
    the new one's (a request that started on it does not rebuild it)."""
    actions = load_actions_file(data_dir() / "catalog.jsonl")
    base = [a for a in actions if a.category == "books/fiction/crime"]
    copies = [a.model_copy(update={"id": f"{a.id}-copy{n}"}) for n in range(8) for a in base]
    small = CatalogIndex.build([*actions, *copies[:40]], 2)
    grown = CatalogIndex.build([*actions, *copies], 3)
    live = semantic_index(small)
    assert live is not None
    warm(grown)  # the runtime builds the next catalog's off the event loop, before the swap
    assert semantic_index(small) is live  # the live catalog's is kept beside it
    next_index = semantic_index(grown)
    assert next_index is not None and next_index is not live
    assert semantic_index(grown) is next_index  # not built again
    # one pass over the id hashes picks, per leaf, what _sample picks among its actions
    for group in prototype_groups(grown):
        leaf = np.flatnonzero(grown.category_of == grown.category_of[group[0]])
        assert group.tolist() == _sample(leaf, grown).tolist()

    def prototypes(catalog: CatalogIndex) -> set[str]:
        leaf = [p for p, a in enumerate(catalog.items) if a.category == "books/fiction/crime"]
        return {catalog.ids[p] for p in _sample(np.asarray(leaf, np.intp), catalog).tolist()}

    before, after = prototypes(small), prototypes(grown)
    assert len(before) == len(after) == 16
    # an action leaves the sample only for one that hashes lower: most stay
    assert len(before & after) >= 8


def test_combined_weighs_the_lexical_reading_by_its_strength() -> None:
    lexical = {"a": 1.0, "b": 0.2}
    semantic = {"a": 0.1, "b": 1.0}
    strong, focus = combined(lexical, 1.0, semantic)
    assert _best(strong) == "a" and focus == 1.0
    weak, focus = combined(lexical, 0.05, semantic)
    assert _best(weak) == "b" and 0 < focus < 1
    assert combined({}, 0.0, {}) == ({}, 0.0)
    assert max(weak.values()) == pytest.approx(1.0)


def test_a_lexical_vote_outside_the_gate_is_no_vote_inside() -> None:
    e = Evidence(categories={"agent/phone": 1.0}, intents={"talk_to_agent": 1.0}, strength=0.9)
    assert lexical_preference(e, ("books",)) == {}
    assert lexical_preference(e) == {"agent/phone": 1.0}


@needs_embedding
def test_preference_damps_popularity_and_never_raises_the_intent_term() -> None:
    gate = _gate("buy_book")
    # the shelf next door is popular
    popular = {a.id: 0.5 for a in CATALOG.items if a.category == "books/fiction/crime"}
    ctx = ScoringContext(
        query="how to lead a team and run a company",
        query_tokens=tokens("how to lead a team and run a company"),
        intent_categories=gate,
        intent_names=frozenset({"buy_book"}),
        popularity=popular,
    )
    words = frozenset(tokens(ctx.query or ""))
    got = with_preference(ctx, catalog_evidence(CATALOG, TAXONOMY, words), CATALOG)
    assert got.popularity_scale < 1.0 and got.preference_strength > 0
    # the popularity prior keeps its weight inside the named leaf, falls outside it
    assert category_terms("books/nonfiction/business", got)[4] == 1.0
    assert category_terms("books/fiction/crime", got)[4] < 1.0
    business = category_terms("books/nonfiction/business", got)[2]
    crime = category_terms("books/fiction/crime", got)[2]
    assert business == 1.0 and crime < business
    # depth earns nothing: every leaf without preference falls alike, whatever its depth
    assert category_terms("books/deals", got)[2] <= 1.0
    positions = CATALOG.under_prefix("books")
    # the query's meaning ranks inside the gate (the popularity prior left out: a reading by
    # meaning alone counts less than a full lexical match, see docs/ranking.md)
    plain = replace(got, popularity={})
    table = score_positions(CATALOG, np.sort(positions), plain, Weights())
    top = [CATALOG.items[int(table.positions[r])].category for r in np.argsort(-table.score)[:3]]
    assert top[0] == "books/nonfiction/business" or top[1] == "books/nonfiction/business"
    assert "books/nonfiction/business" in named_categories(got)
    assert all(got.category_preference[c] >= NAMED for c in named_categories(got))


@needs_embedding
def test_history_stays_inside_the_leaves_a_query_names_by_meaning() -> None:
    crime = [a.id for a in CATALOG.items if a.category == "books/fiction/crime"][:3]
    reader = ScoringContext(
        query="earphones for jogging",
        intent_categories=_gate("buy_electronics"),
        category_affinity={"books/fiction/crime": 3.0, "books": 2.0},
        item_affinity=dict.fromkeys(crime, 1.0),
        similar=dict.fromkeys(crime, 0.8),
    )
    got = with_preference(reader, Evidence(), CATALOG)
    assert got.item_affinity == {} and got.similar == {}
    assert "books/fiction/crime" not in got.category_affinity


@needs_embedding
def test_the_named_leaves_are_retrieved_even_without_a_shared_word() -> None:
    ctx = with_preference(
        ScoringContext(query="earphones for jogging", intent_categories=_gate("buy_electronics")),
        Evidence(),
        CATALOG,
    )
    named = named_categories(ctx)
    assert "electronics/headphones" in named
    got = retrieve(
        CATALOG,
        RetrievalQuery(preferred_categories=named),
        Limits(category=0, per_prefix=0),
        lambda p: np.ones(len(p), np.bool_),
    )
    cats = {CATALOG.items[int(p)].category for p in got.positions}
    assert "electronics/headphones" in cats and got.sources.get("preferred", 0) > 0


def test_gate_prefixes_many_intents_admit_fall_below_the_gates_own() -> None:
    billing = TAXONOMY.get("billing_question")
    agent = TAXONOMY.get("talk_to_agent")
    assert billing is not None and agent is not None
    spec = specificity((billing,), TAXONOMY)
    assert spec["services/billing_help"] == 1.0 and spec["agent"] < 0.5
    assert specificity((agent,), TAXONOMY) == {}  # the one prefix of the gate
    ctx = ScoringContext(
        intent_categories=tuple(billing.allowed_categories),
        specificity=spec,
        generic_penalty=GENERIC,
    )
    own = category_terms("services/billing_help", ctx)[2]
    way_out = category_terms("agent/chat", ctx)[2]
    assert own == 1.0 and 1.0 - GENERIC <= way_out < own


def test_every_history_source_stays_inside_the_named_leaves() -> None:
    # the query names an installation service and fibre plans; the user's past is in
    # services (a parent level only the installation leaf shares), on an account page,
    # with an open billing question
    named = {"services/installation", "plans/broadband/fiber"}
    reader = ScoringContext(
        intent_categories=_gate("broadband"),
        category_affinity={"services": 2.0, "plans": 0.5, "plans/broadband/fiber": 1.0},
        page_category="services/account",
        open_intent_categories={
            "billing_question": ("services", "agent"),
            "broadband": ("plans", "services"),
        },
    )
    got = history_inside(reader, named, CATALOG)
    # a level above only some named leaves is dropped; one inside a named leaf stays
    assert got.category_affinity == {"plans/broadband/fiber": 1.0}
    assert got.page_category is None
    # an open intent that admits every named leaf lifts them alike and stays
    assert set(got.open_intent_categories) == {"broadband"}
    # outside the named leaves no history term counts at all
    affinity, page, _, open_intent, _ = category_terms("plans/broadband/addons", got)
    assert affinity == 0 and page == 0 and open_intent is None
    assert category_terms("plans/broadband/fiber", got)[0] > 0
    assert category_terms("services/installation", got)[3] == "broadband"
