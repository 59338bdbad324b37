"""``waypoint bench``: the synthetic catalog, the wrk plumbing, the floor app, and one short
end-to-end run (skipped without wrk). Speed is never asserted: only that the figures exist
and are sane."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.actions import Action
from service.settings import Settings
from waypoint.bench import synth
from waypoint.bench.floor import create_app
from waypoint.bench.phases import Load, with_db
from waypoint.bench.report import checks
from waypoint.bench.wrk import (
    SYLLABLES,
    event_id,
    parse_event_id,
    parse_output,
    recommend_script,
    salt_word,
)


def test_synthetic_copies_are_valid_varied_and_cover_every_category() -> None:
    demo = synth.demo_catalog()
    grown = synth.grown_catalog(len(demo) * 3, seed=1)
    assert len(grown) == len(demo) * 3
    assert len({a["id"] for a in grown}) == len(grown)
    copies = [Action.model_validate(a) for a in grown[len(demo) :]]
    assert {a.top_category for a in copies} == {a["category"].split("/")[0] for a in demo}
    assert len({a.title_in("en") for a in copies}) == len(copies)
    for base, copy in zip(demo, copies, strict=False):
        assert copy.languages == frozenset(base["title"])
        assert copy.category == base["category"]
    assert synth.grown_catalog(len(demo) + 5, seed=1) == grown[: len(demo) + 5]


def test_write_catalog_file_for_catalog_load(tmp_path: Path) -> None:
    path = tmp_path / "catalog.jsonl"
    assert synth.write_catalog_file(path, 500) == 500
    lines = path.read_text("utf-8").splitlines()
    assert len(lines) == 500
    Action.model_validate_json(lines[-1])


def test_wrk_result_line_and_event_ids() -> None:
    line = (
        'WRK_JSON {"first_answered":"ab-1-2-3","requests":120,"duration_us":2000000,'
        '"bytes":1,"errors":{"connect":0,"read":0,"write":0,"status":3,"timeout":0},'
        '"latency_us":{"mean":900.5,"p50":800,"p90":1500,"p99":4200,"max":9000}}'
    )
    result = parse_output("Running 2s test\n" + line + "\n")
    assert result.rps == 60.0
    assert result.error_count == 3
    assert result.latency_ms["p99"] == 4.2
    assert parse_event_id(result.first_answered) == ("ab", 1, 2, 3)
    assert parse_event_id(event_id("x-y", 2, 7, 500)) == ("x-y", 2, 7, 500)
    with pytest.raises(RuntimeError, match="no result line"):
        parse_output("wrk: connection refused")


def test_a_phase_without_answers_is_an_error_and_misses_latency_targets() -> None:
    line = (
        'WRK_JSON {"first_answered":"","requests":0,"duration_us":2000000,"bytes":0,'
        '"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0},'
        '"latency_us":{"mean":0,"p50":0,"p90":0,"p99":0,"max":0}}'
    )
    phase = {**parse_output(line).as_dict(), "upsert_errors": 0}
    assert phase["errors"] == 1 and phase["p99_ms"] is None
    run = {"workers": 1, "catalogs": [], "rebuild": {"c1": phase, "saturation": phase}}
    (latency, errors) = checks({"runs": [run]})
    assert latency["ok"] is False and errors["ok"] is False


def test_recommend_script_embeds_the_mix() -> None:
    script = recommend_script("k'\"ey", users=1000, seed=3)
    assert "USERS = 1000" in script
    assert "what's the weather tomorrow" in script
    assert "k'\\\"ey" in script  # the key is JSON-escaped inside a Lua long string


def test_every_recommend_run_gets_long_tail_words_of_its_own(tmp_path: Path) -> None:
    """The grown catalog's phase must not be served from caches the demo phase filled: each
    run's long-tail words start with a salt of its own, and the syllables are a prefix code,
    so two runs never spell the same word."""
    load = Load(
        wrk="wrk", workdir=tmp_path, key="k", seconds=1, warmup=0, connections=1,
        threads=1, users=10, seed=0,
    )  # fmt: skip
    first, second = load.recommend(), load.recommend()
    assert first != second
    salts = [re.findall(r"SALT = \[==\[(\w+)\]==\]", p.read_text()) for p in (first, second)]
    assert len(salts[0]) == len(salts[1]) == 1 and salts[0] != salts[1]
    assert len({salt_word(s) for s in range(196)}) == 196
    lua = re.search(r"local syl = \{(.*?)\}", first.read_text())
    assert lua is not None and re.findall(r'"(\w+)"', lua.group(1)) == SYLLABLES
    assert all(not a.startswith(b) for a in SYLLABLES for b in SYLLABLES if a != b), (
        "a syllable is a prefix of another: two salts could spell the same word"
    )


def test_with_db() -> None:
    assert with_db("redis://127.0.0.1:6379/0", 15) == "redis://127.0.0.1:6379/15"
    assert with_db("redis://h:1", 15) == "redis://h:1/15"
    assert with_db("unix:///tmp/r.sock?db=2", 15) == "unix:///tmp/r.sock?db=15"


async def test_floor_app_checks_the_key_validates_and_reads_redis(redis_url: str) -> None:
    app = create_app(Settings(redis_url=redis_url, demo_key="floor-key"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://floor") as c:
            body: dict[str, Any] = {"user_id": "u1", "query": "a phone", "limit": 2}
            ok = await c.post(
                "/v1/recommend", json=body, headers={"Authorization": "Bearer floor-key"}
            )
            assert ok.status_code == 200
            assert [i["id"] for i in ok.json()["items"]] == ["floor-0", "floor-1"]
            denied = await c.post("/v1/recommend", json=body, headers={"Authorization": "Bearer x"})
            assert denied.status_code == 401
            bad = await c.post(
                "/v1/recommend",
                json={"user_id": "u 1"},
                headers={"Authorization": "Bearer floor-key"},
            )
            assert bad.status_code == 422


def _sane(phase: dict[str, Any]) -> None:
    assert phase["requests"] > 0 and phase["rps"] > 0
    assert phase["errors"] == 0, phase
    assert 0 < phase["p50_ms"] <= phase["p90_ms"] <= phase["p99_ms"] <= phase["max_ms"]


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
)
def test_bench_end_to_end_report(demo_model_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WAYPOINT_REDIS_URL")}
    env["WAYPOINT_INTENT_MODEL_DIR"] = str(demo_model_dir)  # the server loads it, not trains
    argv = [sys.executable, "-m", "waypoint.cli", "bench", "--scenario", "all", "--duration", "1",
            "--warmup", "0", "--catalog-size", "600", "--load-size", "800", "--connections", "8",
            "--event-connections", "2", "--event-batch", "50", "--json"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    (run,) = report["runs"]
    demo, grown = run["catalogs"]
    assert demo["demo"] and demo["size"] == len(synth.demo_catalog())
    assert grown["size"] == 600 and grown["growth"]["upserted"] == 600 - demo["size"]
    assert grown["growth"]["put_seconds"] > 0
    for cat in (demo, grown):
        for side in ("floor", "server"):
            assert cat[side]["c1"]["connections"] == 1
            assert cat[side]["saturation"]["connections"] == 8
            _sane(cat[side]["c1"])
            _sane(cat[side]["saturation"])
            assert all(10 < rss < 5000 for rss in cat[side]["rss_mb"])
        assert cat["ratio_to_floor"] > 0
    for phase in ("c1", "saturation"):
        _sane(run["rebuild"][phase])
        assert run["rebuild"][phase]["upsert_batches"] >= 1
        assert run["rebuild"][phase]["upsert_errors"] == 0
    events = run["events"]
    assert events["errors"] == 0 and events["events_per_s"] > 0
    assert events["exactly_once"] is True, events["resent"]
    load = report["catalog_load"]
    assert load["actions"] == 800 and load["seconds"] > 0
    assert "loaded 800 actions" in load["output"]
    names = {c["target"] for c in report["checks"]}
    assert {"p99 at c=1 (ms)", "events/s", "errors during rebuild"} <= names
