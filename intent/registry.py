"""Intent models stored in Redis by version; one of them is active for every worker."""

from __future__ import annotations

import asyncio
from typing import Any

from domain.errors import Invalid, NotFound
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


class ModelRegistry:
    def __init__(self, redis: Any, *, index_key: str, blob_prefix: str, active_key: str) -> None:
        self.redis = redis
        self.index_key = index_key
        self.blob_prefix = blob_prefix
        self.active_key = active_key

    def _blob(self, version: str) -> str:
        return f"{self.blob_prefix}{version}"

    async def put_blob(self, blob: bytes, metadata: ModelMetadata) -> str:
        """Store a serialized model (``intent.artifact`` format) under its version."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._blob(metadata.version), blob)
            pipe.hset(self.index_key, metadata.version, metadata.model_dump_json())
            await pipe.execute()
        return metadata.version

    async def list(self) -> list[ModelMetadata]:
        raw = await self.redis.hgetall(self.index_key)
        models = [ModelMetadata.model_validate_json(v) for v in raw.values()]
        return sorted(models, key=lambda m: m.created_at, reverse=True)

    async def metadata(self, version: str) -> ModelMetadata:
        raw = await self.redis.hget(self.index_key, version)
        if raw is None:
            raise NotFound(f"no intent model with version '{version}'")
        return ModelMetadata.model_validate_json(raw)

    async def activate(self, version: str, taxonomy: Taxonomy) -> ModelMetadata:
        metadata = await self.metadata(version)
        check_labels(metadata, taxonomy)
        await self.redis.set(self.active_key, version)
        return metadata

    async def active_version(self) -> str | None:
        raw = await self.redis.get(self.active_key)
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)  # type: ignore[no-any-return]

    async def load(self, version: str) -> IntentClassifier:
        blob = await self.redis.get(self._blob(version))
        if blob is None:
            raise NotFound(f"intent model '{version}' has no stored file")
        return await asyncio.to_thread(loads_model, blob)
