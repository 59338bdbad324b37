"""The user's history kept inside the sub-categories a query names.

A crime reader asking for a cookbook should get cookbooks first: the history terms
(category and item affinity, items similar to the user's) rank only among the named
sub-categories and their parents, so history never outranks what the query names.
"""

from __future__ import annotations

from dataclasses import replace

from recommender.catalog import CatalogIndex
from recommender.ranking.terms import ScoringContext

#: catalog strength from which a query's named sub-categories bound the user's history
HISTORY_INSIDE = 0.2


def history_inside(ctx: ScoringContext, named: set[str], catalog: CatalogIndex) -> ScoringContext:
    """``ctx`` with the history terms (category and item affinity, similar items) kept to
    the ``named`` leaf categories and their parents: a crime reader asking for a cookbook
    gets cookbooks first, history ranks only among them. A parent level ("books") counts
    for every sub-category alike, so it cannot lift another sub-category over a named one."""

    def parent_or_named(level: str) -> bool:
        return any(n == level or n.startswith(level + "/") for n in named)

    def in_named(action_id: str) -> bool:
        pos = catalog.position.get(action_id)
        if pos is None:
            return False
        category = catalog.categories[int(catalog.category_of[pos])]
        return any(category == n or category.startswith(n + "/") for n in named)

    return replace(
        ctx,
        category_affinity={k: v for k, v in ctx.category_affinity.items() if parent_or_named(k)},
        item_affinity={k: v for k, v in ctx.item_affinity.items() if in_named(k)},
        similar={k: v for k, v in ctx.similar.items() if in_named(k)},
    )
