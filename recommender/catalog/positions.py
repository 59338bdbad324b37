"""Action id -> catalog position, read from the catalog's sorted ids by binary search.

A catalog's positions are the ranks of its ids in sorted order, so the ids tuple the
index keeps already answers "where is this id": a dict beside it would cost a worker about
7 MB at 100,000 actions (its table, plus an int object per position past 256) for lookups
a request makes a few hundred of at most.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence


class SortedPositions(Mapping[str, int]):
    """A read-only ``{id: position}`` over ``ids``, which must be sorted and distinct."""

    __slots__ = ("_ids",)

    def __init__(self, ids: Sequence[str]) -> None:
        self._ids = ids

    def __getitem__(self, action_id: str) -> int:
        ids = self._ids
        i = bisect_left(ids, action_id)
        if i < len(ids) and ids[i] == action_id:
            return i
        raise KeyError(action_id)

    def get(self, action_id: str, default: int | None = None) -> int | None:  # type: ignore[override]
        ids = self._ids
        i = bisect_left(ids, action_id)
        if i < len(ids) and ids[i] == action_id:
            return i
        return default

    def __contains__(self, action_id: object) -> bool:
        if not isinstance(action_id, str):
            return False
        ids = self._ids
        i = bisect_left(ids, action_id)
        return i < len(ids) and ids[i] == action_id

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)
