"""Loads the demo world into Redis: catalog, taxonomy, intent model, demo customers.

Every step is idempotent, so any number of workers may start with ``--demo`` at once.
"""

from __future__ import annotations

import json
import logging
import time
from importlib import resources
from pathlib import Path

from domain.customer import Profile
from domain.events import Event
from intent.data import load_jsonl
from intent.lifecycle import train_and_register
from intent.taxonomy import Taxonomy
from recommender.catalog import load_actions_file
from recommender.state import LiveState
from service.container import Services, load_configured_model

log = logging.getLogger("demo")


def data_dir() -> Path:
    return Path(str(resources.files("demo") / "data"))


def demo_taxonomy() -> Taxonomy:
    return Taxonomy.model_validate_json((data_dir() / "taxonomy.json").read_text("utf-8"))


async def seed_demo(services: Services) -> None:
    started = time.perf_counter()
    directory = data_dir()
    if await services.catalog.count() == 0:
        actions = load_actions_file(directory / "catalog.jsonl")
        await services.catalog.replace_all(actions)
        log.info("demo catalog loaded: %d actions", len(actions))
    taxonomy, _ = await services.taxonomy.get()
    if taxonomy is None:
        taxonomy = demo_taxonomy()
        await services.taxonomy.put(taxonomy)
        log.info("demo taxonomy loaded: %d intents", len(taxonomy.intents))
    await load_configured_model(services)
    if await services.models.active_version() is None:
        examples = load_jsonl(directory / "utterances.jsonl")
        meta = await train_and_register(services.models, examples, taxonomy)
        log.info("demo intent model %s trained and activated", meta.version)
    await services.runtime.refresh()
    await seed_customers(services, directory / "customers.jsonl", services.runtime.state)
    log.info("demo world ready in %.1fs", time.perf_counter() - started)


async def seed_customers(services: Services, path: Path, state: LiveState) -> None:
    events: list[Event] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            customer = json.loads(line)
            user_id = customer["user_id"]
            await services.users.set_profile(user_id, Profile.model_validate(customer["profile"]))
            events.extend(
                Event.model_validate({**e, "user_id": user_id}) for e in customer["events"]
            )
    results = await services.ingestor.ingest(events, state)
    await services.ingestor.flush()  # the co-occurrence counters, for the first load
    fresh = sum(r.status == "accepted" for r in results)
    log.info("demo customers: %d events (%d new)", len(events), fresh)
