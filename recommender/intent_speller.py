"""The classifier reads a query with its misspelt words corrected to words it learned.

"brokn" -> "broken", "Waschmaschiene" -> "waschmaschine": a misspelt problem word still
says "repair". A word is corrected only when it is a word of no language we know of: the
classifier's training words, the catalog's words (titles, descriptions and tags in every
catalog language) and the parts of the catalog's and the training data's compounds
("Wasser" of "Wasserkocher", "Maschine" of "Waschmaschine") are words, never typos of an
English word a letter away ("Wasser" is not "washer", "Maschine" not "machine", "quiet"
not "quit").
"""

from __future__ import annotations

import re
import threading
import unicodedata
import weakref
from collections.abc import Iterable

from intent.resolve import KnowsWords, knows_words
from recommender.catalog import CatalogIndex
from recommender.retrieval.expand import Expander
from recommender.text import tokens

#: a compound part must have this many letters to count as a word of its own
PART_LETTERS = 5
#: words whose correction a speller remembers before it starts afresh
CORRECTED_WORDS = 20_000
_LETTERS = re.compile(r"[^\W\d_]+")


def fold_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def compound_parts(words: Iterable[str]) -> frozenset[str]:
    """Every head and tail of at least ``PART_LETTERS`` letters of ``words`` that leaves
    at least ``PART_LETTERS`` letters on the other side ("wasser" and "kocher" of
    "wasserkocher"): the parts a German or Dutch compound is made of."""
    parts: set[str] = set()
    for word in words:
        for cut in range(PART_LETTERS, len(word) - PART_LETTERS + 1):
            parts.add(word[:cut])
            parts.add(word[cut:])
    return frozenset(parts)


class _Speller:
    def __init__(self, model: KnowsWords, catalog: CatalogIndex | None) -> None:
        self.model = model
        # held weakly: a replaced catalog is freed at once, not at the next query
        self._catalog = weakref.ref(catalog) if catalog is not None else None
        learned = model.words()
        self.expander = Expander(dict.fromkeys(learned, 0), 1)
        catalog_words = frozenset(catalog.text.vocabulary) if catalog is not None else frozenset()
        self.words = catalog_words
        self.parts = compound_parts(learned | catalog_words)
        self._corrected: dict[str, str] = {}

    def of(self, catalog: CatalogIndex | None) -> bool:
        """Whether this speller knows the words of ``catalog``."""
        mine = self._catalog() if self._catalog is not None else None
        return mine is catalog

    def known(self, word: str) -> bool:
        """A word of some vocabulary we know (not to be corrected)."""
        if word in self.parts:
            return True
        folded = tokens(word)
        return bool(folded) and folded <= self.words

    def correct(self, word: str) -> str:
        """``word``, or the learned word it is a typo of (remembered per word: a query's
        words mostly recur, only a typo or a name is new)."""
        found = self._corrected.get(word)
        if found is None:
            found = word if self.known(word) else self.expander.correct(word)
            if len(self._corrected) >= CORRECTED_WORDS:
                self._corrected.clear()
            self._corrected[word] = found
        return found


_lock = threading.Lock()
_held: _Speller | None = None


def _speller(model: KnowsWords, catalog: CatalogIndex | None) -> _Speller:
    global _held
    held = _held
    if held is None or held.model is not model or not held.of(catalog):
        with _lock:
            held = _held
            if held is None or held.model is not model or not held.of(catalog):
                held = _held = _Speller(model, catalog)
    return held


def spelled(query: str, model: object, catalog: CatalogIndex | None = None) -> str:
    """``query`` for the classifier: words it never learned corrected to a word it did,
    when one is a typo away and the word is no word of the catalog's languages (module
    docstring). Unchanged (same text, same cache entry) when nothing is corrected."""
    if not knows_words(model):
        return query
    speller = _speller(model, catalog)
    folded = _LETTERS.findall(fold_accents(query.lower()))
    fixed = [speller.correct(w) for w in folded]
    return " ".join(fixed) if fixed != folded else query
