"""The ``waypoint`` command against a real Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from demo.seed import data_dir
from domain.keys import GlobalKeys
from waypoint.cli import build_parser, main


@pytest.fixture
def redis_env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    monkeypatch.setenv("WAYPOINT_REDIS_URL", redis_url)
    return redis_url


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "catalog", "intent", "models", "evaluate", "bench"):
        assert command in out


def test_catalog_load_then_bad_file(
    redis_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["catalog", "load", str(data_dir() / "catalog.jsonl")]) == 0
    assert "loaded 356 actions; catalog version 1" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "kind": "gadget", "title": {"en": "X"}, "category": "a"}\n')
    assert main(["catalog", "load", str(bad)]) == 2
    assert f"{bad}:1: kind: Input should be" in capsys.readouterr().err


def test_models_push_list_activate_learned(
    redis_env: str, demo_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = redis.Redis.from_url(redis_env)
    keys = GlobalKeys("wp")
    client.set(keys.taxonomy, (data_dir() / "taxonomy.json").read_text())
    client.xadd(keys.clarify_examples, {"text": "phone stuff", "intent": "buy_electronics"})
    assert main(["models", "push", "--model", str(demo_model_dir), "--activate"]) == 0
    version = capsys.readouterr().out.split()[0]
    assert client.get(keys.intent_models.active).decode() == version
    assert main(["models", "list"]) == 0
    assert f"* {version}" in capsys.readouterr().out
    assert main(["models", "activate", "intent-missing"]) == 2
    assert "no intent model with version 'intent-missing'" in capsys.readouterr().err
    out = tmp_path / "learned.jsonl"
    assert main(["models", "learned", "--out", str(out)]) == 0
    assert [json.loads(x) for x in out.read_text().splitlines()] == [
        {"text": "phone stuff", "intent": "buy_electronics"}
    ]
    client.close()
