"""The catalog's lexical index: which content words every action mentions.

Two views of one sparse item x token matrix, as plain numpy arrays:

* **by item** (CSR): the token ids of each action, to compute how much of a query an
  action matches, for any candidate, whatever source retrieved it;
* **by token**: the actions that mention each token, ordered by a BM25 weight (rare
  words and short entries weigh most). Retrieval reads only the head of each list, so
  its cost is bounded by the list cut, not by the catalog size.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.catalog.arrays import sorted_unique

#: BM25 term-frequency saturation and length normalisation
K1 = 1.2
B = 0.75
#: up to this many query tokens, matching compares token by token instead of np.isin
_FEW = 16

#: arrays joined per step when building (see ``build``)
SLICE = 4096

IntArray = NDArray[np.int32]
FloatArray = NDArray[np.float64]

_scratch = threading.local()


def _accumulator(n_items: int) -> FloatArray:
    """This thread's all-zero array of at least ``n_items`` (kept zero between uses)."""
    acc: FloatArray | None = getattr(_scratch, "acc", None)
    if acc is None or len(acc) < n_items:
        acc = _scratch.acc = np.zeros(n_items, np.float64)
    return acc


@dataclass(frozen=True)
class TextIndex:
    #: token -> id (shared and append-only: ids at or past ``n_tokens`` are newer than
    #: this index and match nothing in it)
    vocabulary: Mapping[str, int]
    n_tokens: int
    #: item -> token ids: ``item_tokens[item_ptr[i]:item_ptr[i + 1]]`` (sorted)
    item_ptr: NDArray[np.int64]
    item_tokens: IntArray
    #: token -> item ids, heaviest first: ``post_items[post_ptr[t]:post_ptr[t + 1]]``
    post_ptr: NDArray[np.int64]
    post_items: IntArray
    post_weights: NDArray[np.float32]

    @classmethod
    def build(
        cls, lengths: NDArray[np.int64], item_tokens: IntArray, vocabulary: Mapping[str, int]
    ) -> TextIndex:
        """The index of items whose content words are ``item_tokens`` (ids in
        ``vocabulary``), ``lengths[i]`` of them for item ``i``, item after item."""
        n_tokens = len(vocabulary)
        n = len(lengths)
        item_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=item_ptr[1:])
        items = np.empty(len(item_tokens), np.int32)  # the item of each entry
        for lo in range(0, n, SLICE):
            hi = min(lo + SLICE, n)
            items[item_ptr[lo] : item_ptr[hi]] = np.repeat(
                np.arange(lo, hi, dtype=np.int32), lengths[lo:hi]
            )
        n_items = max(n, 1)
        counts = np.bincount(item_tokens, minlength=n_tokens)
        df = counts.astype(np.float64)
        idf = np.log1p((n_items - df + 0.5) / (df + 0.5))
        avg = float(lengths.mean()) if len(lengths) else 1.0
        norm = 1.0 + K1 * (1.0 - B + B * lengths / max(avg, 1e-9))
        weights = idf[item_tokens] * (K1 + 1.0) / norm[items]
        # group by token, heaviest first inside each token (ties: lower item id first)
        order = np.lexsort((items, -weights, item_tokens))
        post_ptr = np.zeros(n_tokens + 1, dtype=np.int64)
        np.cumsum(counts, out=post_ptr[1:])
        return cls(
            vocabulary=vocabulary,
            n_tokens=n_tokens,
            item_ptr=item_ptr,
            item_tokens=item_tokens,
            post_ptr=post_ptr,
            post_items=items[order],
            post_weights=weights[order].astype(np.float32),
        )

    def token_ids(self, tokens: Sequence[str] | frozenset[str]) -> IntArray:
        vocab, n = self.vocabulary, self.n_tokens
        ids = {vocab[t] for t in tokens if t in vocab}
        return np.asarray(sorted(i for i in ids if i < n), dtype=np.int32)

    def search(self, token_ids: IntArray, per_token: int) -> tuple[IntArray, FloatArray]:
        """Items mentioning any of ``token_ids`` with their summed BM25 weight, reading at
        most ``per_token`` postings of each token."""
        if len(token_ids) == 0:
            return np.empty(0, np.int32), np.empty(0, np.float64)
        # the weights are summed into a zeroed per-thread array indexed by item (an item
        # is in a token's list once) and read back at the items found: no sort by item
        # with its inverse, whose cost grows with the postings read
        summed = _accumulator(len(self.item_ptr) - 1)
        parts = []
        try:
            for t in token_ids.tolist():
                lo = int(self.post_ptr[t])
                hi = min(int(self.post_ptr[t + 1]), lo + per_token)
                items = self.post_items[lo:hi]
                summed[items] += self.post_weights[lo:hi]
                parts.append(items)
            unique = sorted_unique(np.concatenate(parts))
            weights = summed[unique]
        finally:
            for items in parts:
                summed[items] = 0.0
        return unique.astype(np.int32), weights

    def matched(self, items: IntArray, token_ids: IntArray) -> NDArray[np.int64]:
        """How many of ``token_ids`` each of ``items`` mentions."""
        if len(token_ids) == 0 or len(items) == 0:
            return np.zeros(len(items), dtype=np.int64)
        starts = self.item_ptr[items]
        lengths = self.item_ptr[items + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(len(items), dtype=np.int64)
        row = np.repeat(np.arange(len(items)), lengths)
        offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        mentioned = self.item_tokens[np.repeat(starts, lengths) + offsets]
        if len(token_ids) <= _FEW:  # a query's few words: comparisons beat isin's sort
            hits = mentioned == token_ids[0]
            for t in token_ids[1:].tolist():
                hits |= mentioned == t
        else:
            hits = np.isin(mentioned, token_ids)
        return np.bincount(row[hits], minlength=len(items))
