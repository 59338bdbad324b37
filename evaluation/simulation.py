"""Closed-loop simulation: simulated customers with hidden tastes, served through the API.

Each arm starts from a fresh demo world (empty Redis database, the demo catalog, taxonomy
and customers) and runs the same customers, drawn in the same order:

* every customer has a hidden **taste**: a few liked leaf-ish categories (the first two
  levels of the catalog's categories), those of one of ``taste_groups`` groups of
  customers (one of them swapped for a random one a third of the time; with
  ``taste_groups=0`` every customer's are drawn independently, where no customer says
  anything about another) and a quality per item (an appeal shared by all
  customers times a personal factor in [0.8, 1.25]); the chance that a shown
  action is clicked is ``LIKED_P x quality`` for a liked category, ``OTHER_P x quality``
  otherwise;
* **fading**: each time an action is shown to the customer without being clicked, the
  customer's interest in it is multiplied by ``fade`` (the no-fading control uses 1);
  a purchased action is owned and is worth nothing more;
* a decision asks ``POST /v1/recommend`` (limit 5; a share of them carry a query from the
  demo utterances), the customer reacts, and the arm posts what it is meant to post to
  ``POST /v1/events``.

Arms: ``feedback`` (impressions, clicks and purchases posted), ``impressions`` (impressions
only: no learning signal at all), ``popularity`` (a ranking of the simulation's own click
counts, computed outside Waypoint, same customers and fading) and ``feedback_nofade``
(feedback, customers without fading). The **true reward** of a decision is the expected
number of clicks of the shown list under the customer's hidden taste at that moment (the
simulated clicks are drawn from it). The report gives it per quarter of the run (early =
first quarter, late = last), with the share of shown actions the customer had already been
shown (repeat share).

Stability: the ``impressions`` arm also asks a fixed set of probe queries, each from a
fresh user, before its traffic and again after it, and reports the share whose top 3 is
unchanged.

Determinism: the customers, their reactions and the probes come from ``seed``; the
service's snapshots (propensities, popularity, co-occurrence) are refreshed every
``refresh_every`` decisions by the simulation itself instead of on a wall-clock timer.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = ["ARMS", "ArmResult", "SimConfig", "run_blocking", "run_simulation", "train_demo_model"]

ARMS = ("feedback", "impressions", "popularity", "feedback_nofade")
LIKED_P = 0.3
OTHER_P = 0.02
PURCHASE_P = 0.2
LIMIT = 5
_KEY = "sim-key"


@dataclass(frozen=True)
class SimConfig:
    customers: int = 40
    decisions_per_customer: int = 20
    seed: int = 0
    fade: float = 0.5
    liked_categories: int = 3
    #: customers share tastes in this many groups (0: every customer's are independent)
    taste_groups: int = 4
    query_share: float = 0.3
    refresh_every: int = 20
    probes: int = 30
    arms: tuple[str, ...] = ARMS


@dataclass
class ArmResult:
    arm: str
    decisions: int
    reward_per_decision: float
    reward_by_quarter: list[float]
    repeat_share: float
    repeat_by_quarter: list[float]
    clicks: int
    purchases: int
    stability_top3: float | None = None

    @property
    def early(self) -> float:
        return self.reward_by_quarter[0]

    @property
    def late(self) -> float:
        return self.reward_by_quarter[-1]


@dataclass
class _Customer:
    user_id: str
    liked: frozenset[str]
    quality: dict[str, float]
    interest: dict[str, float] = field(default_factory=dict)
    shown: set[str] = field(default_factory=set)
    owned: set[str] = field(default_factory=set)

    def p_click(self, item: str, category: str) -> float:
        if item in self.owned:
            return 0.0
        base = LIKED_P if _family(category) in self.liked else OTHER_P
        return min(0.95, base * self.quality.get(item, 1.0) * self.interest.get(item, 1.0))


def _family(category: str) -> str:
    return "/".join(category.split("/")[:2])


def _catalog(directory: Path) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in (directory / "catalog.jsonl").open() if line.strip()]
    return {r["id"]: r for r in rows}


def _plain(row: dict[str, Any]) -> bool:
    """An action any fresh web customer may be shown (the popularity arm's pool)."""
    channels = row.get("channels") or ["web"]
    return (
        not row.get("eligibility")
        and not row.get("regions")
        and not row.get("valid_from")
        and not row.get("valid_to")
        and "web" in channels
        and row.get("kind") in ("product", "offer", "service", "content")
    )


def _customers(cfg: SimConfig, catalog: dict[str, dict[str, Any]], arm: str) -> list[_Customer]:
    rng = random.Random(cfg.seed)
    families = sorted({_family(r["category"]) for r in catalog.values() if _plain(r)})
    appeal = {item: rng.uniform(0.5, 1.5) for item in sorted(catalog)}
    groups = [rng.sample(families, cfg.liked_categories) for _ in range(cfg.taste_groups)]
    out = []
    for i in range(cfg.customers):
        if groups:
            # the group's tastes, one of them swapped for a random family a third of the time
            liked_list = list(groups[i % len(groups)])
            if rng.random() < 1 / 3:
                liked_list[rng.randrange(len(liked_list))] = rng.choice(families)
            liked = frozenset(liked_list)
        else:
            liked = frozenset(rng.sample(families, cfg.liked_categories))
        quality = {item: a * rng.uniform(0.8, 1.25) for item, a in appeal.items()}
        out.append(_Customer(f"sim-{arm}-{i}", liked, quality))
    return out


def _queries(directory: Path) -> list[str]:
    rows = [json.loads(line) for line in (directory / "utterances.jsonl").open() if line.strip()]
    return sorted({r["text"] for r in rows if r.get("language", "en") == "en"})


def _schedule(cfg: SimConfig, queries: Sequence[str]) -> list[tuple[int, str | None, int]]:
    """``(customer index, query or None, reaction seed)`` for every decision, in order."""
    rng = random.Random(cfg.seed + 1)
    visits = [i for i in range(cfg.customers) for _ in range(cfg.decisions_per_customer)]
    rng.shuffle(visits)
    return [
        (i, rng.choice(queries) if rng.random() < cfg.query_share else None, rng.getrandbits(32))
        for i in visits
    ]


class _Popularity:
    """The baseline: most-clicked actions of the simulation so far (ties: seeded order)."""

    def __init__(self, pool: Sequence[str], seed: int) -> None:
        order = list(pool)
        random.Random(seed).shuffle(order)
        self.tiebreak = {a: i for i, a in enumerate(order)}
        self.clicks: dict[str, int] = {}

    def rank(self, customer: _Customer) -> list[str]:
        pool = [a for a in self.tiebreak if a not in customer.owned]
        pool.sort(key=lambda a: (-self.clicks.get(a, 0), self.tiebreak[a]))
        return pool[:LIMIT]


@asynccontextmanager
async def _app(redis_url: str, model_dir: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    from app.inprocess import serve_in_process
    from demo.app import create_app, demo_settings
    from service.redis_server import connect

    flush = connect(redis_url, timeout_s=5.0)
    await flush.flushdb()
    await flush.aclose()
    settings = demo_settings(
        redis_url, _KEY, model_dir, reload_interval_s=3600.0, redis_timeout_s=5.0
    )
    app = create_app(settings)
    async with serve_in_process(
        app, key=_KEY, base_url="http://waypoint.sim", raise_app_exceptions=True
    ) as client:
        services = app.state.services
        runtime = services.runtime
        # snapshots reload when the simulation says so, not on a wall-clock timer
        if runtime.arbitration is not None and runtime.arbitration.propensity is not None:
            runtime.arbitration.propensity.every_s = 0.0
        if runtime.neighbours is not None:
            runtime.neighbours.min_interval_s = 0.0
        await runtime.refresh()
        yield client, runtime


async def _recommend(client: httpx.AsyncClient, user_id: str, query: str | None) -> list[str]:
    body: dict[str, Any] = {"user_id": user_id, "limit": LIMIT, "context": {"channel": "web"}}
    if query is not None:
        body["query"] = query
    r = await client.post("/v1/recommend", json=body)
    r.raise_for_status()
    return [a["id"] for a in r.json()["actions"]]


async def _probe(client: httpx.AsyncClient, queries: Sequence[str], tag: str) -> list[list[str]]:
    return [(await _recommend(client, f"probe-{tag}-{i}", q))[:3] for i, q in enumerate(queries)]


def _quarters(values: Sequence[float]) -> list[float]:
    n = len(values)
    cuts = [round(n * k / 4) for k in range(5)]
    return [round(sum(values[a:b]) / max(b - a, 1), 4) for a, b in itertools.pairwise(cuts)]


async def _run_arm(
    arm: str, cfg: SimConfig, redis_url: str, model_dir: Path, directory: Path
) -> ArmResult:
    catalog = _catalog(directory)
    queries = _queries(directory)
    customers = _customers(cfg, catalog, arm)
    schedule = _schedule(cfg, queries)
    fade = 1.0 if arm.endswith("_nofade") else cfg.fade
    posts_outcomes = arm.startswith("feedback")
    probe_queries = random.Random(cfg.seed + 2).sample(queries, min(cfg.probes, len(queries)))
    popularity = _Popularity(sorted(a for a, r in catalog.items() if _plain(r)), cfg.seed)
    rewards: list[float] = []
    repeats: list[float] = []
    clicks = purchases = 0
    stability: float | None = None
    async with _app(redis_url, model_dir) as (client, runtime):
        before = await _probe(client, probe_queries, "a") if arm == "impressions" else None
        for n, (ci, query, reaction) in enumerate(schedule):
            c = customers[ci]
            if arm == "popularity":
                shown = popularity.rank(c)
            else:
                shown = await _recommend(client, c.user_id, query)
            rng = random.Random(reaction)
            probs = [c.p_click(a, catalog[a]["category"]) if a in catalog else 0.0 for a in shown]
            rewards.append(sum(probs))
            repeats.append(sum(a in c.shown for a in shown) / max(len(shown), 1))
            events: list[dict[str, Any]] = []
            for k, (a, p) in enumerate(zip(shown, probs, strict=True)):
                c.shown.add(a)
                base = f"{c.user_id}-{n}-{k}"
                events.append({"event_id": f"{base}-i", "type": "impression", "item_id": a})
                if rng.random() < p:
                    clicks += 1
                    popularity.clicks[a] = popularity.clicks.get(a, 0) + 1
                    events.append({"event_id": f"{base}-c", "type": "click", "item_id": a})
                    if rng.random() < PURCHASE_P:
                        purchases += 1
                        c.owned.add(a)
                        events.append({"event_id": f"{base}-p", "type": "purchase", "item_id": a})
                else:
                    c.interest[a] = c.interest.get(a, 1.0) * fade
            if arm != "popularity" and events:
                if not posts_outcomes:
                    events = [e for e in events if e["type"] == "impression"]
                for e in events:
                    e["user_id"] = c.user_id
                    e["context"] = {"channel": "web"}
                r = await client.post("/v1/events", json={"events": events})
                r.raise_for_status()
            if (n + 1) % cfg.refresh_every == 0:
                await runtime.refresh()
        if before is not None:
            await runtime.refresh()
            after = await _probe(client, probe_queries, "b")
            stability = round(
                sum(x == y for x, y in zip(before, after, strict=True)) / len(after), 4
            )
    return ArmResult(
        arm=arm,
        decisions=len(schedule),
        reward_per_decision=round(sum(rewards) / max(len(rewards), 1), 4),
        reward_by_quarter=_quarters(rewards),
        repeat_share=round(sum(repeats) / max(len(repeats), 1), 4),
        repeat_by_quarter=_quarters(repeats),
        clicks=clicks,
        purchases=purchases,
        stability_top3=stability,
    )


def train_demo_model(out: Path) -> Path:
    """Train the demo intent model once (every arm loads it instead of training its own)."""
    from demo.seed import data_dir
    from intent.artifact import save_model
    from intent.data import load_jsonl
    from intent.lifecycle import metadata_for
    from intent.train import train

    examples = load_jsonl(data_dir() / "utterances.jsonl")
    result = train(examples, seed=0)
    save_model(result.model, out, metadata=metadata_for(result, examples))
    return out


async def run_simulation(cfg: SimConfig, redis_url: str, model_dir: Path) -> list[ArmResult]:
    """Run every arm of ``cfg`` in turn on ``redis_url`` (its database is flushed)."""
    from demo.seed import data_dir

    unknown = set(cfg.arms) - set(ARMS)
    if unknown:
        raise ValueError(f"unknown arms: {', '.join(sorted(unknown))}")
    return [await _run_arm(arm, cfg, redis_url, model_dir, data_dir()) for arm in cfg.arms]


def run_blocking(cfg: SimConfig, redis_url: str, model_dir: Path) -> list[ArmResult]:
    return asyncio.run(run_simulation(cfg, redis_url, model_dir))
