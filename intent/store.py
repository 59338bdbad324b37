"""The intent taxonomy in Redis, versioned so every worker picks up changes."""

from __future__ import annotations

from typing import Any

from intent.taxonomy import Taxonomy


class TaxonomyStore:
    def __init__(self, redis: Any, *, key: str, version_key: str) -> None:
        self.redis = redis
        self.key = key
        self.version_key = version_key

    async def put(self, taxonomy: Taxonomy) -> int:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.key, taxonomy.model_dump_json())
            pipe.incr(self.version_key)
            _, version = await pipe.execute()
        return int(version)

    async def get(self) -> tuple[Taxonomy | None, int]:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.key)
            pipe.get(self.version_key)
            raw, version = await pipe.execute()
        taxonomy = Taxonomy.model_validate_json(raw) if raw is not None else None
        return taxonomy, int(version) if version is not None else 0

    async def version(self) -> int:
        raw = await self.redis.get(self.version_key)
        return int(raw) if raw is not None else 0
