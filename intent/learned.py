"""Labelled examples learned from customers' answers to clarifying questions.

They go to a bounded Redis stream and are exported as JSON Lines (the training format)
for the next ``waypoint intent train``; they never change the live model by themselves.

Each entry also carries ``u``, a hash of the user id, so that erasing a user can find and
delete the texts they wrote (:meth:`LearnedExamples.forget`); the export leaves it out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from intent.data import LabelledText

MAX_EXAMPLES = 100_000


@dataclass(frozen=True)
class LearnedExample(LabelledText):
    """A labelled text (the training format), and whose answer it was."""

    user_id: str | None = None
    """Whose answer it was (stored only as :func:`user_tag`, for erasure)."""


def user_tag(user_id: str) -> str:
    """What the stream stores to find a user's examples again."""
    return hashlib.blake2s(user_id.encode(), digest_size=12, person=b"wp-lrn").hexdigest()


class LearnedExamples:
    def __init__(self, redis: Any, *, key: str) -> None:
        self.redis = redis
        self.key = key

    def queue(self, pipe: Any, example: LearnedExample) -> None:
        """Add the example to a pipeline the caller executes."""
        fields = {"text": example.text, "intent": example.intent}
        if example.language:
            fields["language"] = example.language
        if example.user_id is not None:
            fields["u"] = user_tag(example.user_id)
        pipe.xadd(self.key, fields, maxlen=MAX_EXAMPLES, approximate=True)

    async def add(self, examples: Sequence[LearnedExample]) -> None:
        if not examples:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for e in examples:
                self.queue(pipe, e)
            await pipe.execute()

    async def count(self) -> int:
        return int(await self.redis.xlen(self.key))

    async def iter_jsonl(self, batch: int = 1000) -> AsyncIterator[str]:
        last = "-"
        while True:
            rows = await self.redis.xrange(self.key, min=last, max="+", count=batch + 1)
            if last != "-":
                rows = rows[1:]  # the first row is the previous batch's last
            if not rows:
                return
            for entry_id, fields in rows:
                decoded = {k.decode(): v.decode() for k, v in fields.items()}
                decoded.pop("u", None)  # only for erasure, never training data
                yield json.dumps(decoded, ensure_ascii=False)
                last = entry_id.decode() if isinstance(entry_id, bytes) else entry_id

    async def forget(self, user_id: str, batch: int = 1000) -> int:
        """Delete every example of the user (a pass over the bounded stream); returns how
        many were deleted."""
        tag = user_tag(user_id).encode()
        start = "-"
        doomed: list[bytes] = []
        while True:
            rows = await self.redis.xrange(self.key, min=start, max="+", count=batch)
            for entry_id, fields in rows:
                if fields.get(b"u") == tag:
                    doomed.append(entry_id)
            if len(rows) < batch:
                break
            last = rows[-1][0]
            start = "(" + (last.decode() if isinstance(last, bytes) else str(last))
        for i in range(0, len(doomed), 500):
            await self.redis.xdel(self.key, *doomed[i : i + 500])
        return len(doomed)
