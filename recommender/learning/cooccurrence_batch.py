"""The co-occurrence pair rule over a whole batch at once (numpy), and the increments it
makes, summed in memory until they are written.

:func:`recommender.learning.cooccurrence.add_entry_pairs` applies the rule to one event at
a time: a batch of 500 events pairs each with up to ``max_history`` earlier events of its
user, tens of thousands of Python dict operations. Here the batch's events and their users'
earlier events are arrays, and the rule is array arithmetic; the result is the same, to the
bit: every sum adds the same numbers in the same order (``numpy.bincount`` adds a bin's
weights in the order they come).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from itertools import pairwise, repeat

import numpy as np
import numpy.typing as npt

from recommender.learning.cooccurrence import ANCHOR_CAP, DAY, CooccurrenceConfig

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


class ItemCodes:
    """Item ids as small integers, for the arrays (a new book after each write)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.names: list[str] = []

    def encode(self, items: Sequence[str]) -> Ints:
        index = self.index
        for item in set(items).difference(index):
            index[item] = len(self.names)
            self.names.append(item)
        return np.fromiter(map(index.__getitem__, items), dtype=np.int64, count=len(items))


def pair_increments(
    ts: Floats,
    code: Ints,
    weight: Floats,
    events: Ints,
    starts: Ints,
    scale: Floats,
    config: CooccurrenceConfig,
) -> tuple[Ints, Ints, Floats]:
    """The rule for every event at once: (source, target, increment) arrays, event after
    event in the order of ``events``.

    ``ts``, ``code``, ``weight``: every user's sequence of item events, oldest first, one
    user after another. ``events``: the positions of the events to pair in it; ``starts``:
    where each one's user's sequence begins (its earlier events are the anchors' window);
    ``scale``: each event's multiplier (the decay encoding at its time)."""
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
    w_event = weight[events]
    keep = w_event != 0
    events, starts, scale, w_event = events[keep], starts[keep], scale[keep], w_event[keep]
    lo = np.maximum(starts, events - config.max_history)
    lengths = events - lo
    total = int(lengths.sum())
    if total == 0:
        return empty
    # one row per (event, earlier entry in its window)
    row = np.repeat(np.arange(len(events)), lengths)
    first = np.cumsum(lengths) - lengths
    pos = np.arange(total) - np.repeat(first - lo, lengths)
    at = ts[events]
    start = at - config.window_days * DAY
    t = ts[pos]
    inside = (t >= start[row]) & (t <= at[row])
    row, pos = row[inside], pos[inside]
    if len(row) == 0:
        return empty
    # each event's total weight per anchor item (in the entries' order)
    span = int(code.max()) + 1
    uniq, inverse = np.unique(row * span + code[pos], return_inverse=True)
    totals = np.bincount(inverse.ravel(), weights=weight[pos], minlength=len(uniq))
    anchor_row, anchor = np.divmod(uniq, span)
    target = code[events][anchor_row]
    ok = (totals > 0) & (anchor != target)
    anchor_row, anchor, target = anchor_row[ok], anchor[ok], target[ok]
    strength = np.minimum(ANCHOR_CAP, totals[ok])
    w = w_event[anchor_row]
    gain = np.copysign(np.sqrt(np.abs(w) * strength), w) * scale[anchor_row]
    return anchor, target, gain


class PendingPairs:
    """Pair and mass increments not yet written, by item code, summed per pair as they come
    (a batch's sums, in the order its increments were made, added to what is pending); a
    write takes them all and starts a new one."""

    def __init__(self, codes: ItemCodes) -> None:
        self.codes = codes
        self.mass: dict[str, float] = defaultdict(float)
        #: (source << 32) | target, sorted, and each pair's sum
        self._keys: Ints = np.zeros(0, np.int64)
        self._sums: Floats = np.zeros(0, np.float64)

    def __bool__(self) -> bool:
        return len(self._keys) > 0 or bool(self.mass)

    def add(self, source: Ints, target: Ints, gain: Floats) -> None:
        if not len(gain):
            return
        keys, inverse = np.unique((source << 32) | target, return_inverse=True)
        sums = np.bincount(inverse.ravel(), weights=gain, minlength=len(keys)).astype(np.float64)
        at: Ints = np.asarray(np.searchsorted(self._keys, keys), dtype=np.int64)
        found: Bools = (
            self._keys[np.minimum(at, len(self._keys) - 1)] == keys
            if len(self._keys)
            else np.zeros(len(keys), np.bool_)
        )
        self._sums[at[found]] += sums[found]
        new = ~found
        if new.any():
            self._keys = np.insert(self._keys, at[new], keys[new])
            self._sums = np.insert(self._sums, at[new], sums[new])

    def pairs(self) -> dict[str, dict[str, float]]:
        """source -> target -> summed increment."""
        names = self.codes.names
        source = self._keys >> 32
        targets = [names[t] for t in (self._keys & 0xFFFFFFFF).tolist()]
        sums = self._sums.tolist()
        # the keys are sorted: each source's pairs are one run
        bounds = [0, *(np.flatnonzero(np.diff(source)) + 1).tolist(), len(sums)]
        return {
            names[int(source[a])]: dict(zip(targets[a:b], sums[a:b], strict=True))
            for a, b in pairwise(bounds)
            if b > a
        }


