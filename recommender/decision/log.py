"""The decision log: every decision (and every attributed outcome) on a Redis Stream.

Each served answer appends one entry (``XADD <prefix>:decisions MAXLEN ~ N``), sent in
the same round trip as the decision's other side effects (:func:`context.bulk.call`). The
stream is **global**, not per user; its retention is bounded by ``MAXLEN ~`` (approximate
trimming: Redis trims whole macro nodes, so the length may exceed ``maxlen`` by a little).
On Redis Cluster the stream lives on its own slot: the decision's write (redis-py's
cluster pipeline there, which groups commands by node) sends the user's commands to the
user's node and the ``XADD`` to the stream's node, so the log write is not atomic with
the user's write -- a crash in between can lose a log entry, never a cap reservation,
which the admission script has already made.

Entry field ``d`` holds one JSON record, of one of two types:

``decision``
    ``request_id``, ``ts``, ``user`` (the user's pseudonym: a random token kept only
    among the user's own keys, see :data:`context.store.PSEUDONYM_FIELD`; erasing the
    user deletes it, after which nothing links the user's records to them), ``context``
    (channel, language, country, device, intent, intent_confidence, segment, bucket,
    has_query), ``limit``, ``experiment``
    (``{"id", "variant"}`` or null), ``strategy`` (exploration_rate, diversity,
    weights), ``versions`` (intent model, catalog, levers, contact policy,
    propensity), ``eligible`` (size of the exploration pool), ``candidates`` (the top
    :data:`LOG_CANDIDATES` by priority plus every shown one: id, kind, category, value,
    rank, score terms, value contribution, propensity, lever, priority, ``explore``
    flag, ``refused`` by the contact policy) and ``shown`` (id, position, probability
    under the policy, ``explored``).
``outcome``
    ``request_id``, ``action``, ``event`` (click/accept/purchase), ``ts``: a positive
    event attributed to the latest impression of the action (see
    :mod:`recommender.learning.propensity_store`).

``waypoint decisions export`` writes the stream as JSON Lines; ``waypoint evaluate
policy`` reads that file (:mod:`evaluation.policy`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import orjson

from context.bulk import Command

__all__ = [
    "DECISION_LOG_MAXLEN",
    "LOG_CANDIDATES",
    "DecisionLog",
    "encode",
]

DECISION_LOG_MAXLEN = 1_000_000
#: numpy scalars (model scores) are numbers too
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
LOG_CANDIDATES = 50


def encode(record: dict[str, Any]) -> bytes:
    """One record as compact UTF-8 JSON.

    orjson is about four times faster than pydantic-core's serializer on these
    float-heavy records (~45 vs ~180 us for 50 candidates), which matters on the request
    path. A non-finite number (only a bug would put one here) is written as ``null``: the
    log never holds ``NaN``, and a bad number never fails the decision it describes.
    """
    return orjson.dumps(record, option=_JSON_OPTIONS)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _stream_ms(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


class DecisionLog:
    def __init__(self, redis: Any, *, key: str, maxlen: int = DECISION_LOG_MAXLEN) -> None:
        self.redis = redis
        self.key = key
        self.maxlen = maxlen

    def append(self, record: dict[str, Any]) -> Command:
        """The command that appends one record (sent with the decision's write)."""
        return ("XADD", self.key, "MAXLEN", "~", self.maxlen, "*", "d", encode(record))

    async def outcome(self, record: dict[str, Any]) -> None:
        """Append an attributed outcome (an ``OutcomeSink`` for the propensity observer)."""
        await self.redis.xadd(self.key, {"d": encode(record)}, maxlen=self.maxlen, approximate=True)

    async def entries(
        self, *, since_ms: int | None = None, batch: int = 1_000
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record from ``since_ms`` (epoch milliseconds) on, oldest first."""
        start = f"{since_ms}-0" if since_ms is not None else "-"
        while True:
            rows = await self.redis.xrange(self.key, min=start, max="+", count=batch)
            if not rows:
                return
            for entry_id, fields in rows:
                eid = _text(entry_id)
                data = {_text(k): _text(v) for k, v in fields.items()}
                record: dict[str, Any] = json.loads(data["d"])
                record["log_id"] = eid
                yield record
            last = _text(rows[-1][0])
            start = "(" + last
            if len(rows) < batch:
                return

    async def export(self, out: Any, *, since_ms: int | None = None) -> int:
        """Write the records as JSON Lines to the text stream ``out``; returns the count."""
        n = 0
        async for record in self.entries(since_ms=since_ms):
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
            n += 1
        return n
