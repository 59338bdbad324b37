"""The user's history kept inside the sub-categories a query names.

A crime reader asking for a cookbook should get cookbooks first: every term that comes of
the user's past (category and item affinity, items similar to the user's, the journey's
page, open intents) ranks only among the named sub-categories, so history never outranks
what the query names.
"""

from __future__ import annotations

from dataclasses import replace

from recommender.catalog import CatalogIndex
from recommender.ranking.terms import ScoringContext

#: catalog strength from which a query's named sub-categories bound the user's history
HISTORY_INSIDE = 0.2


def _under(category: str, prefix: str) -> bool:
    return category == prefix or category.startswith(prefix + "/")


def history_inside(ctx: ScoringContext, named: set[str], catalog: CatalogIndex) -> ScoringContext:
    """``ctx`` with the history terms kept to the ``named`` leaf categories: a crime reader
    asking for a cookbook gets cookbooks first, history ranks only among them.

    Every source of the user's past is scoped the same way: outside the named leaves the
    category terms are 0 (``history_leaves``, :func:`recommender.ranking.terms.category_terms`),
    and inside them a signal counts only where it sits inside a named leaf (a leaf the user
    likes, an item they bought, an item similar to theirs, the page they were on) or lifts
    every named leaf alike (a level above all of them, an open intent that admits all of
    them). A level above only some of them ("services" when the query names an
    installation service and broadband plans) would lift those over the others for what
    the user did before, not for what the query says: it is dropped."""

    def kept(level: str) -> bool:
        inside = any(_under(level, n) for n in named)
        return inside or all(_under(n, level) for n in named)

    def in_named(action_id: str) -> bool:
        pos = catalog.position.get(action_id)
        if pos is None:
            return False
        category = catalog.categories[int(catalog.category_of[pos])]
        return any(_under(category, n) for n in named)

    page = ctx.page_category
    return replace(
        ctx,
        history_leaves=tuple(sorted(named)),
        category_affinity={k: v for k, v in ctx.category_affinity.items() if kept(k)},
        item_affinity={k: v for k, v in ctx.item_affinity.items() if in_named(k)},
        similar={k: v for k, v in ctx.similar.items() if in_named(k)},
        page_category=page if page is not None and kept(page) else None,
        open_intent_categories={
            name: prefixes
            for name, prefixes in ctx.open_intent_categories.items()
            if all(any(_under(n, p) for p in prefixes) for n in named)
        },
    )
