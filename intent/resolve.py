"""Deciding the customer's intent for one request: explicit, model, or journey."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeGuard, runtime_checkable

from domain.errors import Invalid
from intent.taxonomy import Intent, Taxonomy


class PredictionLike(Protocol):
    @property
    def intent(self) -> str | None: ...
    @property
    def confidence(self) -> float: ...
    @property
    def alternatives(self) -> Sequence[tuple[str, float]]: ...
    @property
    def ambiguous(self) -> bool: ...
    @property
    def out_of_scope(self) -> bool: ...


class Predictor(Protocol):
    def predict_one(self, text: str) -> PredictionLike: ...


@runtime_checkable
class KnowsWords(Protocol):
    """A predictor that can tell which words it learned from."""

    def known_words(self, text: str) -> int: ...

    def words(self) -> frozenset[str]: ...


_KNOWS_WORDS: dict[type, bool] = {}


def knows_words(model: object) -> TypeGuard[KnowsWords]:
    """``isinstance(model, KnowsWords)``, decided once per class: a runtime protocol's
    ``isinstance`` inspects the class's members on every call (tens of microseconds, several
    times per request)."""
    cls = type(model)
    known = _KNOWS_WORDS.get(cls)
    if known is None:
        known = _KNOWS_WORDS[cls] = isinstance(model, KnowsWords)
    return known


@dataclass(frozen=True)
class IntentDecision:
    intent: Intent | None = None
    confidence: float = 0.0
    source: str | None = None
    out_of_scope: bool = False
    clarify_options: tuple[Intent, ...] = field(default_factory=tuple)
    #: the model's probability of each clarify option (same order)
    clarify_probabilities: tuple[float, ...] = field(default_factory=tuple)
    #: a query was asked and no intent came of it (out of scope, below the rejection
    #: threshold, or no words at all): the answer must not guess
    unresolved_query: bool = False

    @property
    def allowed(self) -> tuple[Intent, ...]:
        """Intents whose categories an answer may come from (empty: no restriction)."""
        if self.intent is not None:
            return (self.intent,)
        return self.clarify_options


@dataclass(frozen=True)
class ClarifyPolicy:
    """When to ask rather than guess, on top of the model's own ambiguity flag.

    A prediction below ``below`` whose runner-up holds at least ``runner_up`` of the
    probability is a guess between a few intents: the customer is asked to pick.
    """

    below: float = 0.5
    runner_up: float = 0.1
    max_options: int = 4

    def asks(self, p: PredictionLike) -> bool:
        if p.ambiguous:
            return True
        alts = list(p.alternatives)
        return (
            p.intent is not None
            and p.confidence < self.below
            and len(alts) >= 2
            and alts[1][1] >= self.runner_up
        )


def resolve_intent(
    *,
    explicit: str | None,
    query: str | None,
    journey_intent: str | None,
    journey_confidence: float | None,
    taxonomy: Taxonomy,
    model: Predictor | None,
    clarify: ClarifyPolicy = ClarifyPolicy(),
) -> IntentDecision:
    if explicit is not None:
        found = taxonomy.get(explicit)
        if found is None:
            raise Invalid(
                f"unknown intent '{explicit}'; known intents: {', '.join(taxonomy.names)}"
            )
        return IntentDecision(intent=found, confidence=1.0, source="explicit")
    if query is not None and not has_words(query):
        # blank text, symbols or digits only: nothing to classify, nothing to guess from
        return IntentDecision(out_of_scope=True, unresolved_query=True)
    if query and model is not None:
        p = model.predict_one(query)
        if clarify.asks(p):
            picked = [
                (i, prob)
                for name, prob in p.alternatives[: clarify.max_options]
                if prob >= clarify.runner_up / 2 and (i := taxonomy.get(name)) is not None
            ]
            if len(picked) >= 2:
                return IntentDecision(
                    confidence=p.confidence,
                    clarify_options=tuple(i for i, _ in picked),
                    clarify_probabilities=tuple(prob for _, prob in picked),
                )
        if p.intent is not None and (found := taxonomy.get(p.intent)) is not None:
            return IntentDecision(intent=found, confidence=p.confidence, source="model")
        return IntentDecision(
            confidence=p.confidence, out_of_scope=p.out_of_scope, unresolved_query=True
        )
    if journey_intent and (found := taxonomy.get(journey_intent)) is not None:
        return IntentDecision(intent=found, confidence=journey_confidence or 0.0, source="journey")
    return IntentDecision()


_LETTERS = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


def has_words(text: str) -> bool:
    """Whether ``text`` holds at least one word of two letters or more."""
    return _LETTERS.search(text) is not None


def clarify_question(options: Sequence[Intent], language: str) -> str:
    questions = {
        "en": "Just to be sure I understand: which of these are you looking for?",
        "de": "Damit ich Sie richtig verstehe: Wonach suchen Sie?",
        "fr": "Pour être sûr de bien comprendre : que recherchez-vous ?",
    }
    return questions.get(language, questions["en"])


def option_label(intent: Intent, language: str) -> str:
    return (
        intent.clarify_prompt.get(language)
        or intent.clarify_prompt.get("en")
        or (intent.label_in(language))
    )
