"""Arbitration over a scored candidate set, as arrays.

The priority is the product of :mod:`recommender.ranking.priority`'s four terms
(``propensity x context_weight x value x lever``), computed for every candidate at once;
only the candidates an answer shows or the decision log keeps become
:class:`~recommender.ranking.priority.Arbitrated` objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from domain.actions import ACTION_KINDS, category_levels
from intent.taxonomy import Intent
from recommender.catalog import CatalogIndex
from recommender.catalog.arrays import unique_inverse
from recommender.controls.levers import Levers
from recommender.ranking.filter import option_of
from recommender.ranking.score import ScoreTable
from recommender.ranking.terms import TERMS as SCORE_TERMS

IntArray = NDArray[np.int32]
#: row numbers of a ScoreTable (any integer dtype)
Rows = NDArray[np.integer[Any]]
FloatArray = NDArray[np.float64]

#: the column of the ``value`` score term in :class:`ScoreTable` (scoring's TERMS)
_VALUE = SCORE_TERMS.index("value")
#: keeps exp() finite whatever weights an experiment sets (as the scalar arbitration)
MAX_EXP = 50.0


def lever_factors(levers: Levers, catalog: CatalogIndex, positions: IntArray) -> FloatArray:
    """:meth:`Levers.of` of every candidate: action x most specific category x kind."""
    n = len(positions)
    if not (levers.actions or levers.categories or levers.kinds):
        return np.ones(n)
    factor = np.ones(n)
    if levers.actions:
        ids = catalog.ids
        get = levers.actions.get
        factor *= np.fromiter((get(ids[p], 1.0) for p in positions.tolist()), np.float64, n)
    if levers.categories:
        cats, inverse = unique_inverse(catalog.category_of[positions])
        per = np.ones(len(cats))
        for j, c in enumerate(cats.tolist()):
            for level in reversed(category_levels(catalog.categories[c])):
                if level in levers.categories:
                    per[j] = levers.categories[level]
                    break
        factor *= per[inverse]
    if levers.kinds:
        per_kind = np.asarray([levers.kinds.get(k, 1.0) for k in ACTION_KINDS])  # type: ignore[call-overload]
        factor *= per_kind[catalog.kind_of[positions]]
    return factor


@dataclass
class Arbitration:
    propensity: FloatArray
    context_weight: FloatArray
    value: FloatArray
    lever: FloatArray
    priority: FloatArray

    def terms(self, j: int) -> dict[str, float]:
        return {
            "propensity": float(self.propensity[j]),
            "context_weight": float(self.context_weight[j]),
            "value": float(self.value[j]),
            "lever": float(self.lever[j]),
        }


def _exp(x: FloatArray) -> FloatArray:
    return np.exp(np.clip(x, -MAX_EXP, MAX_EXP))


def arbitrate_rows(
    table: ScoreTable, rows: Rows, propensity: FloatArray, lever: FloatArray
) -> Arbitration:
    """The arbitration terms of ``table``'s ``rows``."""
    value_contribution = table.contributions[rows, _VALUE]
    weight = _exp(table.score[rows] - value_contribution)
    value = _exp(value_contribution)
    return Arbitration(
        propensity=propensity,
        context_weight=weight,
        value=value,
        lever=lever,
        priority=propensity * weight * value * lever,
    )


#: an option of a clarifying question gets actions only when it is at least this share as
#: likely as the likeliest option; a weaker one stays in the question (the customer can
#: pick it) but shows nothing: a 10 % reading does not put a category the request most
#: likely does not want into the answer (chosen on the dev probes: the wrong options of
#: their clarifying questions stood at 0.14 and 0.27 of the likeliest, the real doubts at
#: 0.68 and 0.69)
WEAK_OPTION = 0.5


def option_slots(probabilities: tuple[float, ...], limit: int) -> list[int]:
    """How many of ``limit`` slots each option (most likely first) deserves: none below
    :data:`WEAK_OPTION` of the likeliest's probability; the others share the slots by
    their probabilities (largest remainders; at least one each while slots last)."""
    if not probabilities or limit <= 0:
        return [0] * len(probabilities)
    top = max(probabilities)
    if top <= 0:  # no probabilities: the options share alike
        strong = [1.0] * len(probabilities)
    else:
        strong = [p if p >= WEAK_OPTION * top else 0.0 for p in probabilities]
    total = sum(strong)
    exact = [limit * p / total for p in strong]
    quota = [math.floor(x) for x in exact]
    by_rest = sorted(range(len(exact)), key=lambda i: (-(exact[i] - quota[i]), i))
    for i in by_rest[: limit - sum(quota)]:
        quota[i] += 1
    for i, p in enumerate(strong):  # one slot at least for every option that earns any
        if p > 0 and quota[i] == 0:
            donor = max(range(len(quota)), key=lambda j: (quota[j], -j))
            if quota[donor] > 1:
                quota[donor] -= 1
                quota[i] = 1
    return quota


