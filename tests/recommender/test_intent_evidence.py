"""The catalog's evidence about a query and its combination with the classifier, on the
real index of the demo catalog (no model needed: predictions are written out)."""

from __future__ import annotations

import pytest

from intent.resolve import IntentDecision
from recommender.intent_evidence import (
    DEFAULT_COMBINER,
    OUT_OF_SCOPE,
    category_preference,
    classifier_distribution,
    combine,
    decide,
    weigh_query,
    with_evidence,
)
from recommender.intent_speller import spelled
from recommender.ranking.terms import ScoringContext, category_terms
from recommender.reasons.query_words import query_words
from recommender.retrieval.evidence import Evidence, catalog_evidence, prepared
from recommender.retrieval.expand import Expander, edit_distance
from recommender.state import LiveState
from recommender.text import tokens
from tests.recommender.evidence_world import CATALOG, TAXONOMY, Said

NAMES = tuple(TAXONOMY.names)


def evidence(query: str) -> Evidence:
    return catalog_evidence(CATALOG, TAXONOMY, tokens(query))


def top(distribution: dict[str, float]) -> str:
    return max(distribution, key=lambda k: distribution[k])


def test_a_german_title_is_a_book() -> None:
    e = evidence("Kaltes Kontobuch")
    assert e.coverage == 1.0 and e.strength > 0.9
    assert top(dict(e.intents)) == "buy_book"
    assert top(dict(e.categories)) == "books/fiction/crime"


def test_a_model_number_is_an_appliance_and_sub_categories_are_told_apart() -> None:
    dishwasher = evidence("Kessmann Geschirrspüler DW-450")
    assert top(dict(dishwasher.intents)) == "buy_appliance"
    assert top(dict(dishwasher.categories)) == "home_appliances/dishwashers"
    fridge = evidence("a quiet fridge with a freezer")
    assert top(dict(fridge.categories)) == "home_appliances/fridges"


def test_words_the_catalog_never_uses_give_no_evidence() -> None:
    e = evidence("asdfgh jkl")
    assert not e.matched and e.strength == 0.0 and e.coverage == 0.0
    assert evidence("recommend a good dentist near me").strength < 0.3


def test_typos_and_compounds_are_read_as_index_words() -> None:
    expander = prepared(CATALOG, TAXONOMY).expander
    assert expander.expand("krimmi") == ("krimi",)
    assert expander.expand("fantsy") == ("fantasy",)
    assert "vertrag" in expander.expand("internetvertrag")
    assert expander.expand("when") == ()  # short words are never "corrected"
    assert expander.expand("qqqqqqqq") == ()
    assert edit_distance("polard", "polar", 1) == 1
    assert edit_distance("abcdef", "badcfe", 2) == 3  # past the bound: bound + 1


def test_the_expander_only_knows_words_older_than_the_index() -> None:
    vocabulary = {"krimi": 0, "roman": 1, "fresh": 2}
    expander = Expander(vocabulary, n_tokens=2)
    assert expander.known("krimi") and not expander.known("fresh")
    assert expander.expand("fresh") == ()


def test_classifier_distribution_keeps_the_unlisted_mass_for_out_of_scope() -> None:
    said = Said((("buy_book", 0.5), ("gift_ideas", 0.2), ("buy_fashion", 0.1)))
    dist = classifier_distribution(said, NAMES)
    assert dist["buy_book"] == 0.5
    assert sum(dist.values()) == pytest.approx(1.0)
    unlisted = [dist[n] for n in NAMES if n not in ("buy_book", "gift_ideas", "buy_fashion")]
    assert max(unlisted) <= 0.1 and dist[OUT_OF_SCOPE] > 0


def test_the_catalog_overrules_an_unsure_classifier_on_a_title() -> None:
    said = Said((("billing_question", 0.07), ("talk_to_agent", 0.04), ("gift_ideas", 0.02)))
    d = decide(said, evidence("Die Morde am stillen Hafen"), TAXONOMY)
    assert d.intent is not None and d.intent.name == "buy_book"
    q = combine(said, evidence("Die Morde am stillen Hafen"), NAMES, DEFAULT_COMBINER)
    assert sum(q.values()) == pytest.approx(1.0)


