"""Admin-set JSON documents (levers, contact policy) kept with a version in one Redis hash.

The hash holds ``doc`` (the document without its version) and ``version`` (bumped on every
write, in the same transaction), so workers can poll the version cheaply and reload.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel

Doc = TypeVar("Doc", bound=BaseModel)


class VersionedDocument(Generic[Doc]):
    def __init__(self, redis: Any, *, key: str, model: type[Doc], default: Doc) -> None:
        self.redis = redis
        self.key = key
        self.model = model
        self.default = default

    async def version(self) -> int:
        raw = await self.redis.hget(self.key, "version")
        return int(raw) if raw else 0

    async def get(self) -> Doc:
        doc, version = await self.redis.hmget(self.key, ["doc", "version"])
        return self.with_version(self.parse(doc), version)

    def parse(self, raw: bytes | str | None) -> Doc:
        return self.default if raw is None else self.model.model_validate_json(raw)

    @staticmethod
    def with_version(doc: Doc, version: Any) -> Doc:
        return doc.model_copy(update={"version": int(version or 0)})

    def queue_write(self, pipe: Any, doc: Doc) -> None:
        """Queue the write of ``doc`` and its version bump (the bump's reply is last)."""
        pipe.hset(self.key, "doc", doc.model_dump_json(exclude={"version"}))
        pipe.hincrby(self.key, "version", 1)
