"""One catalog entry flattened into the plain values the columnar index is built from.

A row is computed once per version of an action and kept by the catalog builder
(:mod:`recommender.catalog.sync`), so a catalog change re-derives only the rows of the
actions it touched, and assembling the columns is a pass of C-level iteration per column.
Words, categories and languages are numbered in vocabularies that only grow, shared by
every build of one worker's catalog, so a row's numbers stay valid from version to version.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np

from domain.actions import ACTION_KINDS, Action, CatalogItem, shared_names
from domain.values import CHANNELS
from recommender.text import action_tokens

#: bit of each channel in :attr:`ItemRow.channels` (0 means "every channel")
CHANNEL_BITS: dict[str, int] = {name: 1 << i for i, name in enumerate(CHANNELS)}
KIND_IDS: dict[str, int] = {kind: i for i, kind in enumerate(ACTION_KINDS)}
#: languages beyond this many (per worker) are not indexed as title languages
MAX_LANGUAGES = 63
#: one float object for every row without a start (``-math.inf`` makes a new one each time)
_NEG_INF = -math.inf


class Vocabulary:
    """Name -> id, append-only."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.names: list[str] = []

    def __len__(self) -> int:
        return len(self.names)

    def id(self, name: str) -> int:
        i = self.ids.get(name)
        if i is None:
            i = self.ids[name] = len(self.names)
            self.names.append(name)
        return i

    def encode(self, names: frozenset[str]) -> bytes:
        """The sorted ids of ``names`` as packed int32 (a bytes object weighs a third of a
        small numpy array, and a worker keeps one per action)."""
        return np.asarray(sorted(self.id(n) for n in names), dtype=np.int32).tobytes()


@dataclass
class Vocabularies:
    words: Vocabulary = field(default_factory=Vocabulary)
    categories: Vocabulary = field(default_factory=Vocabulary)
    languages: Vocabulary = field(default_factory=Vocabulary)


@dataclass(frozen=True, slots=True)
class ItemRow:
    item: CatalogItem
    category: int
    kind: int
    channels: int
    #: bit ``1 << language id`` for every title language
    languages: int
    regions: tuple[str, ...]
    valid_from: float
    valid_to: float
    value: float
    explore: bool
    cap_s: int
    #: the eligibility rules as JSON (actions with equal keys share one rule set)
    rule_key: tuple[str, ...]
    #: CRC-32 of the id: a pseudo-random order fixed by the id (semantic prototypes)
    id_hash: int

    @classmethod
    def of(cls, action: Action, vocab: Vocabularies) -> ItemRow:
        channels = 0
        for channel in action.channels:
            channels |= CHANNEL_BITS[channel]
        languages = 0
        for lang in action.title:
            bit = vocab.languages.id(lang)
            if bit < MAX_LANGUAGES:
                languages |= 1 << bit
        return cls(
            item=CatalogItem.of(action),
            category=vocab.categories.id(action.category),
            kind=KIND_IDS[action.kind],
            channels=channels,
            languages=languages,
            regions=shared_names(tuple(action.regions)),
            valid_from=action.valid_from.timestamp() if action.valid_from else _NEG_INF,
            valid_to=action.valid_to.timestamp() if action.valid_to else math.inf,
            value=action.value,
            explore=action.explore,
            cap_s=action.cap.per_seconds if action.cap is not None else 0,
            rule_key=tuple(r.model_dump_json() for r in action.eligibility),
            id_hash=zlib.crc32(action.id.encode()),
        )


def word_ids(action: Action, vocab: Vocabularies) -> bytes:
    """The action's content words, as sorted word ids packed as int32: kept only until a
    catalog version holding them is built (:mod:`recommender.catalog.tokens`)."""
    return vocab.words.encode(action_tokens(action))
