"""The contact policy in Redis: one versioned document, changed atomically."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.exceptions import WatchError

from domain.values import Channel
from recommender.documents import VersionedDocument
from recommender.policy.models import DEFAULT_POLICY, ChannelPolicy, ContactPolicy


class PolicyStore(VersionedDocument[ContactPolicy]):
    """The contact policy in one Redis hash (``doc``, ``version``), changed atomically."""

    def __init__(self, redis: Any, *, key: str) -> None:
        super().__init__(redis, key=key, model=ContactPolicy, default=DEFAULT_POLICY)

    async def put(self, channels: Mapping[Channel, ChannelPolicy]) -> ContactPolicy:
        """Replace the policy of the given channels (others keep theirs).

        A read-modify-write under ``WATCH``, so two admins changing different channels
        at the same time both keep their change.
        """
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.key)
                    current = self.parse(await pipe.hget(self.key, "doc"))
                    merged = ContactPolicy.model_validate(
                        {"channels": {**current.channels, **channels}}
                    )
                    pipe.multi()
                    self.queue_write(pipe, merged)
                    _, version = await pipe.execute()
                    return self.with_version(merged, version)
                except WatchError:
                    continue