class RecentEntries:
    """Entries of users' lists of recent item events (``"<ts> <type> <item> <event id>"``,
    see :func:`context.events.recent_item`), parsed once and remembered by their text.

    A user's list changes by a few entries a batch, so nearly every entry read was read
    before: a lookup by its text is several times cheaper than parsing it again. What is
    remembered is bounded by the observer, which starts a new one when it has grown past a
    limit."""

    def __init__(self, codes: ItemCodes, table: Mapping[str, float]) -> None:
        self.codes = codes
        self.table = table
        self._index: dict[bytes | str, int] = {}
        self._ts: Floats = np.zeros(0, np.float64)
        self._code: Ints = np.zeros(0, np.int64)
        self._weight: Floats = np.zeros(0, np.float64)
        self._id_hash: Ints = np.zeros(0, np.int64)
        self._ok: Bools = np.zeros(0, np.bool_)

    def __len__(self) -> int:
        return len(self._index)

    def lookup(
        self, flat: Sequence[bytes | str], skip: AbstractSet[str]
    ) -> tuple[Floats, Ints, Floats, Bools]:
        """Per entry of ``flat``: time, item code, weight, and whether it is usable (well
        formed, and not one of the events in ``skip``)."""
        index = self._index
        pos = np.fromiter(map(index.get, flat, repeat(-1)), np.int64, len(flat))
        missing = np.flatnonzero(pos < 0)
        if len(missing):
            new = [flat[i] for i in missing.tolist()]
            self._add(new)
            pos[missing] = [index[x] for x in new]
        usable = self._ok[pos]
        if skip:
            hashes = np.fromiter(map(hash, skip), np.int64, len(skip))
            # the hash only picks the candidates; their ids are compared
            for i in np.flatnonzero(np.isin(self._id_hash[pos], hashes)).tolist():
                if _entry_id(flat[i]) in skip:
                    usable[i] = False
        return self._ts[pos], self._code[pos], self._weight[pos], usable

    def _add(self, raw: Sequence[bytes | str]) -> None:
        index = self._index
        ts: list[float] = []
        items: list[str] = []
        kinds: list[str] = []
        id_hash: list[int] = []
        ok: list[bool] = []
        for x in raw:
            if x in index:  # twice among the new ones
                continue
            parts = (x.decode() if isinstance(x, bytes) else x).split(" ")
            try:
                good = len(parts) == 4
                t = float(parts[0]) if good else 0.0
            except ValueError:  # a malformed entry never blocks learning from the rest
                good, t = False, 0.0
            index[x] = len(self._ts) + len(ts)
            ts.append(t)
            items.append(parts[2] if good else "")
            kinds.append(parts[1] if good else "")
            id_hash.append(hash(parts[3]) if good else 0)
            ok.append(good)
        table = self.table
        self._ts = np.concatenate([self._ts, np.array(ts, np.float64)])
        self._code = np.concatenate([self._code, self.codes.encode(items)])
        self._weight = np.concatenate(
            [self._weight, np.array([table.get(k, 0.0) for k in kinds], np.float64)]
        )
        self._id_hash = np.concatenate([self._id_hash, np.array(id_hash, np.int64)])
        self._ok = np.concatenate([self._ok, np.array(ok, np.bool_)])


def _entry_id(raw: bytes | str) -> str:
    return (raw.decode() if isinstance(raw, bytes) else raw).rpartition(" ")[2]
