"""Pure parts of the recommender: scoring terms, reasons, diversity, text matching."""

from __future__ import annotations

import numpy as np
import pytest

from domain.actions import Action
from domain.errors import Invalid
from recommender.catalog import CatalogIndex, parse_actions_jsonl
from recommender.explain import ReasonContext, reasons
from recommender.ranking.arbitrate import diversify_rows
from recommender.scoring import ScoringContext, Weights, score_action
from recommender.text import match, tokens


def make(id_: str, category: str, value: float = 10.0, **kw: object) -> Action:
    return Action.model_validate(
        {
            "id": id_,
            "kind": "product",
            "title": {"en": id_},
            "category": category,
            "value": value,
            **kw,
        }
    )


CATALOG = CatalogIndex.build(
    [
        make(
            "crime1",
            "books/fiction/crime",
            title={"en": "The Quiet Detective"},
            tags=["crime", "thriller"],
        ),
        make("crime2", "books/fiction/crime"),
        make("crime3", "books/fiction/crime"),
        make("romance1", "books/fiction/romance"),
        make("dish1", "home_appliances/dishwashers", value=200.0),
    ],
    version=1,
)


def test_tokens_fold_case_accents_plurals_and_stopwords() -> None:
    assert tokens("I want new Crime Novels") == tokens("crime novel")
    assert len(tokens("I want new Crime Novels")) == 2
    assert tokens("Kriminalromane für mich") == tokens("kriminalroman fur mich")


def test_match_is_share_of_query_words_found() -> None:
    assert match(frozenset({"crime", "novel"}), frozenset({"crime", "book"})) == 0.5
    assert match(frozenset(), frozenset({"x"})) == 0.0


def test_score_is_the_weighted_sum_of_its_terms() -> None:
    ctx = ScoringContext(
        category_affinity={"books": 3.0, "books/fiction/crime": 5.0},
        query_tokens=tokens("crime thriller"),
        query="crime thriller",
    )
    weights = Weights(value=0.5)
    s = score_action(CATALOG.actions["crime1"], ctx, CATALOG, weights)
    assert s.score == pytest.approx(sum(getattr(weights, k) * v for k, v in s.terms.items()))
    assert s.terms["affinity"] > 0 and s.terms["context"] > 0
    text = [
        r.text
        for r in reasons(
            s,
            ctx,
            ReasonContext.build(
                language="en",
                voice="customer",
                query=ctx.query,
                intent=None,
                clarify_options=(),
                page_now=None,
            ),
        )
    ]
    assert any("crime thriller" in r for r in text)
    assert any("interest" in r for r in text)


def test_fatigue_lowers_and_explains() -> None:
    fresh = score_action(CATALOG.actions["crime2"], ScoringContext(), CATALOG, Weights())
    tired_ctx = ScoringContext(impressions={"crime2": 6.0})
    tired = score_action(CATALOG.actions["crime2"], tired_ctx, CATALOG, Weights())
    assert tired.score < fresh.score
    texts = [r.text for r in reasons(tired, tired_ctx, ReasonContext())]
    assert "shown to you recently, so it ranks lower" in texts


def test_every_action_gets_a_reason_even_cold() -> None:
    s = score_action(CATALOG.actions["dish1"], ScoringContext(), CATALOG, Weights())
    assert reasons(s, ScoringContext(), ReasonContext())


def test_unknown_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown ranking weights: colour"):
        Weights().replace({"colour": 1.0})


def test_diversify_caps_a_leaf_then_fills() -> None:
    ids = ["crime1", "crime2", "crime3", "romance1"]
    leaf = np.array([0, 0, 0, 1], dtype=np.int32)  # crime, crime, crime, romance
    top = diversify_rows(np.arange(4), leaf, 3, 0.34)
    assert [ids[row] for row in top] == ["crime1", "crime2", "romance1"]
    assert [ids[row] for row in diversify_rows(np.arange(3), leaf, 3, 0.34)] == ids[:3]


def test_catalog_under_prefix() -> None:
    assert {a.id for a in CATALOG.under(["books/fiction/crime"])} == {"crime1", "crime2", "crime3"}
    assert {a.id for a in CATALOG.under(["books/fic"])} == set()
    assert len(CATALOG.under(None)) == 5


def test_jsonl_errors_name_the_line() -> None:
    good = make("ok", "books").model_dump_json()
    with pytest.raises(Invalid, match=r"catalog.jsonl:2: category: .*lower-case path"):
        parse_actions_jsonl([good, good.replace('"books"', '"Books!"')], "catalog.jsonl")
