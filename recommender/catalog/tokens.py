"""The content words of every action of a new catalog version, in one array.

A worker keeps each action's words once: in the lexical index of the version it serves
(``TextIndex.item_tokens``). A new version takes the words of the actions it did not touch
from there, and those of the actions it added or changed from their freshly derived rows
(packed int32 word ids, kept only until a version holding them is built), so 100,000
actions carry no per-action array or bytes object beside the index.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from recommender.catalog.text_index import TextIndex

#: rows per step (a build runs beside the event loop; see ``recommender.catalog.index``)
SLICE = 4096


def _previous_positions(
    ids: Sequence[str], previous_ids: Sequence[str], n: int
) -> NDArray[np.int64]:
    """Per id, its position among ``previous_ids`` (both sorted), -1 when absent."""
    if previous_ids is ids or (len(previous_ids) == n and previous_ids == ids):
        return np.arange(n, dtype=np.int64)
    pos = np.full(n, -1, np.int64)
    if not len(previous_ids):
        return pos
    old = np.empty(len(previous_ids), object)
    old[:] = previous_ids
    for lo in range(0, n, SLICE):
        hi = min(lo + SLICE, n)
        new = np.empty(hi - lo, object)
        new[:] = ids[lo:hi]
        at = np.searchsorted(old, new)
        found = old[np.minimum(at, len(old) - 1)] == new
        pos[lo:hi] = np.where(found.astype(np.bool_), at, -1)
    return pos


def collect(
    ids: Sequence[str],
    fresh: Mapping[str, bytes],
    previous: TextIndex | None,
    previous_ids: Sequence[str],
) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """``(lengths, item_tokens)`` of the actions ``ids`` (sorted): the words of an id in
    ``fresh`` from there, of any other from ``previous`` (the index over ``previous_ids``,
    numbered in the same vocabulary)."""
    n = len(ids)
    size = np.dtype(np.int32).itemsize
    if previous is None or not len(previous_ids):
        pos = np.full(n, -1, np.int64)
    else:
        pos = _previous_positions(ids, previous_ids, n)
    if len(fresh) > n // 8:
        at = [(i, b) for i, b in enumerate(map(fresh.get, ids)) if b is not None]
    else:
        at = []
        for action_id, b in fresh.items():
            i = bisect_left(ids, action_id)
            if i < n and ids[i] == action_id:
                at.append((i, b))
    lengths = np.zeros(n, np.int64)
    for i, b in at:
        pos[i] = -1
        lengths[i] = len(b) // size
    old = pos >= 0
    if previous is not None:
        ptr = previous.item_ptr
        lengths[old] = ptr[pos[old] + 1] - ptr[pos[old]]
    if int(old.sum()) + len(at) != n:
        raise RuntimeError("catalog build: an action's words are neither fresh nor indexed")
    item_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=item_ptr[1:])
    tokens = np.empty(int(item_ptr[-1]), np.int32)
    if previous is not None:
        source = previous.item_tokens
        for lo in range(0, n, SLICE):
            hi = min(lo + SLICE, n)
            rows = np.flatnonzero(old[lo:hi]) + lo
            if not len(rows):
                continue
            counts = lengths[rows]
            offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
            src = np.repeat(previous.item_ptr[pos[rows]], counts) + offsets
            dst = np.repeat(item_ptr[rows], counts) + offsets
            tokens[dst] = source[src]
    for i, b in at:
        tokens[item_ptr[i] : item_ptr[i + 1]] = np.frombuffer(b, np.int32)
    return lengths, tokens
