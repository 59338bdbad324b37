"""When two intents compete: nested intents (one's answers within the other's) count as
one, a real rival keeps a short query open, and the margin rule holds back a gate."""

from __future__ import annotations

from dataclasses import replace

from intent.cache import CachedPredictor, PredictionCache
from intent.taxonomy import Intent
from intent.trouble import ALL
from intent.word_spread import count_spread, shares
from recommender.intent_evidence import (
    DEFAULT_COMBINER,
    both_admit,
    decide,
    narrowest,
    nested,
    open_word,
    within,
)
from recommender.retrieval.evidence import NO_EVIDENCE, Evidence, catalog_evidence
from recommender.state import LiveState
from recommender.text import tokens
from tests.recommender.evidence_world import CATALOG, TAXONOMY, Said


def evidence(query: str) -> Evidence:
    e = catalog_evidence(CATALOG, TAXONOMY, tokens(query))
    return replace(e, words=len(tokens(query)))


def intent(name: str) -> Intent:
    found = TAXONOMY.get(name)
    assert found is not None
    return found


def test_books_are_within_gift_ideas_and_buying_is_not_within_repairing() -> None:
    assert within(intent("buy_book"), intent("gift_ideas"))
    assert not within(intent("gift_ideas"), intent("buy_book"))
    assert nested(intent("gift_ideas"), intent("buy_book"))
    assert within(intent("talk_to_agent"), intent("cancel_contract"))
    assert not nested(intent("buy_appliance"), intent("repair_appliance"))


def test_the_narrowest_of_nested_options_and_none_for_real_rivals() -> None:
    books, gifts = intent("buy_book"), intent("gift_ideas")
    assert narrowest([gifts, books]) == books
    assert narrowest([intent("buy_appliance"), intent("repair_appliance")]) is None


def test_nested_options_gate_on_the_narrower_only_when_it_is_the_likelier() -> None:
    # books likelier than gifts: every book the gate shows is a gift idea too
    said = Said((("buy_book", 0.55), ("gift_ideas", 0.44), ("buy_fashion", 0.005)))
    d = decide(said, NO_EVIDENCE, TAXONOMY)
    assert d.intent is not None and d.intent.name == "buy_book"
    assert not d.clarify_options
    assert d.confidence < DEFAULT_COMBINER.gate


def test_a_less_likely_narrow_option_never_decides() -> None:
    # gifts likelier than books: the narrow reading does not gate, the customer is asked,
    # the options in order of probability
    for books in (0.44, 0.2):
        said = Said((("gift_ideas", 0.55), ("buy_book", books), ("buy_fashion", 0.005)))
        d = decide(said, NO_EVIDENCE, TAXONOMY)
        assert d.intent is None
        assert [i.name for i in d.clarify_options] == ["gift_ideas", "buy_book"]
        assert list(d.clarify_probabilities) == sorted(d.clarify_probabilities, reverse=True)


def test_a_one_word_appliance_stays_open_between_buying_and_repair() -> None:
    # both voters lean to buying, and their product is sure of it; the plain average of
    # the two keeps repair in sight, so the customer is asked
    said = Said((("buy_appliance", 0.53), ("repair_appliance", 0.41)))
    d = decide(said, evidence("Waschmaschine"), TAXONOMY)
    assert d.intent is None
    assert {"buy_appliance", "repair_appliance"} <= {i.name for i in d.clarify_options}
    # without the pooled rule the catalog's own vote still asks: per action it admits,
    # repairing (a few services that name the machine) is likelier than buying
    off = replace(DEFAULT_COMBINER, pool_ratio=0.0)
    e = evidence("Waschmaschine")
    assert max(e.intents, key=lambda k: e.intents[k]) == "repair_appliance"
    asked = decide(said, e, TAXONOMY, off)
    assert {"buy_appliance", "repair_appliance"} <= {i.name for i in asked.clarify_options}


def test_a_rival_that_admits_the_same_answers_leaves_no_doubt() -> None:
    e = evidence("Waschmaschine")
    assert both_admit(intent("buy_appliance"), intent("gift_ideas"), e) is False
    # a query that points at small appliances only: a gift or a purchase, the same answers
    fryer = replace(NO_EVIDENCE, categories={"home_appliances/small_appliances": 1.0})
    assert both_admit(intent("buy_appliance"), intent("gift_ideas"), fryer)


