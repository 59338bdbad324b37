"""The multilingual domain lexicon: language-aware false friends, compounds, age groups."""

from __future__ import annotations

from recommender.intent_evidence import glossed
from recommender.lexicon import glosses, language, reading
from recommender.retrieval.evidence import catalog_evidence, prepared
from recommender.text import tokens
from tests.recommender.evidence_world import CATALOG, TAXONOMY


def test_the_language_comes_from_function_words_and_letters() -> None:
    assert language("ein Roman über Drachen") == "de"
    assert language("un roman pour une ado") == "fr"
    assert language("a roman history book") == "en"
    assert language("Kühlschrank") == "de"
    assert language("Roman") is None


def test_a_false_friend_is_read_in_the_language_it_was_typed_in() -> None:
    # a German or French "Roman" is a novel (the embedding reads it as romance) ...
    assert "novel" in glosses("ein Roman über Drachen")["roman"]
    assert "roman" not in reading("ein Roman über Drachen").lower().split()
    assert "novel" in reading("un roman pour l'été")
    # ... an English "Roman" is not, and an unknown language glosses no false friend
    assert "roman" not in glosses("a Roman history book")
    assert reading("a Roman history book") == "a Roman history book"
    assert "roman" not in glosses("Roman")


def test_domain_words_and_compound_parts_are_glossed() -> None:
    assert set(glosses("Damenbluse aus Seide")["damenblus"]) == {"women", "blouse"}
    assert set(glosses("Herrenhemd mit langen Ärmeln")["herrenhemd"]) == {"men", "shirt"}
    assert "teen" in glosses("Bücher für Jugendliche")["jugendlich"]
    assert "women" in glosses("elegantes Abendkleid")["abendkleid"]
    assert glosses("Staubsaugerroboter kaufen")["staubsaugerroboter"] == ("vacuum_cleaner",)
    assert not glosses("I need a new phone")


def test_an_age_names_its_age_group() -> None:
    assert "teen" in glosses("Roman für meinen Sohn, er ist 15")["15"]
    assert "picture_book" in glosses("a book for a 3-year-old")["3"]
    assert "30" not in glosses("Kinderschuhe Größe 30")  # a size, not an age


def test_english_words_are_read_as_they_are() -> None:
    # the embedding reads English well: only an age is added to an English query
    assert reading("usb-c charger powerful enough for a laptop") == (
        "usb-c charger powerful enough for a laptop"
    )
    assert reading("a book for a 14 year old").endswith("teen young adult")


def test_the_catalog_reads_a_word_it_does_not_know_through_the_lexicon() -> None:
    expander = prepared(CATALOG, TAXONOMY).expander
    query = "Damen Winterjacke"
    words = glossed(tokens(query), query, expander)
    assert "women" in words and "dam" not in words
    evidence = catalog_evidence(CATALOG, TAXONOMY, words)
    best = max(evidence.categories.items(), key=lambda kv: kv[1])[0]
    assert best == "fashion/women"
    # a word the catalog knows is read as the catalog reads it
    assert glossed(tokens("Kinder Bilderbuch"), "Kinder Bilderbuch", expander) >= {"kinder"}
