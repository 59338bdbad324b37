"""What a query means to each leaf category, by meaning rather than by shared words.

The lexical evidence (:mod:`recommender.retrieval.evidence`) knows the words the catalog
uses; a customer who asks for "a book that teaches negotiation skills" or a "raincoat for a
six-year-old" uses none of them, and "Roman über Zeitreisen" shares only "Roman" with the
catalog. The static sentence embedding the intent model already reads
(:mod:`intent.embeddings`: a pretrained sub-word table, mean-pooled, about 30 µs a text)
places such queries near the actions they are about.

Per catalog version, each leaf category keeps up to :data:`PROTOTYPES` of its actions as
prototypes (a sample fixed by their ids, so a grown catalog costs no more than that per
leaf, and a new version keeps almost all of the previous one's, so its first query embeds
few), each embedded once per title language from its title and tags. The runtime builds a
new version's prototypes off the event loop before it goes live (:func:`warm`), so no
request pays for them. A query is embedded
once; a leaf's similarity is the mean of its :data:`TOP` best prototype similarities (a leaf
is as close as its nearest few actions, not as its average one: a crime shelf holds cosy
and Nordic novels alike). Everything on the request path is one product (single-threaded)
and one partition over ``leaves x PROTOTYPES``, once per distinct query text (remembered
per catalog version); the vectors of an action are remembered by its text across catalog
versions, so a rebuild embeds only new or changed prototypes.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from domain.actions import CatalogItem
from intent.embeddings import DEFAULT_EMBEDDING, StaticEmbedder, embedding_available, get_embedder
from recommender.catalog import CatalogIndex

FloatArray = NDArray[np.float32]

#: prototype actions per leaf category (evenly spread over its actions)
PROTOTYPES = 16
#: a leaf's similarity: the mean of its best ``TOP`` prototype similarities
TOP = 3
#: query texts whose leaf similarities are remembered per catalog version
_QUERIES = 4096
#: action texts whose vectors are remembered across catalog versions (a few versions'
#: prototypes: the demo catalog's are about 3,000; a vector is 1 KB)
_REMEMBERED = 8_192


def _texts(item: CatalogItem) -> list[str]:
    """One text per title language: the title and the action's tags (words, not ids)."""
    tags = " ".join(t.replace("_", " ") for t in item.tags if not t.startswith("author_"))
    leaf = item.category.rsplit("/", 1)[-1].replace("_", " ")
    return [f"{title} {tags} {leaf}".strip() for _, title in item.titles if title]


@dataclass(frozen=True)
class LeafSimilarity:
    """A query's similarity to every leaf category of the catalog."""

    #: category ids (into ``CatalogIndex.categories``) that have prototypes
    categories: NDArray[np.int32]
    #: the similarity of each (cosine, -1..1)
    similarity: FloatArray

    def as_dict(self, catalog: CatalogIndex) -> dict[str, float]:
        names = catalog.categories
        return {
            names[int(c)]: float(s)
            for c, s in zip(self.categories.tolist(), self.similarity.tolist(), strict=True)
        }


class SemanticIndex:
    """The prototypes of one catalog version: ``leaves x slots x dim`` (empty slots zero)."""

    def __init__(self, catalog: CatalogIndex, embedder: StaticEmbedder, memory: _Memory) -> None:
        # held weakly: the previous version's index is remembered beside the live one's,
        # and must not keep the previous catalog alive
        self._catalog = weakref.ref(catalog)
        self.embedder = embedder
        leaves: list[int] = []
        rows: list[list[FloatArray]] = []
        for group in prototype_groups(catalog):
            vectors = [v for p in group.tolist() for v in memory.vectors(catalog.items[p])]
            if vectors:
                leaves.append(int(catalog.category_of[group[0]]))
                rows.append(vectors)
        slots = max((len(r) for r in rows), default=1)
        table = np.zeros((len(rows), slots, embedder.dim), np.float32)
        filled = np.zeros((len(rows), slots), np.bool_)
        for i, vectors in enumerate(rows):
            table[i, : len(vectors)] = np.stack(vectors)
            filled[i, : len(vectors)] = True
        self.leaves = np.asarray(leaves, np.int32)
        self.table = table.reshape(len(rows) * slots, embedder.dim)
        self.slots = slots
        #: -inf for an empty slot, so it is never among a leaf's best
        self.empty = np.where(filled, 0.0, -np.inf).astype(np.float32)
        #: how many prototypes a leaf's similarity averages (its best TOP, fewer if it has fewer)
        self.top = np.minimum(filled.sum(axis=1), TOP).astype(np.int32)
        self._seen: dict[str, LeafSimilarity] = {}

    def of(self, catalog: CatalogIndex) -> bool:
        """Whether these are the prototypes of ``catalog``."""
        return self._catalog() is catalog

    def similarity(self, query: str) -> LeafSimilarity:
        """The query's similarity to every leaf (empty when it has no known token);
        remembered per query text (bounded), as the same queries recur."""
        found = self._seen.get(query)
        if found is None:
            found = self._similarity(query)
            if len(self._seen) >= _QUERIES:
                self._seen.clear()
            self._seen[query] = found
        return found

    def _similarity(self, query: str) -> LeafSimilarity:
        vector = self.embedder.embed_one(query)
        if not len(self.leaves) or not vector.any():
            return LeafSimilarity(np.zeros(0, np.int32), np.zeros(0, np.float32))
        # einsum, not the BLAS product: a few thousand rows are done in one thread in about
        # 0.1 ms, where a multi-threaded BLAS call on a busy machine costs ten times that
        sims = np.einsum("ij,j->i", self.table, vector)
        sims = sims.reshape(len(self.leaves), self.slots) + self.empty
        k = min(TOP, self.slots)
        best = -np.partition(-sims, k - 1, axis=1)[:, :k] if self.slots > k else sims
        best = np.where(np.isfinite(best), best, 0.0)
        return LeafSimilarity(self.leaves, (best.sum(axis=1) / self.top).astype(np.float32))