def test_nonsense_is_out_of_scope_and_a_sure_classifier_gates() -> None:
    nonsense = Said((("buy_fashion", 0.06), ("broadband", 0.04)))
    d = decide(nonsense, evidence("asdfgh jkl"), TAXONOMY)
    assert d.out_of_scope and d.unresolved_query and d.intent is None
    sure = Said((("buy_fashion", 0.99), ("gift_ideas", 0.005)))
    d = decide(sure, evidence("a smart shirt for the office"), TAXONOMY)
    assert d.intent is not None and d.intent.name == "buy_fashion"
    assert d.confidence > 0.9


def test_disagreement_on_a_short_query_asks_likelier_first() -> None:
    said = Said((("buy_electronics", 0.51), ("mobile_plan", 0.33), ("tech_support", 0.05)))
    d = decide(said, evidence("Handy"), TAXONOMY)
    assert d.intent is None and len(d.clarify_options) >= 2
    assert list(d.clarify_probabilities) == sorted(d.clarify_probabilities, reverse=True)


def test_sub_category_preference_is_soft_and_only_inside_the_gate() -> None:
    e = evidence("a quiet fridge with a freezer")
    pref = category_preference(e)
    assert max(pref.values()) == 1.0
    gated = ScoringContext(intent_categories=("home_appliances",))
    ctx = with_evidence(gated, e)
    assert "fridg" in ctx.query_tokens or "fridge" in ctx.query_tokens
    fridge = category_terms("home_appliances/fridges", ctx)[2]
    oven = category_terms("home_appliances/ovens", ctx)[2]
    outside = category_terms("books/fiction/crime", ctx)[2]
    assert fridge == 1.0 and 0.0 < oven < fridge and outside == 0.0
    # no gate: the preference raises nothing
    assert category_terms("home_appliances/fridges", with_evidence(ScoringContext(), e))[2] == 0


def test_history_ranks_only_inside_the_sub_category_the_query_names() -> None:
    """A crime reader asking for a cookbook: the crime history no longer lifts crime
    novels over cookbooks; the parent level ("books") counts for both alike."""
    e = evidence("a cookbook with vegetarian recipes")
    assert max(category_preference(e), key=category_preference(e).get) == (
        "books/nonfiction/cooking"
    )
    crime, cookbook = "bk-0001", "bk-0046"
    reader = ScoringContext(
        intent_categories=("books",),
        category_affinity={"books": 2.0, "books/fiction": 3.0, "books/fiction/crime": 4.0},
        item_affinity={crime: 1.0},
        similar={crime: 0.9, cookbook: 0.4},
    )
    ctx = with_evidence(reader, e, CATALOG)
    assert ctx.category_affinity == {"books": 2.0}
    assert ctx.item_affinity == {} and ctx.similar == {cookbook: 0.4}
    # without the catalog, or for words that name no sub-category, history is untouched
    assert with_evidence(reader, e).similar == reader.similar
    vague = with_evidence(reader, evidence("qwzx"), CATALOG)
    assert vague.similar == reader.similar


def test_words_the_classifier_never_saw_and_the_catalog_does_not_know_are_garbage() -> None:
    unsure = Said((("buy_fashion", 0.3), ("buy_electronics", 0.1)))
    d = decide(unsure, evidence("blorp zindle frax"), TAXONOMY, known_words=0)
    assert d.out_of_scope and d.intent is None
    # the same prediction with words the classifier knows is not thrown away
    assert not decide(unsure, evidence("blorp zindle frax"), TAXONOMY, known_words=2).out_of_scope
    # a title the classifier never saw, the catalog vouches for
    title = decide(unsure, evidence("Kaltes Kontobuch"), TAXONOMY, known_words=0)
    assert title.intent is not None and title.intent.name == "buy_book"


class _Learned:
    """A model that learned a few words (and can say so)."""

    def __init__(self, words: set[str]) -> None:
        self.learned = frozenset(words)
        self.asked: list[str] = []

    def predict_one(self, text: str) -> Said:
        self.asked.append(text)
        return Said((("repair_appliance", 0.9),))

    def known_words(self, text: str) -> int:
        return sum(w in self.learned for w in text.lower().split())

    def words(self) -> frozenset[str]:
        return self.learned


