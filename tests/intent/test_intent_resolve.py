"""Intent resolution for one request, without HTTP: explicit > model on the query > journey,
and when to ask instead of guessing.
"""

from __future__ import annotations

import pytest

from domain.errors import Invalid
from intent.decision import Prediction
from intent.resolve import (
    ClarifyPolicy,
    IntentDecision,
    clarify_question,
    has_words,
    option_label,
    resolve_intent,
)
from intent.taxonomy import Intent, Taxonomy

BOOK = Intent(
    name="buy_book",
    label={"en": "Buy a book", "de": "Buch kaufen"},
    allowed_categories=["books"],
    clarify_prompt={"en": "a book"},
)
FRIDGE = Intent(name="buy_fridge", label={"en": "Buy a fridge"}, allowed_categories=["home"])
TAXONOMY = Taxonomy(intents=[BOOK, FRIDGE])


class Fixed:
    """A predictor that always gives the same prediction."""

    def __init__(self, prediction: Prediction) -> None:
        self.prediction = prediction
        self.asked: list[str] = []

    def predict_one(self, text: str) -> Prediction:
        self.asked.append(text)
        return self.prediction


def prediction(
    intent: str | None, confidence: float, *alternatives: tuple[str, float], **flags: bool
) -> Prediction:
    return Prediction(
        intent=intent,
        confidence=confidence,
        alternatives=alternatives or ((intent or "buy_book", confidence),),
        ambiguous=flags.get("ambiguous", False),
        out_of_scope=flags.get("out_of_scope", False),
    )


def resolve(query: str | None = None, model: Fixed | None = None, **kw: object) -> IntentDecision:
    args: dict[str, object] = {
        "explicit": None,
        "query": query,
        "journey_intent": None,
        "journey_confidence": None,
        "taxonomy": TAXONOMY,
        "model": model,
    }
    args.update(kw)
    return resolve_intent(**args)  # type: ignore[arg-type]


def test_an_explicit_intent_wins_and_an_unknown_one_is_refused() -> None:
    model = Fixed(prediction("buy_fridge", 0.9))
    d = resolve("a fridge", model, explicit="buy_book", journey_intent="buy_fridge")
    assert (d.intent, d.confidence, d.source) == (BOOK, 1.0, "explicit")
    assert model.asked == []
    with pytest.raises(Invalid, match="unknown intent 'nope'; known intents: buy_book, buy_fridge"):
        resolve(explicit="nope")


def test_the_model_decides_on_a_query_before_the_journey() -> None:
    d = resolve("a fridge please", Fixed(prediction("buy_fridge", 0.9)), journey_intent="buy_book")
    assert (d.intent, d.source, d.allowed) == (FRIDGE, "model", (FRIDGE,))


def test_a_query_without_an_intent_is_unresolved_and_never_falls_back() -> None:
    rejected = Fixed(prediction(None, 0.2, out_of_scope=True))
    d = resolve("tell me a joke", rejected, journey_intent="buy_book", journey_confidence=0.8)
    assert d.intent is None and d.out_of_scope and d.unresolved_query
    # an intent the taxonomy no longer defines counts as none
    d = resolve("old intent", Fixed(prediction("retired", 0.9)))
    assert d.intent is None and d.unresolved_query and not d.out_of_scope


@pytest.mark.parametrize("text", ["", "   ", "123 456", "?!", "a 1"])
def test_text_without_words_is_not_classified(text: str) -> None:
    model = Fixed(prediction("buy_book", 0.9))
    d = resolve(text, model)
    assert d.out_of_scope and d.unresolved_query
    assert model.asked == [] and not has_words(text)


def test_without_a_query_the_journey_intent_is_used() -> None:
    d = resolve(journey_intent="buy_book", journey_confidence=0.7)
    assert (d.intent, d.confidence, d.source) == (BOOK, 0.7, "journey")
    assert resolve(journey_intent="retired").intent is None
    assert resolve().allowed == ()


def test_a_close_call_asks_which_intent_was_meant() -> None:
    torn = prediction("buy_book", 0.45, ("buy_book", 0.45), ("buy_fridge", 0.40), ("gone", 0.1))
    d = resolve("something", Fixed(torn))
    assert d.intent is None
    assert d.clarify_options == (BOOK, FRIDGE)
    assert d.clarify_probabilities == (0.45, 0.40)
    assert d.allowed == (BOOK, FRIDGE)
    # a confident answer, or a runner-up too weak to matter, is not a close call
    policy = ClarifyPolicy(below=0.5, runner_up=0.1)
    assert not policy.asks(prediction("buy_book", 0.8, ("buy_book", 0.8), ("buy_fridge", 0.15)))
    assert not policy.asks(prediction("buy_book", 0.4, ("buy_book", 0.4), ("buy_fridge", 0.05)))
    assert policy.asks(prediction(None, 0.3, ("buy_book", 0.3), ("x", 0.3), ambiguous=True))


def test_a_close_call_with_one_known_option_answers_instead() -> None:
    torn = prediction("buy_book", 0.45, ("buy_book", 0.45), ("gone", 0.40))
    d = resolve("something", Fixed(torn))
    assert (d.intent, d.source, d.clarify_options) == (BOOK, "model", ())


def test_question_and_option_texts_fall_back_to_english() -> None:
    assert clarify_question([BOOK, FRIDGE], "de").startswith("Damit ich")
    assert clarify_question([BOOK, FRIDGE], "it") == clarify_question([BOOK, FRIDGE], "en")
    assert option_label(BOOK, "de") == "a book"  # the English prompt before the label
    assert option_label(FRIDGE, "de") == FRIDGE.label_in("de")
