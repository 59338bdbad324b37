"""Light text matching between what a customer typed and catalog entries."""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

from domain.actions import Action

_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
#: a French elided article or pronoun glued to the next word ("l'ordinateur", "d'un",
#: "n'est", "qu'il"; straight or typographic apostrophe): not part of that word
ELISION = re.compile(r"(?<![^\W\d_])(?:qu|[cdjlmnst])['\u2019](?=[^\W\d_])", re.IGNORECASE)
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "for",
        "from",
        "have",
        "i",
        "im",
        "in",
        "is",
        "it",
        "me",
        "my",
        "new",
        "of",
        "on",
        "or",
        "our",
        "please",
        "some",
        "that",
        "the",
        "this",
        "to",
        "want",
        "need",
        "looking",
        "look",
        "find",
        "get",
        "buy",
        "would",
        "like",
        "with",
        "you",
        "your",
        "ich",
        "ein",
        "eine",
        "einen",
        "einem",
        "der",
        "die",
        "das",
        "und",
        "mit",
        "für",
        "fur",
        "suche",
        "möchte",
        "mochte",
        "brauche",
        "neue",
        "neuen",
        "neues",
        "mein",
        "meine",
        "meinen",
        "zu",
        "von",
        "bitte",
        "ist",
        "es",
        "je",
        "un",
        "une",
        "des",
        "les",
        "le",
        "la",
        "et",
        "pour",
        "avec",
        "cherche",
        "veux",
        "voudrais",
        "besoin",
        "nouveau",
        "nouvelle",
        "mon",
        "ma",
        "mes",
        "du",
        "de",
        "est",
        "il",
        "elle",
    ]
)


@functools.lru_cache(maxsize=200_000)
def _fold(word: str) -> str:
    """One word case- and accent-folded with a crude plural strip (cached: the same few
    thousand words make up most of any catalog, and the result is shared)."""
    word = unicodedata.normalize("NFKD", word.lower())
    word = "".join(ch for ch in word if not unicodedata.combining(ch))
    for suffix in ("ies", "es", "s", "en", "e"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return sys.intern(word[: -len(suffix)])
    return sys.intern(word)


def tokens(text: str) -> frozenset[str]:
    """Content words of ``text``, case- and accent-folded, with a crude plural strip; an
    elided article or pronoun ("qu'il", "l'été") is no word of its own."""
    text = ELISION.sub(" ", text)
    return frozenset(_fold(w) for w in _WORD.findall(text) if w.lower() not in STOPWORDS)


def action_tokens(action: Action) -> frozenset[str]:
    """The content words of an action's titles and descriptions (every language), tags
    and category."""
    text = " ".join(
        (
            *action.title.values(),
            *action.description.values(),
            *action.tags,
            action.category.replace("/", " "),
        )
    ).replace("_", " ")
    return tokens(text)


def match(query_tokens: frozenset[str], item_tokens: frozenset[str]) -> float:
    """Share of the query's content words that the item mentions (0..1)."""
    if not query_tokens:
        return 0.0
    return len(query_tokens & item_tokens) / len(query_tokens)
