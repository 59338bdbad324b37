"""Latent-factor rankers stored in Redis by version; at most one is active for every worker.

Same lifecycle as intent models (:mod:`intent.registry`): ``register`` stores the skops
bytes and the metadata, ``activate`` sets the active key, and each worker's runtime loads
the active version when it changes (``deactivate`` turns the factor model off again).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from domain.errors import NotFound
from domain.keys import GlobalKeys
from recommender.factors import ImplicitALS
from recommender.ranker_artifact import (
    MODEL_FILE,
    RankerMetadata,
    check_sklearn_version,
    load_metadata,
    loads_ranker,
)


class RankerKeys:
    """The registry's keys (named in ``domain.keys.GlobalKeys``: one hash tag, one slot)."""

    def __init__(self, prefix: str) -> None:
        keys = GlobalKeys(prefix)
        self.index = keys.rankers
        self.blob_prefix = keys.ranker_blob("")
        self.active = keys.active_ranker


class RankerRegistry:
    def __init__(self, redis: Any, *, prefix: str) -> None:
        self.redis = redis
        self.keys = RankerKeys(prefix)

    def _blob(self, version: str) -> str:
        return f"{self.keys.blob_prefix}{version}"

    async def put_blob(self, blob: bytes, metadata: RankerMetadata) -> str:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._blob(metadata.version), blob)
            pipe.hset(self.keys.index, metadata.version, metadata.model_dump_json())
            await pipe.execute()
        return metadata.version

    async def register_dir(self, model_dir: Path, *, activate: bool = False) -> RankerMetadata:
        """Store a directory written by ``waypoint ranker train`` (and maybe activate it)."""
        metadata = load_metadata(model_dir)
        check_sklearn_version(metadata.sklearn_version)
        blob = (model_dir / MODEL_FILE).read_bytes()
        await asyncio.to_thread(loads_ranker, blob)  # refuse an unreadable file before storing
        await self.put_blob(blob, metadata)
        if activate:
            await self.activate(metadata.version)
        return metadata

    async def list(self) -> list[RankerMetadata]:
        raw = await self.redis.hgetall(self.keys.index)
        models = [RankerMetadata.model_validate_json(v) for v in raw.values()]
        return sorted(models, key=lambda m: m.created_at, reverse=True)

    async def metadata(self, version: str) -> RankerMetadata:
        raw = await self.redis.hget(self.keys.index, version)
        if raw is None:
            raise NotFound(f"no ranker model with version '{version}'")
        return RankerMetadata.model_validate_json(raw)

    async def activate(self, version: str) -> RankerMetadata:
        metadata = await self.metadata(version)
        await self.redis.set(self.keys.active, version)
        return metadata

    async def deactivate(self) -> None:
        await self.redis.delete(self.keys.active)

    async def active_version(self) -> str | None:
        raw = await self.redis.get(self.keys.active)
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)  # type: ignore[no-any-return]

    async def load(self, version: str) -> ImplicitALS:
        blob = await self.redis.get(self._blob(version))
        if blob is None:
            raise NotFound(f"ranker model '{version}' has no stored file")
        return await asyncio.to_thread(loads_ranker, blob)
