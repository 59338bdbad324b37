"""The measurements of one benchmark run, each against servers already started."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from waypoint.bench import synth
from waypoint.bench.procs import Proc, rss_mb, wait_idle, worker_pids
from waypoint.bench.wrk import (
    WrkResult,
    event_id,
    event_user,
    events_script,
    parse_event_id,
    recommend_script,
    run_wrk,
)


@dataclass
class Load:
    """How wrk drives the servers."""

    wrk: str
    workdir: Path
    key: str
    seconds: int
    warmup: int
    connections: int
    threads: int
    users: int
    seed: int
    _scripts: dict[str, Path] = field(default_factory=dict)
    _salts: int = 0

    def script(self, name: str, text: str) -> Path:
        path = self.workdir / f"{name}.lua"
        path.write_text(text, "utf-8")
        self._scripts[name] = path
        return path

    def recommend(self) -> Path:
        """A recommend script for one wrk run: each call's long-tail words and users are
        new (its own salt), so a later run -- the grown catalog's after the demo's,
        saturation after c=1 -- never gets the intent and text caches' hits an earlier run
        paid for, nor reads the histories an earlier run's decisions wrote."""
        salt = self._salts = self._salts + 1
        text = recommend_script(self.key, users=self.users, seed=self.seed, salt=salt)
        return self.script(f"recommend-{salt}", text)

    def run(
        self,
        proc: Proc,
        script: Path,
        connections: int,
        seconds: int | None = None,
        idle_first: bool = True,
    ) -> WrkResult:
        """One wrk run against ``proc``, once its workers are idle (see :func:`wait_idle`)."""
        if idle_first:
            wait_idle(proc)
        return run_wrk(
            self.wrk,
            proc.url,
            script,
            seconds=seconds or self.seconds,
            connections=connections,
            threads=self.threads,
        )

    def client(self, url: str) -> httpx.Client:
        return httpx.Client(
            base_url=url, timeout=120.0, headers={"Authorization": f"Bearer {self.key}"}
        )


def worker_rss(proc: Proc) -> list[float | None]:
    return [rss_mb(pid) for pid in worker_pids(proc)]


def catalog_size(url: str) -> int | None:
    """The catalog size a worker reports on ``/readyz`` (``"<n> actions ..."``)."""
    try:
        checks = httpx.get(f"{url}/readyz", timeout=5.0).json().get("checks", {})
    except (httpx.HTTPError, ValueError):
        return None
    match = re.match(r"\s*(\d+)", str(checks.get("catalog", "")))
    return int(match.group(1)) if match else None


def probe_error(load: Load, url: str) -> str:
    """One request like the mix's, to show why wrk counted errors."""
    body = {"user_id": "bench-0", "query": "looking for a new phone", "context": {"channel": "web"}}
    try:
        with load.client(url) as c:
            r = c.post("/v1/recommend", json=body)
        return f"{r.status_code}: {r.text[:300]}"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"


def recommend_side_by_side(load: Load, floor: Proc, server: Proc) -> dict[str, Any]:
    """Floor and server at concurrency 1 and at saturation, each phase right after the other;
    every run sends long-tail words of its own (:meth:`Load.recommend`)."""
    for proc in (floor, server):
        if load.warmup:
            load.run(proc, load.recommend(), 1, seconds=load.warmup)
    out: dict[str, Any] = {"floor": {}, "server": {}}
    for label, conns in (("c1", 1), ("saturation", load.connections)):
        for name, proc in (("floor", floor), ("server", server)):
            result = load.run(proc, load.recommend(), conns).as_dict()
            result["connections"] = conns
            if result["errors"]:
                result["probe"] = probe_error(load, proc.url)
            out[name][label] = result
    out["floor"]["rss_mb"] = worker_rss(floor)
    out["server"]["rss_mb"] = worker_rss(server)
    floor_rps = out["floor"]["saturation"]["rps"]
    out["ratio_to_floor"] = (
        round(out["server"]["saturation"]["rps"] / floor_rps, 3) if floor_rps else None
    )
    return out