def option_blocks(
    ranked: Rows, option: IntArray, probabilities: tuple[float, ...], limit: int
) -> list[int]:
    """The head of an answer to a clarifying question: for each option in order (most
    likely first), its best rows, in the slots :func:`option_slots` gives it. A less likely
    option never gets ahead of a likelier one; slots an option cannot fill go to the next
    option that earns slots, never to one that earns none (the answer is shorter instead).

    ``option[row]`` is the option a row answers (-1: none; such rows are not shown)."""
    n = len(probabilities)
    quota = option_slots(probabilities, limit)
    per_option: list[list[int]] = [[] for _ in range(n)]
    for row in ranked.tolist():
        o = int(option[row])
        if o >= 0:
            per_option[o].append(row)
    head: list[int] = []
    carry = 0
    for i in range(n):
        if quota[i] == 0:
            continue
        take = quota[i] + carry
        head.extend(per_option[i][:take])
        carry = take - len(per_option[i][:take])
    if len(head) < limit:  # fill from the likeliest options' next best, in option order
        chosen = set(head)
        for i in range(n):
            if quota[i] == 0:
                continue
            for row in per_option[i]:
                if len(head) == limit:
                    break
                if row not in chosen:
                    head.append(row)
    return head


def backfill_rows(
    table: ScoreTable,
    ranked: Rows,
    options: tuple[Intent, ...],
    probabilities: tuple[float, ...],
    limit: int,
) -> Rows:
    """The rows that may follow an answer's head (when the contact policy holds some of it
    back, or the head is short), best first: every ranked row, or for a clarifying
    question only the rows of the options that earn slots (:func:`option_slots`), the
    likelier option's first: an option too weak for a slot never fills one."""
    if not options:
        return ranked
    probs = probabilities if len(probabilities) == len(options) else (1.0,) * len(options)
    quota = np.asarray([*option_slots(probs, limit), 0])  # option -1 (none) earns nothing
    option = option_of(table.catalog, options, table.positions)[ranked]
    keep = quota[option] > 0
    kept, by = ranked[keep], option[keep]
    out: Rows = kept[np.argsort(by, kind="stable")]
    return out


def answer_head(
    table: ScoreTable,
    ranked: Rows,
    options: tuple[Intent, ...],
    probabilities: tuple[float, ...],
    limit: int,
    diversity: float,
) -> list[int]:
    """The first ``limit`` rows of an answer: blocks per clarify option when the request
    asks a clarifying question, else the diversity rule over the ranked rows."""
    if options:
        probs = probabilities if len(probabilities) == len(options) else (1.0,) * len(options)
        option = option_of(table.catalog, options, table.positions)
        return option_blocks(ranked, option, probs, limit)
    leaf = table.catalog.category_of[table.positions]
    return diversify_rows(ranked, leaf, limit, diversity)


def diversify_rows(ranked: Rows, leaf: IntArray, limit: int, max_share: float) -> list[int]:
    """The first ``limit`` of ``ranked`` with at most ``max_share`` of the slots from one
    leaf category (``leaf[row]``); falls back to the next best when the cap leaves slots
    empty. The array form of :func:`recommender.ranking.terms.diversify`."""
    per_leaf = max(1, math.ceil(limit * max_share))
    chosen: list[int] = []
    held_back: list[int] = []
    counts: dict[int, int] = {}
    # read in growing chunks: the answer is usually full long before the end of a few
    # hundred candidates, and rows made into Python ints cost per row
    start, step = 0, max(4 * limit, 16)
    while start < len(ranked) and len(chosen) < limit:
        part = ranked[start : start + step]
        for row, c in zip(part.tolist(), leaf[part].tolist(), strict=True):
            if len(chosen) == limit:
                break
            if counts.get(c, 0) < per_leaf:
                chosen.append(row)
                counts[c] = counts.get(c, 0) + 1
            else:
                held_back.append(row)
        start += step
        step *= 2
    for row in held_back:
        if len(chosen) == limit:
            break
        chosen.append(row)
    return chosen
