"""The benchmark report: the targets it checks and the table it prints."""

from __future__ import annotations

from typing import Any

#: catalogs at least this large are judged by the "large catalog" targets
LARGE_CATALOG = 100_000


def _check(name: str, value: float | None, op: str, limit: float, where: str) -> dict[str, Any]:
    ok = None if value is None else (value >= limit if op == ">=" else value <= limit)
    return {"target": name, "where": where, "value": value, "op": op, "limit": limit, "ok": ok}


def _p99_check(name: str, phase: dict[str, Any], limit: float, where: str) -> dict[str, Any]:
    """A latency target; a phase with no answered request misses it."""
    if not phase["requests"]:
        return {**_check(name, None, "<=", limit, where + ", no request answered"), "ok": False}
    return _check(name, phase["p99_ms"], "<=", limit, where)


def checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The catalog-scale targets that this run's figures can answer (others are left out)."""
    out: list[dict[str, Any]] = []
    runs = report.get("runs", [])
    for run in runs:
        w = run["workers"]
        sizes = run.get("catalogs", [])
        demo = next((c for c in sizes if c.get("demo")), None)
        for cat in sizes:
            where = f"{w} worker(s), {cat['size']} actions"
            c1 = cat["server"]["c1"]
            if cat.get("demo"):
                out.append(
                    _check(
                        "server/floor saturation req/s", cat["ratio_to_floor"], ">=", 0.30, where
                    )
                )
                out.append(_p99_check("p99 at c=1 (ms)", c1, 3.0, where))
            elif cat["size"] >= LARGE_CATALOG:
                if demo is not None:
                    ratio = cat["server"]["saturation"]["rps"] / demo["server"]["saturation"]["rps"]
                    out.append(_check("req/s vs demo catalog", round(ratio, 3), ">=", 0.90, where))
                out.append(_p99_check("p99 at c=1 (ms)", c1, 5.0, where))
                rss = [r for r in cat["server"]["rss_mb"] if r is not None]
                out.append(
                    _check("RSS per worker (MB)", max(rss) if rss else None, "<=", 600, where)
                )
        for growth in [c["growth"] for c in sizes if c.get("growth")] + [run.get("growth")]:
            if growth and growth["target_size"] >= LARGE_CATALOG:
                where = f"{w} worker(s), {growth['upserted']} actions upserted"
                out.append(_check("PUT growth time (s)", growth["put_seconds"], "<=", 60, where))
        rebuild = run.get("rebuild")
        if rebuild:
            where = f"{w} worker(s), during upserts"
            out.append(_p99_check("p99 at c=1 during rebuild (ms)", rebuild["c1"], 50, where))
            errors = sum(
                rebuild[k]["errors"] + rebuild[k]["upsert_errors"] for k in ("c1", "saturation")
            )
            out.append(_check("errors during rebuild", errors, "<=", 0, where))
        ev = run.get("events")
        if ev and w == 1:
            out.append(_check("events/s", ev["events_per_s"], ">=", 10_000, "1 worker"))
        if ev:
            out.append(
                _check(
                    "resent batch all duplicates",
                    None if ev["exactly_once"] is None else int(ev["exactly_once"]),
                    ">=",
                    1,
                    f"{w} worker(s)",
                )
            )
    if len(runs) >= 2 and runs[0]["workers"] == 1:
        base = _last_sat_rps(runs[0])
        for run in runs[1:]:
            now = _last_sat_rps(run)
            if base and now and run["workers"] == 2:
                out.append(
                    _check(
                        "2 workers vs 1 (req/s)",
                        round(now / base, 2),
                        ">=",
                        1.7,
                        f"{run['catalogs'][-1]['size']} actions",
                    )
                )
    load = report.get("catalog_load")
    if load and load["actions"] >= LARGE_CATALOG:
        out.append(
            _check(
                "waypoint catalog load (s)", load["seconds"], "<=", 60, f"{load['actions']} actions"
            )
        )
    return out