def prototype_groups(catalog: CatalogIndex) -> list[NDArray[np.intp]]:
    """Per leaf category that has actions (in category id order), its prototypes' catalog
    positions, ascending: the :data:`PROTOTYPES` whose ids hash lowest (all of a smaller
    leaf), a pseudo-random sample that stays put as the catalog grows (an action leaves it
    only when a newer one hashes lower), so a new version embeds few new prototypes. Array
    operations over the catalog's id hashes (a few milliseconds at 100,000 actions)."""
    n = len(catalog)
    if n == 0:
        return []
    cats = catalog.category_of
    by_hash = np.lexsort((catalog.id_hash, cats))  # by category, then id hash
    grouped = cats[by_hash]
    starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1])))
    rank = np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))
    chosen = by_hash[rank < PROTOTYPES]
    chosen = chosen[np.lexsort((chosen, cats[chosen]))]  # by category, then position
    bounds = np.flatnonzero(np.diff(cats[chosen])) + 1
    return np.split(chosen, bounds)


def _sample(group: NDArray[np.intp], catalog: CatalogIndex) -> NDArray[np.intp]:
    """The prototypes :func:`prototype_groups` picks among ``group`` (positions of one leaf)."""
    if len(group) <= PROTOTYPES:
        return np.sort(group)
    keys = catalog.id_hash[group]
    return np.sort(group[np.argpartition(keys, PROTOTYPES - 1)[:PROTOTYPES]])


class _Memory:
    """Action text -> its vector, across catalog versions (least recently used dropped)."""

    def __init__(self, embedder: StaticEmbedder) -> None:
        self.embedder = embedder
        self._known: OrderedDict[str, FloatArray] = OrderedDict()

    def vectors(self, item: CatalogItem) -> list[FloatArray]:
        texts = _texts(item)
        missing = [t for t in texts if t not in self._known]
        if missing:
            for text, vector in zip(missing, self.embedder.embed(missing), strict=True):
                self._known[text] = vector
        out = []
        for text in texts:
            self._known.move_to_end(text)
            out.append(self._known[text])
        while len(self._known) > _REMEMBERED:
            self._known.popitem(last=False)
        return [v for v in out if v.any()]


_lock = threading.Lock()
#: the most recent indexes (the live catalog's, and the next one's warmed before it goes
#: live; or the previous one's while requests that started on it finish)
_held: tuple[SemanticIndex, ...] = ()
_KEEP = 2
_memory: _Memory | None = None


def semantic_index(catalog: CatalogIndex) -> SemanticIndex | None:
    """The prototypes of ``catalog`` (the last two catalogs' remembered); None when the
    embedding package is not installed."""
    global _held, _memory
    for held in _held:
        if held.of(catalog):
            return held
    if not embedding_available(DEFAULT_EMBEDDING):
        return None
    with _lock:
        for held in _held:
            if held.of(catalog):
                return held
        embedder = get_embedder(DEFAULT_EMBEDDING)
        if _memory is None or _memory.embedder is not embedder:
            _memory = _Memory(embedder)
        index = SemanticIndex(catalog, embedder, _memory)
        _held = (index, *_held)[:_KEEP]
    return index


def warm(catalog: CatalogIndex) -> None:
    """Build the prototypes of a new catalog (embedding its new prototype actions) before it
    goes live, off the event loop, not on its first query's request path. (The worker
    thread allocates from a glibc arena of its own: :mod:`service.memory` caps how many.)"""
    semantic_index(catalog)
