"""The in-memory state every worker serves from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from intent.resolve import Predictor
from intent.taxonomy import Taxonomy
from recommender.catalog import CatalogIndex
from recommender.controls.levers import Levers
from recommender.controls.policy import DEFAULT_POLICY, ContactPolicy
from recommender.learning.propensity_store import Propensities

if TYPE_CHECKING:
    from recommender.learning.cooccurrence import CooccurrenceModel
    from recommender.learning.factors import ImplicitALS


@dataclass(frozen=True)
class LiveState:
    """Catalog, taxonomy, intent model and popularity; swapped whole when a version changes."""

    catalog: CatalogIndex
    taxonomy: Taxonomy
    model: Predictor | None = None
    model_version: str | None = None
    popularity: Mapping[str, float] = field(default_factory=dict)
    #: the most popular action ids, best first (a retrieval source)
    popular_ids: tuple[str, ...] = ()
    #: running/paused experiments (``experiments.models.Experiment``), kept opaque here
    experiments: tuple[Any, ...] = ()
    #: business levers and the contact policy (admin API), reloaded on version change
    levers: Levers = field(default_factory=Levers)
    contact_policy: ContactPolicy = DEFAULT_POLICY
    #: propensity snapshot, rebuilt periodically from the counters in Redis
    propensity: Propensities = field(default_factory=Propensities)
    #: item-to-item co-occurrence neighbours, refreshed from the Redis counters
    neighbours: CooccurrenceModel | None = None
    #: the active latent-factor ranker (``recommender.learning.ranker_registry``), if any
    ranker: ImplicitALS | None = None
    ranker_version: str | None = None
