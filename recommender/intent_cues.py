"""Cues of a query that the decision weighs next to the classifier and the catalog.

**Trouble.** Whether the query says that something is broken (:mod:`intent.trouble`) is
one binary feature whose likelihood under each intent the training utterances give: the
share of an intent's utterances that say a trouble cue (``word_spread_`` counts it). A
query with the cue adds ``log P(cue | k)`` to intent ``k``'s logit, one without it
``log (1 - P(cue | k))``, both times a weight below one (the classifier read the same
words, so the cue is not new evidence in full). "Le congélateur ne congèle plus" then
leaves buying behind although the catalog only knows freezers, and "Jacke, die keinen
Regen durchlässt" is no repair: a negation that is no trouble cue counts against the
intents whose customers nearly always say one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from intent.trouble import ALL, TROUBLE, has_trouble
from intent.word_spread import WordSpread
from recommender.retrieval.evidence import Evidence

#: pseudo-counts of the cue's share per intent (a Beta(0.5, 0.5) prior: an intent that
#: never said a cue in 80 utterances gets about 0.6 %)
_PRIOR = 0.5


def trouble_shares(spread: WordSpread | None) -> dict[str, float]:
    """Intent -> the (smoothed) share of its training utterances that say a trouble cue;
    empty for a model that does not keep the count."""
    if not spread:
        return {}
    totals = spread.get(ALL) or {}
    said = spread.get(TROUBLE) or {}
    return {k: (said.get(k, 0) + _PRIOR) / (n + 2 * _PRIOR) for k, n in totals.items() if n > 0}


def trouble_logits(query: str, spread: WordSpread | None, weight: float) -> Mapping[str, float]:
    """Intent -> what the query's trouble cue (or its absence) adds to its logit; the
    intents without a count and out of scope get the average, so the cue moves mass only
    between the intents the training data knows (empty: no weight or no count). The
    terms are read only: they are remembered for the last counts asked about."""
    if weight <= 0 or not spread:
        return {}
    cue = has_trouble(query)
    held = _held[0]
    if held.spread is not spread or held.weight != weight:
        held = _held[0] = _Remembered(spread, weight)
    terms = held.terms.get(cue)
    if terms is None:
        shares = trouble_shares(spread)
        terms = {k: weight * math.log(p if cue else 1.0 - p) for k, p in shares.items()}
        held.terms[cue] = terms
    return terms


class _Remembered:
    """The trouble terms of one model's counts and weight: with and without the cue (a
    model's counts never change)."""

    def __init__(self, spread: WordSpread | None = None, weight: float = 0.0) -> None:
        self.spread = spread
        self.weight = weight
        self.terms: dict[bool, dict[str, float]] = {}


#: the terms of the counts last asked about
_held = [_Remembered()]


def negated_logits(evidence: Evidence, weight: float, floor: float) -> Mapping[str, float]:
    """Intent -> what the catalog's reading of the query's *negated* words ("mais pas un
    livre", "anything but a phone") takes from its logit: ``weight * strength * log(1 -
    P_catalog(k | negated) + floor)``, so the intent those words name loses to the one
    the customer is left with (empty: nothing negated, or nothing the catalog knows)."""
    if weight <= 0 or not evidence.matched:
        return {}
    scale = weight * min(evidence.strength, 1.0)
    return {k: scale * math.log(1.0 - p + floor) for k, p in evidence.intents.items()}


def merged(*terms: Mapping[str, float]) -> dict[str, float]:
    """The sum of several cue terms; an intent missing from one gets that term's mean."""
    live = [t for t in terms if t]
    keys = {k for t in live for k in t}
    out: dict[str, float] = {}
    for t in live:
        mean = sum(t.values()) / len(t)
        for k in keys:
            out[k] = out.get(k, 0.0) + t.get(k, mean)
    return out
