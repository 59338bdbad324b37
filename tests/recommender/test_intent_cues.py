"""Cues the intent decision weighs next to the classifier and the catalog: the trouble cue
learned from the training data, the catalog's reading of negated words, the Occam vote of
the catalog and a full title's options, and the speller that leaves real words alone. All
on the real demo catalog index and the real demo training utterances."""

from __future__ import annotations

from dataclasses import replace

import pytest

from demo.seed import data_dir
from intent.data import load_jsonl
from intent.trouble import ALL, TROUBLE, has_trouble
from intent.word_spread import count_spread, shares
from recommender.intent_cues import merged, negated_logits, trouble_logits, trouble_shares
from recommender.intent_evidence import DEFAULT_COMBINER, combine, decide
from recommender.intent_speller import compound_parts, spelled
from recommender.retrieval.evidence import NO_EVIDENCE, Evidence, catalog_evidence
from recommender.text import tokens
from tests.recommender.evidence_world import CATALOG, TAXONOMY, Said

EXAMPLES = load_jsonl(data_dir() / "utterances.jsonl")
SPREAD = count_spread([e.text for e in EXAMPLES], [e.intent for e in EXAMPLES])


def evidence(query: str) -> Evidence:
    e = catalog_evidence(CATALOG, TAXONOMY, tokens(query))
    return replace(e, words=len(tokens(query)))


def test_trouble_cues_in_three_languages_and_negations_that_are_none() -> None:
    for broken in (
        "the tumble dryer no longer heats",
        "kettle won't switch on",
        "Backofen ist defekt",
        "die Spülmaschine pumpt nicht ab",
        "la plaque de cuisson ne chauffe plus",
        "mon grille-pain est en panne",
    ):
        assert has_trouble(broken), broken
    for wanted in (
        "a raincoat that lets no water through",
        "Stiefel, die keine Nässe durchlassen",
        "un frigo qui ne fait pas de bruit",
        "a laptop without a fan",
    ):
        assert not has_trouble(wanted), wanted


def test_the_training_data_says_which_intents_speak_of_trouble() -> None:
    assert SPREAD[ALL]["repair_appliance"] == sum(e.intent == "repair_appliance" for e in EXAMPLES)
    shares = trouble_shares(SPREAD)
    assert shares["repair_appliance"] > 0.6 > 0.05 > shares["buy_book"]
    assert TROUBLE in SPREAD and "oos" not in SPREAD[ALL]
    with_cue = trouble_logits("the tumble dryer no longer heats", SPREAD, 0.5)
    without = trouble_logits("a tumble dryer with a heat pump", SPREAD, 0.5)
    assert with_cue["repair_appliance"] > with_cue["buy_appliance"]
    assert without["repair_appliance"] < without["buy_appliance"]
    assert trouble_logits("anything", None, 0.5) == {}


def test_a_trouble_cue_moves_an_unsure_purchase_towards_a_repair() -> None:
    # the classifier is torn; the cue is learned evidence for repairing
    said = Said((("buy_appliance", 0.48), ("repair_appliance", 0.47), ("gift_ideas", 0.02)))
    query = "le grille-pain ne grille plus"
    names = tuple(TAXONOMY.names)
    plain = combine(said, NO_EVIDENCE, names, DEFAULT_COMBINER)
    cued = combine(said, NO_EVIDENCE, names, DEFAULT_COMBINER, trouble_logits(query, SPREAD, 0.5))
    assert plain["buy_appliance"] > plain["repair_appliance"]
    assert cued["repair_appliance"] > cued["buy_appliance"]
    d = decide(said, NO_EVIDENCE, TAXONOMY, cues=trouble_logits(query, SPREAD, 0.5))
    assert d.intent is None or d.intent.name == "repair_appliance"


def test_negated_words_take_from_the_intent_they_name() -> None:
    negated = catalog_evidence(CATALOG, TAXONOMY, tokens("livre"))
    terms = negated_logits(negated, 2.0, 0.1)
    assert terms["buy_book"] < terms.get("gift_ideas", 0.0)
    said = Said((("buy_book", 0.45), ("gift_ideas", 0.43), ("track_order", 0.05)))
    d = decide(said, evidence("un cadeau pour mon frère"), TAXONOMY, cues=merged(terms))
    assert d.intent is not None and d.intent.name == "gift_ideas"
    assert negated_logits(Evidence(), 2.0, 0.1) == {}


def test_a_title_votes_for_the_narrowest_intent_that_admits_it() -> None:
    e = evidence("Signal from Kepler")
    assert e.strength > 0.9
    # Occam: books are a small part of what gift ideas admit (1 / sqrt(N) gave 0.55 : 0.45)
    assert e.intents["buy_book"] > 1.4 * e.intents.get("gift_ideas", 0.0)
    # one word of the title shared with many other actions does not outvote it
    e = evidence("Colony Nine")
    assert max(e.intents, key=lambda k: e.intents[k]) == "buy_book"


def test_a_full_title_offers_no_option_that_cannot_answer_it() -> None:
    said = Said((("buy_appliance", 0.3), ("buy_book", 0.25), ("gift_ideas", 0.2)))
    e = evidence("Signal from Kepler")
    d = decide(said, e, TAXONOMY, known_words=1)
    names = [d.intent.name] if d.intent is not None else [o.name for o in d.clarify_options]
    assert names and "buy_appliance" not in names


class _Learned:
    def __init__(self, words: set[str]) -> None:
        self.learned = frozenset(words)

    def predict_one(self, text: str) -> Said:
        return Said((("buy_appliance", 1.0),))

    def known_words(self, text: str) -> int:
        return sum(w in self.learned for w in text.lower().split())

    def words(self) -> frozenset[str]:
        return self.learned


def test_words_of_the_catalogs_languages_are_not_typos() -> None:
    model = _Learned({"washer", "machine", "broken", "quit"})
    # "Wasser" is the head of the catalog's "Wasserkocher", "quiet" a catalog word
    assert "wasser" in compound_parts(["wasserkocher"])
    assert spelled("Wasser quiet", model, CATALOG) == "Wasser quiet"
    assert spelled("Wasser quiet", model) == "washer quit"  # without the catalog
    assert spelled("brokn washer", model, CATALOG) == "broken washer"


def test_a_word_said_a_few_times_is_open_with_the_prior() -> None:
    spread = count_spread(
        ["where is my parcel", "parcel not here", "parcel late", "lost parcel", "parcel back"],
        ["track_order", "track_order", "track_order", "track_order", "return_item"],
    )
    plain = dict(shares(spread, "parcel"))
    smoothed = dict(shares(spread, "parcel", prior=1.0))
    assert plain["return_item"] / plain["track_order"] == 0.25
    assert smoothed["return_item"] / smoothed["track_order"] == pytest.approx(0.4)
    assert sum(smoothed.values()) == pytest.approx(1.0)
