"""The ``similar`` score term: what a user's history says about every other item.

Shared by the service (``Recommender._scoring_context``) and the offline evaluation, so
both rank with the same code. Two sources, each normalised to [0, 1] per user by its best
item, then blended:

* co-occurrence neighbours (:mod:`recommender.learning.cooccurrence`), always on;
* the active latent-factor model (:mod:`recommender.learning.factors`), when one is active.

Each item also gets the *source*: the user's item that contributed most to it, which the
explanation names ("customers who chose <title> also chose this").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from recommender.catalog import CatalogIndex
from recommender.learning.cooccurrence import CooccurrenceModel
from recommender.learning.factors import ImplicitALS

#: share of the factor model in the blend when both sources are available
FACTOR_SHARE = 0.5


@dataclass(frozen=True)
class HistorySimilarity:
    scores: dict[str, float]
    sources: dict[str, str]


def _normalised(scores: Mapping[str, float]) -> dict[str, float]:
    top = max(scores.values(), default=0.0)
    if top <= 0:
        return {}
    return {k: v / top for k, v in scores.items() if v > 0}


def similar_items(
    item_affinity: Mapping[str, float],
    neighbours: CooccurrenceModel | None,
    factors: ImplicitALS | None = None,
    *,
    factor_share: float = FACTOR_SHARE,
) -> HistorySimilarity:
    """Scores in [0, 1] of items similar to the user's positively weighted items."""
    liked = {i: w for i, w in item_affinity.items() if w > 0}
    if not liked:
        return HistorySimilarity({}, {})
    co: dict[str, float] = {}
    co_src: dict[str, str] = {}
    if neighbours is not None:
        raw, co_src = neighbours.similar_with_sources(liked)
        co = _normalised(raw)
    fa: dict[str, float] = {}
    fa_src: dict[str, str] = {}
    if factors is not None:
        raw, fa_src = factors.scores_for(liked)
        fa = _normalised(raw)
    if not fa:
        return HistorySimilarity(co, {k: co_src[k] for k in co if k in co_src})
    if not co:
        return HistorySimilarity(fa, {k: fa_src[k] for k in fa if k in fa_src})
    scores: dict[str, float] = {}
    sources: dict[str, str] = {}
    for item in co.keys() | fa.keys():
        c = (1 - factor_share) * co.get(item, 0.0)
        f = factor_share * fa.get(item, 0.0)
        scores[item] = c + f
        src = co_src.get(item) if c >= f else fa_src.get(item)
        src = src or co_src.get(item) or fa_src.get(item)
        if src:
            sources[item] = src
    return HistorySimilarity(scores, sources)


def titled_sources(
    sources: Mapping[str, str], catalog: CatalogIndex, language: str | None
) -> dict[str, str]:
    """Source item ids replaced by their titles (in ``language``) for the explanation."""
    out: dict[str, str] = {}
    for item, src in sources.items():
        action = catalog.get(src)
        if action is not None:
            out[item] = action.title_in(language)
    return out
