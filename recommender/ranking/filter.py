"""The context filter over a candidate set: which of them may be shown here and now.

The rules run in order (cheap and most selective first), computed over catalog positions
with the catalog's columns. Each rule counts how many candidates
it removed, so a debug answer can say why an action is missing. Only eligibility rules on
the profile or context run in Python, for the few actions that carry any.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from domain.actions import ACTION_KINDS
from intent.taxonomy import Intent
from recommender.catalog import CatalogIndex
from recommender.catalog.arrays import sorted_unique
from recommender.ranking.rules import holds
from recommender.retrieval.retrieve import Split

IntArray = NDArray[np.int32]
BoolArray = NDArray[np.bool_]

RULE_NAMES = (
    "intent",
    "channel",
    "language",
    "region",
    "validity",
    "owned",
    "excluded",
    "eligibility",
)


@dataclass(frozen=True)
class FilterContext:
    channel: str
    language: str
    country: str | None
    #: seconds since the epoch
    now: float
    owned: frozenset[str] = frozenset()
    intents: tuple[Intent, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    excluded: frozenset[str] = frozenset()


@dataclass
class Filtered:
    kept: IntArray
    removed: dict[str, int]


def intent_mask(
    catalog: CatalogIndex, intents: tuple[Intent, ...], positions: IntArray
) -> BoolArray:
    """Which ``positions`` one of ``intents`` allows (all when there are none)."""
    if not intents:
        return np.ones(len(positions), np.bool_)
    cats = catalog.category_of[positions]
    kinds = catalog.kind_of[positions]
    ok = np.zeros(len(positions), np.bool_)
    for intent in intents:
        hit = catalog.category_mask(intent.allowed_categories)[cats]
        if intent.action_kinds:
            allowed_kinds = np.asarray([k in intent.action_kinds for k in ACTION_KINDS])
            hit &= allowed_kinds[kinds]
        ok |= hit
    return ok


def option_of(catalog: CatalogIndex, options: tuple[Intent, ...], positions: IntArray) -> IntArray:
    """For each of ``positions``, the first of ``options`` (most likely first) that allows
    it, or -1."""
    out = np.full(len(positions), -1, np.int32)
    for i in reversed(range(len(options))):
        out[intent_mask(catalog, (options[i],), positions)] = i
    return out


class ContextFilter:
    """The rules for one request, ready to apply to any set of positions."""

    def __init__(self, catalog: CatalogIndex, ctx: FilterContext) -> None:
        self.catalog = catalog
        self.ctx = ctx
        self._bit = catalog.channel_bit(ctx.channel)
        empty = catalog.nowhere
        self._country = catalog.regions.get(ctx.country, empty) if ctx.country else empty

    def _channel(self, p: IntArray) -> BoolArray:
        ch = self.catalog.channels[p]
        ok: BoolArray = (ch == 0) | ((ch & self._bit) != 0)
        return ok

    def _language(self, p: IntArray) -> BoolArray:
        return self.catalog.in_language(self.ctx.language, p)

    def _region(self, p: IntArray) -> BoolArray:
        return self.catalog.region_free[p] | self._country[p]

    def _validity(self, p: IntArray) -> BoolArray:
        now = self.ctx.now
        return (self.catalog.valid_from[p] <= now) & (now < self.catalog.valid_to[p])

    def available(self, p: IntArray) -> BoolArray:
        """The cheap, request-independent-of-user part: channel, language, region,
        validity (used by retrieval to skip what could never be shown)."""
        ok: BoolArray = self._channel(p) & self._language(p) & self._region(p) & self._validity(p)
        return ok

    def _static(self, p: IntArray) -> BoolArray:
        ok: BoolArray = self._channel(p) & self._language(p) & self._region(p)
        return ok

    @property
    def split(self) -> Split:
        """:meth:`available` in two: what depends on the channel, language and country
        only (retrieval remembers it per catalog version), and the validity window."""
        ctx = self.ctx
        return Split((ctx.channel, ctx.language, ctx.country), self._static, self._validity)

    def _ids_in(self, p: IntArray, ids: frozenset[str]) -> BoolArray:
        if not ids:
            return np.zeros(len(p), np.bool_)
        return np.isin(p, self.catalog.positions(ids))

    def _eligibility(self, p: IntArray) -> BoolArray:
        sets = self.catalog.rule_set_of[p]
        used = sorted_unique(sets)
        if len(used) == 1 and used[0] == 0:
            return np.ones(len(p), np.bool_)
        facts = self.ctx.facts
        holds_for = np.ones(len(self.catalog.rule_sets) + 1, np.bool_)
        for k in used.tolist():
            if k:
                holds_for[k] = all(holds(r, facts) for r in self.catalog.rule_sets[k - 1])
        ok: BoolArray = holds_for[sets]
        return ok

    def apply(self, positions: IntArray) -> Filtered:
        ctx = self.ctx
        removed = dict.fromkeys(RULE_NAMES, 0)
        p = positions
        for name in RULE_NAMES:
            if len(p) == 0:
                break
            if name == "intent":
                keep = intent_mask(self.catalog, ctx.intents, p)
            elif name == "channel":
                keep = self._channel(p)
            elif name == "language":
                keep = self._language(p)
            elif name == "region":
                keep = self._region(p)
            elif name == "validity":
                keep = self._validity(p)
            elif name == "owned":
                keep = ~self._ids_in(p, ctx.owned)
            elif name == "excluded":
                keep = ~self._ids_in(p, ctx.excluded)
            else:
                keep = self._eligibility(p)
            removed[name] = int(len(p) - np.count_nonzero(keep))
            p = p[keep]
        return Filtered(kept=p, removed=removed)
