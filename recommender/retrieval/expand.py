"""Query words the catalog's index does not know, read as words it does.

A customer types "Waschmaschiene", "fantsy" or "Waschtrockner"; the index knows
"waschmaschine", "fantasy" and "trockner". Every folded query word that is not in the
index vocabulary is looked up once (the answer is remembered, bounded):

* a **typo** (five letters or more): the vocabulary word of the same first letter within
  a small edit distance (one edit up to eight letters, two from nine on; transpositions
  count as one), or every such word equally close (same distance, same shared trigrams;
  at most :data:`TIES`), found
  through the words sharing its character trigrams, so the lookup never walks the
  vocabulary;
* else a **compound** (German mostly, eight letters or more): the longest known word it
  ends with (its head, four letters or more) and the known word it starts with, if any.

Expansions only widen what a query retrieves and how the catalog's evidence is read; a
reason never quotes them (it quotes the words as typed).
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

#: words shorter than this are never corrected (too many near neighbours)
MIN_TYPO = 5
#: a compound part must have at least this many letters, the compound this many
MIN_PART = 4
MIN_COMPOUND = 8
#: remembered expansions per index (cleared when full)
CACHE_SIZE = 50_000
#: candidates (by shared trigrams) checked with the edit distance
CANDIDATES = 24
#: words a typo stands for when it is equally close to several (same distance, same
#: shared trigrams)
TIES = 3


def _grams(word: str) -> set[str]:
    padded = f"^{word}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def edit_distance(a: str, b: str, bound: int) -> int:
    """Optimal-string-alignment distance of ``a`` and ``b`` (``bound + 1`` once above)."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    if bound == 1:
        return _within_one(a, b)
    return min(distances_from(a)(b), bound + 1)


def distances_from(pattern: str) -> Callable[[str], int]:
    """The optimal-string-alignment distance from ``pattern`` to any text, bit-parallel
    (Hyyrö's extension of Myers' algorithm to transpositions): one pass over the text
    with a few integer operations per letter, the pattern's letters as bit masks."""
    m = len(pattern)
    full = (1 << m) - 1
    top = 1 << (m - 1) if m else 0
    masks: dict[str, int] = {}
    for i, ch in enumerate(pattern):
        masks[ch] = masks.get(ch, 0) | (1 << i)

    def distance(text: str) -> int:
        if m == 0:
            return len(text)
        vp, vn, d0, before, dist = full, 0, 0, 0, m
        for ch in text:
            pm = masks.get(ch, 0)
            swapped = (((~d0) & pm) << 1) & before
            d0 = (((pm & vp) + vp) ^ vp) | pm | vn | swapped
            hp = vn | (~(d0 | vp) & full)
            hn = d0 & vp
            if hp & top:
                dist += 1
            elif hn & top:
                dist -= 1
            hp = ((hp << 1) | 1) & full
            hn = (hn << 1) & full
            vp = hn | (~(d0 | hp) & full)
            vn = d0 & hp
            before = pm
        return dist

    return distance


def _within_one(a: str, b: str) -> int:
    """:func:`edit_distance` with ``bound`` 1, in one pass: 0, 1 (one substitution,
    insertion, deletion or transposition of neighbours) or 2."""
    if a == b:
        return 0
    if len(a) != len(b):
        short, long = (a, b) if len(a) < len(b) else (b, a)
        i = 0
        while i < len(short) and short[i] == long[i]:
            i += 1
        return 1 if short[i:] == long[i + 1 :] else 2
    i = 0
    while a[i] == b[i]:
        i += 1
    if a[i + 1 :] == b[i + 1 :]:
        return 1
    swapped = i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i]
    return 1 if swapped and a[i + 2 :] == b[i + 2 :] else 2