def _last_sat_rps(run: dict[str, Any]) -> float | None:
    sizes = run.get("catalogs", [])
    return float(sizes[-1]["server"]["saturation"]["rps"]) if sizes else None


def _growth(g: dict[str, Any]) -> str:
    return (
        f"  grown by {g['upserted']} actions in {g['batches']} PUTs of {g['batch_size']}: "
        f"{g['put_seconds']} s ({g['actions_per_s']} actions/s), "
        f"visible after {g['visible_seconds']} s"
    )


def _ms(value: float | None) -> str:
    return f"{'-':>9}" if value is None else f"{value:>9.2f}"


def _row(label: str, r: dict[str, Any]) -> str:
    latencies = "".join(_ms(r[k]) for k in ("p50_ms", "p90_ms", "p99_ms"))
    return f"  {label:<18}{r['rps']:>9.1f}{latencies}{r['errors']:>8}"


def _rss(values: list[float | None]) -> str:
    return " ".join("?" if v is None else f"{v:.0f}" for v in values)


def render(report: dict[str, Any]) -> str:
    cfg = report["config"]
    lines = [
        f"waypoint bench: wrk -t{cfg['threads']}, saturation = {cfg['connections']} connections, "
        f"{cfg['duration_s']} s per phase, {cfg['users']} users; Redis {report['redis']}",
        f"machine: {report['machine']['cpus']} CPUs, load average {report['machine']['loadavg']}",
    ]
    head = f"  {'':<18}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'errors':>8}"
    for run in report.get("runs", []):
        for cat in run.get("catalogs", []):
            lines += ["", f"{run['workers']} worker(s), catalog of {cat['size']} actions", head]
            for phase in ("c1", "saturation"):
                c = cat["floor"][phase]["connections"]
                lines.append(_row(f"floor   c={c}", cat["floor"][phase]))
                lines.append(_row(f"server  c={c}", cat["server"][phase]))
            floor_rss, server_rss = _rss(cat["floor"]["rss_mb"]), _rss(cat["server"]["rss_mb"])
            lines.append(f"  RSS MB per worker: floor {floor_rss}, server {server_rss}")
            lines.append(f"  server/floor at saturation: {cat['ratio_to_floor']}")
            if cat.get("growth"):
                lines.append(_growth(cat["growth"]))
        if run.get("growth"):
            lines += ["", _growth(run["growth"])]
        rb = run.get("rebuild")
        if rb:
            lines += [
                "",
                f"{run['workers']} worker(s), recommend during a catalog upsert stream",
                head,
            ]
            for phase in ("c1", "saturation"):
                r = rb[phase]
                lines.append(_row(f"server  c={r['connections']}", r))
                lines.append(
                    f"  {'':<18}{r['upsert_batches']} upsert batches, "
                    f"{r['upsert_errors']} upsert errors"
                )
        ev = run.get("events")
        if ev:
            lines += [
                "",
                f"{run['workers']} worker(s), POST /v1/events in batches of {ev['batch_size']}",
                head,
            ]
            lines.append(_row(f"events  c={ev['connections']}", ev))
            lines.append(f"  RSS MB per worker: {_rss(ev['rss_mb'])}")
            lines.append(f"  events/s: {ev['events_per_s']}; resent batch: {ev['resent']}")
    load = report.get("catalog_load")
    if load:
        lines += [
            "",
            f"waypoint catalog load of {load['actions']} actions: {load['seconds']} s "
            f"({load['actions_per_s']} actions/s)",
        ]
    marks = {True: "ok  ", False: "MISS", None: "n/a "}
    if report.get("checks"):
        lines += ["", "targets:"]
        for c in report["checks"]:
            rule = f"{c['target']} {c['op']} {c['limit']}"
            lines.append(f"  {marks[c['ok']]} {rule}: {c['value']}  ({c['where']})")
    return "\n".join(lines)