def _batches(actions: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for action in actions:
        batch.append(action)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def grow_catalog(load: Load, server: Proc, size: int, batch: int) -> dict[str, Any]:
    """Upsert synthetic copies with ``PUT /v1/catalog/items`` until the catalog holds ``size``."""
    demo = synth.demo_catalog()
    copies = max(0, size - len(demo))
    started = time.perf_counter()
    batches = 0
    with load.client(server.url) as c:
        for items in _batches(synth.synthetic_actions(copies, seed=load.seed, base=demo), batch):
            r = c.put("/v1/catalog/items", json={"items": items})
            if r.status_code != 200:
                raise RuntimeError(
                    f"PUT /v1/catalog/items: {r.status_code} {r.text[:500]}\n"
                    f"server log:\n{server.log_tail(40)}"
                )
            batches += 1
    put_s = time.perf_counter() - started
    deadline = time.monotonic() + 600
    while (catalog_size(server.url) or 0) < size and time.monotonic() < deadline:
        time.sleep(0.2)
    visible_s = time.perf_counter() - started
    time.sleep(2.0)  # let every worker pick up the last version (reload interval is ~1 s)
    return {
        "target_size": size,
        "upserted": copies,
        "batches": batches,
        "batch_size": batch,
        "put_seconds": round(put_s, 2),
        "visible_seconds": round(visible_s, 2),
        "actions_per_s": round(copies / put_s, 1) if put_s > 0 else None,
        "reported_size": catalog_size(server.url),
    }


class UpsertStream(threading.Thread):
    """Back-to-back ``PUT /v1/catalog/items`` of existing synthetic ids with new contents."""

    def __init__(self, load: Load, url: str, batch: int, span: int) -> None:
        super().__init__(daemon=True)
        self.load, self.url, self.batch, self.span = load, url, batch, max(span, batch)
        self.stop_event = threading.Event()
        self.batches = 0
        self.errors: list[str] = []
        self.put_ms: list[float] = []

    def run(self) -> None:
        demo = synth.demo_catalog()
        pass_no = 0
        with self.load.client(self.url) as c:
            while not self.stop_event.is_set():
                pass_no += 1
                actions = synth.synthetic_actions(
                    self.span, seed=self.load.seed + pass_no, base=demo
                )
                for items in _batches(actions, self.batch):
                    if self.stop_event.is_set():
                        return
                    t0 = time.perf_counter()
                    try:
                        r = c.put("/v1/catalog/items", json={"items": items})
                    except httpx.HTTPError as exc:
                        self.errors.append(f"{type(exc).__name__}: {exc}")
                        continue
                    self.put_ms.append((time.perf_counter() - t0) * 1000)
                    self.batches += 1
                    if r.status_code != 200:
                        self.errors.append(f"{r.status_code}: {r.text[:200]}")


def rebuild(load: Load, server: Proc, batch: int, synthetic: int) -> dict[str, Any]:
    """Recommend latency (c=1 and saturation) while a catalog upsert stream runs."""
    out: dict[str, Any] = {}
    for label, conns in (("c1", 1), ("saturation", load.connections)):
        wait_idle(server)
        stream = UpsertStream(load, server.url, batch, synthetic)
        stream.start()
        try:
            result = load.run(server, load.recommend(), conns, idle_first=False).as_dict()
        finally:
            stream.stop_event.set()
            stream.join(timeout=300)
        result["connections"] = conns
        result["upsert_batches"] = stream.batches
        result["upsert_errors"] = len(stream.errors)
        if stream.put_ms:
            result["upsert_mean_ms"] = round(sum(stream.put_ms) / len(stream.put_ms), 1)
        if stream.errors:
            result["upsert_error_sample"] = stream.errors[:3]
        out[label] = result
    out["rss_mb"] = worker_rss(server)
    return out


def events(load: Load, server: Proc, batch: int, connections: int, run_id: str) -> dict[str, Any]:
    """``POST /v1/events`` in batches of unique event ids, then the first batch sent again."""
    items = [a["id"] for a in synth.demo_catalog()]
    text = events_script(
        load.key, users=load.users, seed=load.seed, batch=batch, items=items, run_id=run_id
    )
    script = load.script(f"events-{run_id}", text)
    run = load.run(server, script, connections)
    result = run.as_dict()
    result["connections"] = connections
    result["batch_size"] = batch
    result["events_per_s"] = round(result["rps"] * batch, 1)
    result["rss_mb"] = worker_rss(server)
    result["resent"] = resend_first_batch(load, server, run.first_answered, batch, items)
    result["exactly_once"] = result["resent"]["duplicates"] == batch if result["resent"] else None
    return result


def resend_first_batch(
    load: Load, server: Proc, first_id: str, batch: int, items: list[str]
) -> dict[str, Any] | None:
    """Send the first batch wrk saw answered again (same event and user ids): all duplicates."""
    parsed = parse_event_id(first_id)
    if parsed is None:
        return None
    run_id, thread, request, _ = parsed
    again = [
        {
            "event_id": event_id(run_id, thread, request, i),
            "user_id": event_user(request, i, load.users),
            "type": "view",
            "item_id": items[0],
        }
        for i in range(1, batch + 1)
    ]
    with load.client(server.url) as c:
        r = c.post("/v1/events", json={"events": again})
    body = r.json() if r.status_code == 200 else {}
    return {
        "batch": f"{run_id}-{thread}-{request}",
        "status": r.status_code,
        "accepted": body.get("accepted"),
        "duplicates": body.get("duplicates"),
    }


def catalog_load(redis_url: str, db: int, size: int, workdir: Path, seed: int) -> dict[str, Any]:
    """Time ``waypoint catalog load --replace`` of a ``size``-action file into database ``db``."""
    import redis

    client = redis.Redis.from_url(with_db(redis_url, db))
    try:
        if client.dbsize():
            raise RuntimeError(
                f"database {db} of the bench Redis is not empty: not loading into it"
            )
        path = workdir / f"catalog-{size}.jsonl"
        written = synth.write_catalog_file(path, size, seed=seed)
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env["WAYPOINT_REDIS_URL"] = with_db(redis_url, db)
        argv = [sys.executable, "-m", "waypoint.cli", "catalog", "load", str(path), "--replace"]
        started = time.perf_counter()
        try:
            done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
            seconds = time.perf_counter() - started
        finally:
            client.flushdb()
            path.unlink(missing_ok=True)
        if done.returncode != 0:
            raise RuntimeError(f"waypoint catalog load failed: {done.stderr.strip()[-1000:]}")
        return {
            "actions": written,
            "seconds": round(seconds, 2),
            "actions_per_s": round(written / seconds, 1),
            "output": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "",
        }
    finally:
        client.close()


def with_db(url: str, db: int) -> str:
    """``url`` pointing at database ``db`` (TCP or unix-socket URL)."""
    if url.startswith("unix://"):
        return f"{url.split('?', 1)[0]}?db={db}"
    return re.sub(r"^(rediss?://[^/?]+)(/[^?]*)?", rf"\g<1>/{db}", url)
