"""Remembering intent predictions of repeated queries (per worker, bounded).

Customers type the same few things a lot ("cancel my contract", "new phone"). The service
classifies the *normalized* query (case-folded, runs of whitespace made one space, ends
trimmed), so every spelling that normalizes alike gets the same answer whether it came
from the cache or not. Entries are keyed by model version as well: a model swap can never
serve a prediction of the model it replaced, and the old model's entries simply age out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from intent.resolve import PredictionLike, Predictor, knows_words


def normalize_query(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass
class PredictionCache:
    """A least-recently-used map ``(model version, normalized query) -> prediction``."""

    size: int = 10_000
    hits: int = 0
    misses: int = 0
    _entries: OrderedDict[tuple[str, str], PredictionLike] = field(
        default_factory=OrderedDict, repr=False
    )

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, version: str, query: str) -> PredictionLike | None:
        found = self._entries.get((version, query))
        if found is None:
            self.misses += 1
            return None
        self._entries.move_to_end((version, query))
        self.hits += 1
        return found

    def put(self, version: str, query: str, prediction: PredictionLike) -> None:
        if self.size <= 0:
            return
        self._entries[(version, query)] = prediction
        self._entries.move_to_end((version, query))
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


@dataclass(frozen=True)
class CachedPredictor:
    """A :class:`~intent.resolve.Predictor` in front of one model version.

    Predictions are immutable values, so one cached answer can serve many requests.
    """

    model: Predictor
    version: str
    cache: PredictionCache

    def predict_one(self, text: str) -> PredictionLike:
        query = normalize_query(text)
        found = self.cache.get(self.version, query)
        if found is None:
            found = self.model.predict_one(query)
            self.cache.put(self.version, query, found)
        return found

    def known_words(self, text: str) -> int:
        """The model's count of known words (``-1``: the model cannot tell)."""
        return self.model.known_words(text) if knows_words(self.model) else -1

    def words(self) -> frozenset[str]:
        """The words the model learned from (empty: the model cannot tell)."""
        return self.model.words() if knows_words(self.model) else frozenset()

    @property
    def word_spread_(self) -> Mapping[str, Mapping[str, int]] | None:
        """How the model's training utterances spread its open words over the intents
        (:mod:`intent.word_spread`; None: a model that does not keep it)."""
        spread: Mapping[str, Mapping[str, int]] | None = getattr(self.model, "word_spread_", None)
        return spread
