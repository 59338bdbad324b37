"""The Redis commands one decision sends: few of them, and none spanning hash slots."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from redis.asyncio.connection import AbstractConnection
from redis.crc import key_slot

from context import bulk
from recommender.controls.policy import ChannelPolicy, ContactCap


def _text(part: Any) -> str:
    return part.decode() if isinstance(part, bytes) else str(part)


def _keys(args: tuple[Any, ...]) -> list[str]:
    """The keys a command touches (the commands the request path uses)."""
    name = _text(args[0]).upper()
    if name in ("EVAL", "EVALSHA"):
        return [_text(k) for k in args[3 : 3 + int(args[2])]]
    if name in ("PING", "INFO", "SCRIPT", "CONFIG", "CLIENT", "HELLO", "SELECT"):
        return []
    return [_text(args[1])]


@contextmanager
def recorded_commands(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, ...]]]:
    """Every command sent, through redis-py's packer or :func:`context.bulk.pack_commands`."""
    seen: list[tuple[Any, ...]] = []
    pack = AbstractConnection.pack_command
    pack_many = bulk.pack_commands

    def recording(self: AbstractConnection, *args: Any) -> Any:
        seen.append(args)
        return pack(self, *args)

    def recording_many(commands: Iterable[bulk.Command]) -> bytes:
        listed = [tuple(c) for c in commands]
        seen.extend(listed)
        return pack_many(listed)

    with monkeypatch.context() as m:
        m.setattr(AbstractConnection, "pack_command", recording)
        m.setattr(bulk, "pack_commands", recording_many)
        yield seen


def _of_user(commands: list[tuple[Any, ...]], user: str) -> list[tuple[Any, ...]]:
    return [c for c in commands if any(f"{{u:{user}}}" in k for k in _keys(c))]


async def test_a_decision_is_five_commands_in_three_round_trips(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"user_id": "path-1", "query": "I want a new crime novel", "limit": 5}
    assert (await client.post("/v1/recommend", json=body)).status_code == 200  # warm scripts
    with recorded_commands(monkeypatch) as seen:
        r = await client.post("/v1/recommend", json=body)
    assert r.status_code == 200 and r.json()["actions"]
    mine = _of_user(seen, "path-1")
    # one script reads the user, one admits the candidates, one writes the decision
    assert [_text(c[0]).upper() for c in mine] == ["EVALSHA", "EVALSHA", "EVALSHA"]
    names = [_text(c[0]).upper() for c in seen]
    # plus the propensity counters (one script on their hash) and the decision log entry
    assert names.count("XADD") == 1
    assert sum(n in ("EVAL", "EVALSHA") for n in names) == 4


async def test_every_script_stays_on_one_slot(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis Cluster safety: a script's keys share one slot, and a user's scripts touch
    only that user's keys (never the catalog, the counters or the decision log)."""
    services = client.app.state.services  # type: ignore[attr-defined]
    # a cap that makes the admission fall back from the head of the list to all of it
    await services.policies.put(
        {"web": ChannelPolicy(caps=[ContactCap(scope="category", max=1, window_s=3600)])}
    )
    await services.runtime.refresh()
    with recorded_commands(monkeypatch) as seen:
        for _ in range(3):
            r = await client.post(
                "/v1/recommend",
                json={"user_id": "path-2", "query": "a crime novel", "limit": 12, "debug": True},
            )
            assert r.status_code == 200, r.text
        await client.post(
            "/v1/events",
            json={
                "events": [
                    {"event_id": "p2", "user_id": "path-2", "type": "click", "item_id": "bk-0001"}
                ]
            },
        )
    scripts = [c for c in seen if _text(c[0]).upper() in ("EVAL", "EVALSHA")]
    admissions = [c for c in scripts if any(k.endswith(":contact") for k in _keys(c))]
    assert len(admissions) > 3, "the capped answers walked the whole candidate list too"
    for command in scripts:
        keys = _keys(command)
        assert len({key_slot(k.encode()) for k in keys}) <= 1, keys
        if any("{u:" in k for k in keys):
            assert all("{u:path-2}" in k for k in keys), keys