def test_the_classifier_reads_misspelt_words_as_words_it_learned() -> None:
    model = _Learned({"washing", "machine", "broken", "kaputt", "waschmaschine"})
    assert spelled("my washng machine is brokn", model) == "my washing machine is broken"
    assert spelled("Waschmaschiene kaput", model) == "waschmaschine kaputt"
    # nothing to correct: the very same text (same prediction-cache entry)
    assert spelled("My washing machine", model) == "My washing machine"
    assert spelled("anything", object()) == "anything"  # a model that cannot tell


def test_weigh_query_uses_the_corrected_text_and_leaves_explicit_intents_alone() -> None:
    model = _Learned({"washing", "machine", "broken"})
    state = LiveState(catalog=CATALOG, taxonomy=TAXONOMY, model=model)
    untouched = IntentDecision()
    d, e = weigh_query("washng machine brokn", None, untouched, state)
    assert model.asked == ["washing machine broken"]
    assert d.intent is not None and d.intent.name == "repair_appliance"
    assert e.matched and "washing" in e.tokens
    same, none = weigh_query("washing machine", "buy_appliance", untouched, state)
    assert same is untouched and not none.matched


def test_expander_extends_an_earlier_index() -> None:
    """A new catalog version's expander extends the previous one's correction index by
    the newer words (same index and answers as building it anew; the old one unchanged)."""
    vocab = {w: i for i, w in enumerate(["fantasy", "waschmaschine", "trockner", "phone"])}
    old = Expander(vocab, 4)
    old.prepare()
    before = {k: list(v) for k, v in old._grams_index().items()}
    vocab.update({"fantastic": 4, "washer": 5, "aardvark": 6, "fantasia": 7})
    extended = Expander(vocab, 8, old)
    extended.prepare()
    built = Expander(vocab, 8)
    assert extended._grams_index() == built._grams_index()
    assert old._grams_index() == before
    for word in ("fantasic", "fantasi", "waschmashine", "aardvak", "washr"):
        assert extended.expand(word) == built.expand(word)
    assert extended.expand("fantastik") == ("fantastic",)
    assert old.expand("fantastik") != ("fantastic",)


def test_a_typo_equally_close_to_two_words_stands_for_both() -> None:
    ex = Expander({"roman": 0, "romanc": 1, "fantasy": 2}, 3)
    # one edit from each, as many shared trigrams: the alphabet does not choose
    assert set(ex.expand("romac")) == {"roman", "romanc"}
    # the speller's one correction is still one word
    assert ex.correct("romac") == "roman"
    assert ex.expand("fantsy") == ("fantasy",)


def test_negated_words_rank_nothing_when_the_query_names_what_it_wants_instead() -> None:
    # "ein Tablet, kein Handy": the tablet is named outside the negation, the phone ranks
    # nothing (neither as a token nor by meaning)
    query = "ein Tablet, kein Handy"
    words = query_words(query)
    e = catalog_evidence(CATALOG, TAXONOMY, frozenset(f for f, _ in words.matchable))
    gated = ScoringContext(
        query=query, query_tokens=tokens(query), intent_categories=("electronics",)
    )
    ctx = with_evidence(gated, e, CATALOG)
    assert tokens("Tablet") <= ctx.query_tokens
    assert not (tokens("Handy") | tokens("kein")) & ctx.query_tokens
    # "habe keinen Kühlschrank mehr, brauche einen neuen": nothing is named outside the
    # negation (it says a lack): the fridge still ranks
    query = "ich habe keinen Kühlschrank mehr, brauche einen neuen"
    words = query_words(query)
    assert tokens("Kühlschrank") <= words.negated
    e = catalog_evidence(CATALOG, TAXONOMY, frozenset(f for f, _ in words.matchable))
    lack = ScoringContext(query=query, query_tokens=tokens(query))
    assert tokens("Kühlschrank") <= with_evidence(lack, e, CATALOG).query_tokens
