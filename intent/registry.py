"""Intent models stored in Redis by version (:mod:`artifacts.registry`); one of them is
active for every worker, and only one whose labels the taxonomy defines."""

from __future__ import annotations

from functools import partial
from typing import Any

from artifacts.registry import ArtifactRegistry
from domain.errors import Invalid
from intent.artifact import ModelMetadata, loads_model
from intent.classifier import IntentClassifier
from intent.taxonomy import Taxonomy


def check_labels(metadata: ModelMetadata, taxonomy: Taxonomy) -> None:
    """Refuse a model that can predict intents the taxonomy does not define."""
    unknown = sorted(set(metadata.labels) - set(taxonomy.names))
    if unknown:
        raise Invalid(
            f"model {metadata.version} predicts intents the taxonomy does not define: "
            f"{', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}; "
            "update the taxonomy first or train on its intents"
        )


class ModelRegistry(ArtifactRegistry[ModelMetadata, IntentClassifier]):
    def __init__(self, redis: Any, *, index_key: str, blob_prefix: str, active_key: str) -> None:
        super().__init__(
            redis,
            index_key=index_key,
            blob_prefix=blob_prefix,
            active_key=active_key,
            metadata_model=ModelMetadata,
            loads=loads_model,
            what="intent model",
        )

    async def activate(self, version: str, taxonomy: Taxonomy) -> ModelMetadata:
        return await self.set_active(version, partial(check_labels, taxonomy=taxonomy))
