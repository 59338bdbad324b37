"""The per-worker cache of intent predictions (intent.cache)."""

from __future__ import annotations

from dataclasses import dataclass, field

from intent.cache import CachedPredictor, PredictionCache, normalize_query
from intent.decision import Prediction


@dataclass
class KeywordModel:
    """A tiny real predictor: 'book' means buy_book, anything else is out of scope.
    It counts how often it is asked, and says which model it is in the answer."""

    name: str
    asked: list[str] = field(default_factory=list)

    def predict_one(self, text: str) -> Prediction:
        self.asked.append(text)
        hit = "book" in text
        return Prediction(
            intent=f"buy_book@{self.name}" if hit else None,
            confidence=0.9 if hit else 0.1,
            alternatives=((f"buy_book@{self.name}", 0.9 if hit else 0.1),),
            ambiguous=False,
            out_of_scope=not hit,
            candidates=(),
        )


def test_normalization_casefolds_and_collapses_whitespace() -> None:
    assert normalize_query("  A  Crime\tNOVEL \n") == "a crime novel"
    assert normalize_query("Straße") == "strasse"


def test_repeated_queries_hit_the_cache_in_any_spelling() -> None:
    model = KeywordModel("v1")
    cached = CachedPredictor(model, "v1", PredictionCache(size=10))
    first = cached.predict_one("A crime BOOK")
    again = cached.predict_one("  a   crime book ")
    assert again is first and first.intent == "buy_book@v1"
    assert model.asked == ["a crime book"]  # the model sees the normalized query, once
    assert (cached.cache.hits, cached.cache.misses) == (1, 1)


def test_least_recently_used_entries_are_evicted() -> None:
    model = KeywordModel("v1")
    cached = CachedPredictor(model, "v1", PredictionCache(size=2))
    cached.predict_one("one")
    cached.predict_one("two")
    cached.predict_one("one")  # "two" is now the least recently used
    cached.predict_one("three")
    assert len(cached.cache) == 2
    cached.predict_one("one")  # still there
    cached.predict_one("two")  # evicted: asked again
    assert model.asked == ["one", "two", "three", "two"]


def test_a_new_model_version_never_gets_the_old_models_answers() -> None:
    cache = PredictionCache(size=100)
    old, new = KeywordModel("v1"), KeywordModel("v2")
    assert CachedPredictor(old, "v1", cache).predict_one("book").intent == "buy_book@v1"
    assert CachedPredictor(new, "v2", cache).predict_one("book").intent == "buy_book@v2"
    assert new.asked == ["book"]
    # and rolling back to v1 finds v1's own answer again
    assert CachedPredictor(old, "v1", cache).predict_one("book").intent == "buy_book@v1"
    assert old.asked == ["book"]


def test_size_zero_disables_caching() -> None:
    model = KeywordModel("v1")
    cached = CachedPredictor(model, "v1", PredictionCache(size=0))
    cached.predict_one("book")
    cached.predict_one("book")
    assert model.asked == ["book", "book"] and len(cached.cache) == 0
