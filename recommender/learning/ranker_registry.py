"""Latent-factor rankers stored in Redis by version; at most one is active for every worker.

The generic registry (:mod:`artifacts.registry`), as intent models use it: ``register_dir``
stores the skops bytes and the metadata, ``activate`` sets the active key, and each worker's
runtime loads the active version when it changes (``deactivate`` turns the factor model off
again).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from artifacts.registry import ArtifactRegistry
from domain.keys import GlobalKeys
from recommender.learning.factors import ImplicitALS
from recommender.learning.ranker_artifact import RankerMetadata, loads_ranker


class RankerRegistry(ArtifactRegistry[RankerMetadata, ImplicitALS]):
    def __init__(self, redis: Any, *, prefix: str) -> None:
        #: the registry's keys (``domain.keys.GlobalKeys.rankers``: one hash tag, one slot)
        self.keys = GlobalKeys(prefix).rankers
        super().__init__(
            redis,
            index_key=self.keys.index,
            blob_prefix=self.keys.blob_prefix,
            active_key=self.keys.active,
            metadata_model=RankerMetadata,
            loads=loads_ranker,
            what="ranker model",
        )

    async def register_dir(self, model_dir: Path, *, activate: bool = False) -> RankerMetadata:
        """Store a directory written by ``waypoint ranker train`` (and maybe activate it)."""
        metadata = await self.store_dir(model_dir, load_first=True)
        if activate:
            await self.activate(metadata.version)
        return metadata

    async def activate(self, version: str) -> RankerMetadata:
        return await self.set_active(version)
