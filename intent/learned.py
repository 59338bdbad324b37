"""Labelled examples learned from customers' answers to clarifying questions.

They go to a bounded Redis stream and are exported as JSON Lines (the training format)
for the next ``waypoint intent train``; they never change the live model by themselves.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

MAX_EXAMPLES = 100_000


@dataclass(frozen=True)
class LearnedExample:
    text: str
    intent: str
    language: str | None = None


class LearnedExamples:
    def __init__(self, redis: Any, *, key: str) -> None:
        self.redis = redis
        self.key = key

    def queue(self, pipe: Any, example: LearnedExample) -> None:
        """Add the example to a pipeline the caller executes."""
        fields = {"text": example.text, "intent": example.intent}
        if example.language:
            fields["language"] = example.language
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
                yield json.dumps(decoded, ensure_ascii=False)
                last = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
