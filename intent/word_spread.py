"""How the training utterances spread a word over the intents.

A one-word query names a thing ("contract", "Bestellung", "Handy"); the classifier, trained
on sentences, is sure of one reading of it even when customers use the word for several
things (cancelling a contract, a new mobile contract, a broadband contract). The training
utterances say how open the word is: of the utterances that contain it, how many belong to
each intent. The model keeps that count for every word said in more than one intent; the
decision (:mod:`recommender.intent_evidence`) asks a clarifying question when the one word
a query says is as open as that.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from intent.trouble import ALL, TROUBLE, has_trouble

OUT_OF_SCOPE = "oos"
#: words shorter than this are not looked at (articles, pronouns)
MIN_LETTERS = 3
_WORDS = re.compile(r"[^\W\d_]+")

#: word -> intent -> utterances of that intent that say it (only words of 2+ intents)
WordSpread = Mapping[str, Mapping[str, int]]


def fold(word: str) -> str:
    """Lower case, accents stripped: "Bestellung" and "bestellung", "télé" and "tele"."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words_of(text: str) -> set[str]:
    return {w for w in _WORDS.findall(fold(text)) if len(w) >= MIN_LETTERS}


def count_spread(texts: Sequence[str], labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """For every word said in the utterances of two or more in-scope intents: how many
    utterances of each intent say it; under :data:`~intent.trouble.TROUBLE` how many say
    a trouble cue, under :data:`~intent.trouble.ALL` how many there are."""
    counts: dict[str, dict[str, int]] = {}
    for text, label in zip(texts, labels, strict=True):
        if label == OUT_OF_SCOPE:
            continue
        said = words_of(text) | {ALL}
        if has_trouble(text):
            said.add(TROUBLE)
        for word in said:
            per = counts.setdefault(word, {})
            per[str(label)] = per.get(str(label), 0) + 1
    return {w: per for w, per in counts.items() if len(per) > 1}


def shares(spread: WordSpread, word: str, prior: float = 0.0) -> list[tuple[str, float]]:
    """The intents that say ``word`` with their share of its utterances, largest first
    (empty: a word of one intent, or one never said). ``prior`` pseudo-utterances are
    added to every intent that says it (the posterior mean under a symmetric Dirichlet
    prior): a word said four times for one intent and once for another is not known to
    be four times likelier for the first."""
    per = spread.get(fold(word))
    if not per:
        return []
    total = sum(per.values()) + prior * len(per)
    return sorted(
        ((k, (v + prior) / total) for k, v in per.items()), key=lambda kv: (-kv[1], kv[0])
    )