class Expander:
    """Expansions of unknown query words into words of one index's vocabulary."""

    def __init__(
        self, vocabulary: Mapping[str, int], n_tokens: int, previous: Expander | None = None
    ) -> None:
        """``previous``: the expander of an earlier index over the same (append-only)
        vocabulary, whose correction index this one extends by the newer words instead of
        building it again (a catalog version usually adds few words to thousands)."""
        self._vocabulary = vocabulary
        self._n_tokens = n_tokens
        # the vocabulary is shared and append-only: a later catalog build (another thread)
        # may add words while this reads it, so read a copy (taken in one C call, atomic)
        self._known = {w for w, i in list(vocabulary.items()) if i < n_tokens}
        self._by_gram: dict[tuple[str, str, int], list[str]] | None = None
        self._cache: dict[str, tuple[str, ...]] = {}
        self._previous = (
            previous
            if previous is not None
            and previous._vocabulary is vocabulary
            and previous._n_tokens <= n_tokens
            else None
        )

    def known(self, word: str) -> bool:
        return word in self._known

    def expand(self, word: str) -> tuple[str, ...]:
        """The index words ``word`` stands for: itself when known, else its typo
        correction, else its compound parts; empty when nothing fits."""
        if word in self._known:
            return (word,)
        if len(word) < MIN_TYPO:
            return ()
        found = self._cache.get(word)
        if found is None:
            found = self._correct(word)
            if not found and len(word) >= MIN_COMPOUND:
                found = self._split(word)
            self._remember(word, found)
        return found

    def correct(self, word: str) -> str:
        """``word`` itself when known or too short, else its typo correction (or itself
        when none is close enough); no compound splitting."""
        if word in self._known or len(word) < MIN_TYPO:
            return word
        key = "=" + word  # kept apart from :meth:`expand`'s answers
        found = self._cache.get(key)
        if found is None:
            found = self._correct(word) or (word,)
            self._remember(key, found)
        return found[0]

    def _remember(self, key: str, found: tuple[str, ...]) -> None:
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = found

    def expand_all(self, words: Iterable[str]) -> dict[str, tuple[str, ...]]:
        return {w: self.expand(w) for w in words}

    def prepare(self) -> None:
        """Build the correction index now rather than at the first unknown word."""
        self._grams_index()

    def _grams_index(self) -> dict[tuple[str, str, int], list[str]]:
        """(trigram, first letter, length) -> the known words of that first letter and
        length that contain the trigram: a lookup reads only the words a correction may
        pick, however large the vocabulary grows."""
        if self._by_gram is None:
            previous, self._previous = self._previous, None
            base = previous._by_gram if previous is not None else None
            by_gram: dict[tuple[str, str, int], list[str]] = {}
            if previous is not None and base is not None:
                # the earlier index, its lists copied where a newer word joins them (the
                # earlier index stays as it was: the live catalog may still read it)
                by_gram = dict(base)
                since = previous._n_tokens
                newer = sorted(
                    w for w, i in list(self._vocabulary.items()) if since <= i < self._n_tokens
                )
                for w in newer:
                    if len(w) >= MIN_TYPO - 1:
                        for g in _grams(w):
                            key = (g, w[0], len(w))
                            words = list(by_gram.get(key, ()))
                            bisect.insort(words, w)
                            by_gram[key] = words
            else:
                for w in sorted(self._known):
                    if len(w) >= MIN_TYPO - 1:
                        for g in _grams(w):
                            by_gram.setdefault((g, w[0], len(w)), []).append(w)
            self._by_gram = by_gram
        return self._by_gram

    def _correct(self, word: str) -> tuple[str, ...]:
        bound = 1 if len(word) <= 8 else 2
        index = self._grams_index()
        grams = _grams(word)
        first, size = word[0], len(word)
        shared = Counter(
            itertools.chain.from_iterable(
                index.get((g, first, length), ())
                for g in grams
                for length in range(size - bound, size + bound + 1)
            )
        )
        ranked = sorted(shared, key=lambda w: (-shared[w], w))[:CANDIDATES]
        # one edit changes at most four of a word's trigrams (a transposition), so a word
        # sharing fewer than this many cannot be within ``bound``; ``ranked`` is in
        # descending order of shared trigrams, so the rest cannot either
        needed = len(grams) - 4 * bound
        distance = distances_from(word) if bound > 1 else functools.partial(_within_one, word)
        best: tuple[int, int] | None = None
        tied: list[str] = []
        for w in ranked:
            if shared[w] < needed:
                break
            if best is not None and best[0] == 1 and -shared[w] > best[1]:
                break  # the least an unknown word can be away; later ones rank lower
            d = min(distance(w), bound + 1)
            if d <= bound:
                key = (d, -shared[w])
                if best is None or key < best:
                    best, tied = key, [w]
                elif key == best:
                    tied.append(w)
        # a typo as close to two words as to one ("romace": "roman", "romance") stands for
        # both: the evidence and the query's meaning choose, not the alphabet
        return tuple(tied[:TIES])

    def _split(self, word: str) -> tuple[str, ...]:
        head = next(
            (
                word[i:]
                for i in range(MIN_PART, len(word) - MIN_PART + 1)
                if word[i:] in self._known
            ),
            None,
        )
        if head is None:
            return ()
        modifier = word[: len(word) - len(head)]
        parts = [head]
        for candidate in (modifier, modifier.rstrip("s"), modifier + "e", modifier[:-1]):
            if len(candidate) >= MIN_PART and candidate in self._known:
                parts.append(candidate)
                break
        return tuple(parts)