def test_a_title_whose_only_rival_is_gift_ideas_gates() -> None:
    said = Said((("buy_book", 0.92), ("buy_electronics", 0.01)))
    d = decide(said, evidence("Kaltes Kontobuch"), TAXONOMY)
    assert d.intent is not None and d.intent.name == "buy_book"


def test_the_margin_rule_asks_when_a_real_rival_is_close() -> None:
    said = Said((("buy_appliance", 0.7), ("repair_appliance", 0.29), ("buy_book", 0.005)))
    query = replace(NO_EVIDENCE, words=4)  # a sentence the catalog knows nothing of
    assert decide(said, query, TAXONOMY).intent is not None
    strict = replace(DEFAULT_COMBINER, margin=0.6)
    d = decide(said, query, TAXONOMY, strict)
    assert d.intent is None
    assert [i.name for i in d.clarify_options][:2] == ["buy_appliance", "repair_appliance"]


class _Knows:
    """A classifier stand-in: the words it learned and how its training spread them."""

    def __init__(self, spread: dict[str, dict[str, int]], words: set[str]) -> None:
        self.word_spread_ = spread
        self.learned = words

    def known_words(self, text: str) -> int:
        return sum(w.lower() in self.learned for w in text.split())

    def words(self) -> frozenset[str]:
        return frozenset(self.learned)


def test_an_open_training_word_keeps_a_short_query_open() -> None:
    spread = count_spread(
        ["cancel my contract", "end the contract", "new mobile contract", "a crime novel"],
        ["cancel_contract", "cancel_contract", "mobile_plan", "buy_book"],
    )
    assert spread == {
        "contract": {"cancel_contract": 2, "mobile_plan": 1},
        ALL: {"cancel_contract": 2, "mobile_plan": 1, "buy_book": 1},
    }
    assert shares(spread, "Contract") == [("cancel_contract", 2 / 3), ("mobile_plan", 1 / 3)]
    model = _Knows(spread, {"contract", "cancel", "mobile", "crime", "novel"})
    state = LiveState(catalog=CATALOG, taxonomy=TAXONOMY, model=model)  # type: ignore[arg-type]
    c = replace(DEFAULT_COMBINER, word_ratio=0.45)
    assert open_word("contract", model, state, c) == ("cancel_contract", "mobile_plan")
    assert open_word("my contract", model, state, c) == ("cancel_contract", "mobile_plan")
    # the service's cache in front of the model keeps the spread in reach
    cached = CachedPredictor(model, "v1", PredictionCache())  # type: ignore[arg-type]
    assert open_word("contract", cached, state, c) == ("cancel_contract", "mobile_plan")
    # a second known word, a rival too rare, or a name the catalog knows: no doubt
    assert open_word("cancel contract", model, state, c) == ()
    assert open_word("contract", model, state, replace(c, word_ratio=0.7)) == ()
    # the rival holds 1 / 2 of the main share, with the prior (1 + 1) / (2 + 1)
    assert open_word("contract", model, state, replace(c, word_ratio=0.6, word_prior=0)) == ()
    assert open_word("contract", model, state, replace(c, word_ratio=0.6)) != ()
    assert open_word("Kessmann contract", model, state, c) == ()
    # more known words than a short query has: they say what is wanted
    model.learned |= {"need", "new"}
    assert open_word("I need a new contract", model, state, c) == ()
    model.learned -= {"need", "new"}
    # and the doubt holds back a gate the votes alone would give
    sure = Said((("cancel_contract", 0.95), ("mobile_plan", 0.03)))
    gated = decide(sure, NO_EVIDENCE, TAXONOMY, c)
    assert gated.intent is not None and gated.intent.name == "cancel_contract"
    asked = decide(sure, NO_EVIDENCE, TAXONOMY, c, word_doubt=("cancel_contract", "mobile_plan"))
    assert [i.name for i in asked.clarify_options][:2] == ["cancel_contract", "mobile_plan"]
