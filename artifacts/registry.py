"""Model versions in Redis; at most one of them is active for every worker.

Three keys: a hash ``index`` (version -> metadata JSON), one string per version holding the
skops bytes (``blob_prefix + version``) and the ``active`` version. Each worker's runtime
polls :meth:`ArtifactRegistry.active_version` and loads that version when it changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from artifacts.store import ArtifactMetadata, read_dir
from domain.errors import NotFound

M = TypeVar("M", bound=ArtifactMetadata)
T = TypeVar("T")


@dataclass(eq=False)
class ArtifactRegistry(Generic[M, T]):
    """The stored versions of one kind of model (``what``: its name in error messages)."""

    redis: Any
    _: KW_ONLY
    index_key: str
    blob_prefix: str
    active_key: str
    metadata_model: type[M]
    loads: Callable[[bytes], T]
    what: str

    def _blob(self, version: str) -> str:
        return f"{self.blob_prefix}{version}"

    async def put_blob(self, blob: bytes, metadata: M) -> str:
        """Store serialised model bytes and their metadata under the metadata's version."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._blob(metadata.version), blob)
            pipe.hset(self.index_key, metadata.version, metadata.model_dump_json())
            await pipe.execute()
        return metadata.version

    async def store_dir(self, model_dir: Path, *, load_first: bool) -> M:
        """Store a model directory (:func:`artifacts.store.write_dir`); with ``load_first``
        the model is loaded once before, so an unreadable file is never stored."""
        blob, metadata = read_dir(model_dir, self.metadata_model, verify=False)
        if load_first:
            await asyncio.to_thread(self.loads, blob)
        await self.put_blob(blob, metadata)
        return metadata

    async def list(self) -> list[M]:
        """Every stored version's metadata, newest first."""
        raw = await self.redis.hgetall(self.index_key)
        models = [self.metadata_model.model_validate_json(v) for v in raw.values()]
        return sorted(models, key=lambda m: m.created_at, reverse=True)

    async def metadata(self, version: str) -> M:
        raw = await self.redis.hget(self.index_key, version)
        if raw is None:
            raise NotFound(f"no {self.what} with version '{version}'")
        return self.metadata_model.model_validate_json(raw)

    async def set_active(self, version: str, check: Callable[[M], None] | None = None) -> M:
        """Make a stored version the active one (after ``check`` of its metadata passes)."""
        metadata = await self.metadata(version)
        if check is not None:
            check(metadata)
        await self.redis.set(self.active_key, version)
        return metadata

    async def deactivate(self) -> None:
        await self.redis.delete(self.active_key)

    async def active_version(self) -> str | None:
        raw = await self.redis.get(self.active_key)
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def load(self, version: str) -> T:
        """Build the model of a stored version (off the event loop)."""
        blob = await self.redis.get(self._blob(version))
        if blob is None:
            raise NotFound(f"{self.what} '{version}' has no stored file")
        return await asyncio.to_thread(self.loads, blob)
