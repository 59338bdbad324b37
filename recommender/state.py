"""The in-memory state every worker serves from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from intent.resolve import Predictor
from intent.taxonomy import Taxonomy
from recommender.catalog import CatalogIndex


@dataclass(frozen=True)
class LiveState:
    """Catalog, taxonomy, intent model and popularity; swapped whole when a version changes."""

    catalog: CatalogIndex
    taxonomy: Taxonomy
    model: Predictor | None = None
    model_version: str | None = None
    popularity: Mapping[str, float] = field(default_factory=dict)
    #: running/paused experiments (``experiments.models.Experiment``), kept opaque here
    experiments: tuple[Any, ...] = ()
