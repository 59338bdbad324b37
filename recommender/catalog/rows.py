"""One catalog entry flattened into the plain values the columnar index is built from.

A row is computed once per version of an action and kept by the catalog builder, so a
catalog change re-derives only the rows of the actions it touched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.models import CHANNELS, Action
from recommender.text import action_tokens

#: bit of each channel in :attr:`ItemRow.channels` (0 means "every channel")
CHANNEL_BITS: dict[str, int] = {name: 1 << i for i, name in enumerate(CHANNELS)}


class Vocabulary:
    """Token -> id, append-only, shared by every build of one worker's catalog, so an
    action's token ids stay valid from one version to the next."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.words: list[str] = []

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: frozenset[str]) -> NDArray[np.int32]:
        ids = self.ids
        out = []
        for token in tokens:
            i = ids.get(token)
            if i is None:
                i = ids[token] = len(self.words)
                self.words.append(token)
            out.append(i)
        out.sort()
        return np.asarray(out, dtype=np.int32)


@dataclass(frozen=True, slots=True)
class ItemRow:
    action: Action
    channels: int
    valid_from: float
    valid_to: float
    cap_s: int
    #: the action's content words, as sorted ids in the worker's :class:`Vocabulary`
    token_ids: NDArray[np.int32]

    @classmethod
    def of(cls, action: Action, vocabulary: Vocabulary) -> ItemRow:
        mask = 0
        for channel in action.channels:
            mask |= CHANNEL_BITS[channel]
        return cls(
            action=action,
            channels=mask,
            valid_from=action.valid_from.timestamp() if action.valid_from else -math.inf,
            valid_to=action.valid_to.timestamp() if action.valid_to else math.inf,
            cap_s=action.cap.per_seconds if action.cap is not None else 0,
            token_ids=vocabulary.encode(action_tokens(action)),
        )
