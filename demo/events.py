"""A synthetic interaction log over the demo catalog (``waypoint demo events``).

**Synthetic, not observed behaviour.** Until Waypoint has a real interaction log, this
stands in for one so that the history models can be trained and measured end to end. The
generator encodes assumptions, and a model that matches them will look good on its output:

* every user has a taste: a few leaf categories (mostly within one or two families such as
  books or electronics) that get 85% of their attention, the rest spread thinly;
* items within a category differ in popularity (a Zipf-like curve over a seeded order);
* items have *companions*: a phone goes with a case, a contract and insurance, an appliance
  with installation and a warranty, a book with another by the same author. After a
  purchase, a later session often turns to one of its companions;
* sessions are funnels: views, some clicks, an add-to-cart, sometimes a purchase; now and
  then an offer from outside the user's taste is declined or dismissed;
* sessions are spread over ``weeks`` weeks before ``end``, events a minute or two apart.

The output is JSON Lines in the event API's format (``event_id``, ``user_id``,
``session_id``, ``type``, ``item_id``, ``ts``, ``context``), so it can be posted to
``/v1/events`` as is, and read by ``waypoint ranker train`` and ``waypoint evaluate
ranking``. The same seed gives the same file.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from domain.actions import Action

DEFAULT_END = datetime(2026, 11, 24, tzinfo=UTC)
SHOPPABLE = frozenset({"product", "offer", "service"})
#: how likely a user's main interest is each family
FAMILIES = {
    "books": 0.35,
    "electronics": 0.2,
    "fashion": 0.2,
    "home_appliances": 0.15,
    "plans": 0.1,
}
#: leaf-category prefixes whose items go with items of the key's prefix
COMPANIONS = {
    "electronics/phones": ("electronics/accessories", "plans/mobile", "electronics/protection"),
    "electronics/laptops": ("electronics/accessories", "electronics/protection"),
    "electronics/tablets": ("electronics/accessories", "electronics/protection"),
    "electronics/tvs": ("plans/broadband", "electronics/accessories"),
    "electronics/cameras": ("electronics/accessories",),
    "electronics/headphones": ("electronics/accessories",),
    "home_appliances/coffee_machines": ("home_appliances/small_appliances",),
    "home_appliances": ("services/installation", "home_appliances/warranty"),
    "fashion/women": ("fashion/accessories", "fashion/shoes"),
    "fashion/men": ("fashion/accessories", "fashion/shoes"),
    "fashion/shoes": ("fashion/accessories",),
    "fashion/kids": ("fashion/shoes",),
    "plans/mobile/contracts": ("plans/mobile/addons", "electronics/phones"),
    "plans/broadband": ("plans/broadband/addons", "services/installation"),
    "books/children": ("books/children",),
}


def _companion_prefixes(category: str) -> tuple[str, ...]:
    best = ""
    for prefix in COMPANIONS:
        if (category == prefix or category.startswith(prefix + "/")) and len(prefix) > len(best):
            best = prefix
    return COMPANIONS.get(best, ())


class World:
    """The catalog as the generator sees it: leaves, popularity, companions."""

    def __init__(self, actions: Sequence[Action], rng: np.random.Generator) -> None:
        items = sorted((a for a in actions if a.kind in SHOPPABLE), key=lambda a: a.id)
        self.items = {a.id: a for a in items}
        leaves: dict[str, list[str]] = defaultdict(list)
        for a in items:
            leaves[a.category].append(a.id)
        self.leaves = {k: v for k, v in sorted(leaves.items())}
        self.popularity: dict[str, np.ndarray] = {}
        for leaf, ids in self.leaves.items():
            order = rng.permutation(len(ids))
            w = 1.0 / (order + 1.0) ** 0.9
            self.popularity[leaf] = w / w.sum()
        by_author: dict[str, list[str]] = defaultdict(list)
        for a in items:
            for tag in a.tags:
                if tag.startswith("author_"):
                    by_author[tag].append(a.id)
        self.companions: dict[str, list[str]] = {}
        for a in items:
            pool: list[str] = []
            for tag in a.tags:
                if tag.startswith("author_"):
                    pool.extend(i for i in by_author[tag] if i != a.id)
            for prefix in _companion_prefixes(a.category):
                pool.extend(
                    i
                    for leaf, ids in self.leaves.items()
                    if leaf == prefix or leaf.startswith(prefix + "/")
                    for i in ids
                    if i != a.id
                )
            pool = sorted(set(pool))
            if pool:
                n = min(len(pool), 3)
                self.companions[a.id] = [str(x) for x in rng.choice(pool, n, replace=False)]

    def pick(self, leaf: str, rng: np.random.Generator, n: int) -> list[str]:
        ids = self.leaves[leaf]
        n = min(n, len(ids))
        return [str(x) for x in rng.choice(ids, n, replace=False, p=self.popularity[leaf])]


def _taste(world: World, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    leaves = list(world.leaves)
    families = [f for f in FAMILIES if any(leaf.startswith(f + "/") for leaf in leaves)]
    p = np.array([FAMILIES[f] for f in families])
    n_fam = 1 + int(rng.random() < 0.4)
    chosen_fams = rng.choice(families, n_fam, replace=False, p=p / p.sum())
    liked: list[str] = []
    for fam in chosen_fams:
        options = [leaf for leaf in leaves if leaf.startswith(fam + "/")]
        k = min(len(options), 1 + int(rng.integers(0, 3)))
        liked.extend(str(x) for x in rng.choice(options, k, replace=False))
    weights = np.full(len(leaves), 0.15 / len(leaves))
    share = rng.dirichlet(np.ones(len(liked)) * 2.0) * 0.85
    for leaf, s in zip(liked, share, strict=True):
        weights[leaves.index(leaf)] += s
    return leaves, weights / weights.sum()


def generate_events(
    actions: Sequence[Action],
    n_users: int,
    *,
    seed: int = 0,
    end: datetime = DEFAULT_END,
    weeks: int = 8,
) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    world = World(actions, rng)
    span = weeks * 7 * 86_400.0
    start = end.timestamp() - span
    events: list[dict[str, Any]] = []
    for u in range(n_users):
        user_id = f"gen-{u + 1:05d}"
        leaves, taste = _taste(world, rng)
        channel = "app" if rng.random() < 0.4 else "web"
        language = str(rng.choice(["en", "de", "fr"], p=[0.5, 0.3, 0.2]))
        n_sessions = 1 + int(rng.poisson(4.0))
        times = np.sort(rng.uniform(start, end.timestamp() - 3600, n_sessions))
        pending: list[str] = []
        n = 0

        def emit(
            kind: str,
            item: str,
            at: float,
            session: str,
            user_id: str = user_id,
            channel: str = channel,
            language: str = language,
        ) -> None:
            nonlocal n
            n += 1
            stamp = datetime.fromtimestamp(round(at), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            events.append(
                {
                    "event_id": f"{user_id}-{n:04d}",
                    "user_id": user_id,
                    "session_id": session,
                    "type": kind,
                    "item_id": item,
                    "ts": stamp,
                    "context": {"channel": channel, "language": language},
                }
            )

        for s, t0 in enumerate(times):
            session = f"{user_id}-s{s + 1}"
            t = float(t0)
            if pending and rng.random() < 0.5:
                target = pending.pop(int(rng.integers(0, len(pending))))
                leaf = world.items[target].category
                others = [i for i in world.pick(leaf, rng, 1 + int(rng.integers(0, 2)))]
                browse = [target, *[i for i in others if i != target]]
            else:
                leaf = leaves[int(rng.choice(len(leaves), p=taste))]
                browse = world.pick(leaf, rng, 1 + int(rng.poisson(2.0)))
                target = browse[0]
            for item in browse:
                emit("view", item, t, session)
                t += rng.uniform(30, 150)
                if rng.random() < 0.5 or item == target:
                    emit("click", item, t, session)
                    t += rng.uniform(30, 150)
            if rng.random() < 0.55:
                emit("add_to_cart", target, t, session)
                t += rng.uniform(30, 300)
                if rng.random() < 0.65:
                    emit("purchase", target, t, session)
                    t += rng.uniform(30, 120)
                    for c in world.companions.get(target, ()):
                        if rng.random() < 0.5 and c not in pending:
                            pending.append(c)
            if rng.random() < 0.15:
                cold = [leaf for leaf, w in zip(leaves, taste, strict=True) if w < 0.01]
                if cold:
                    other = str(rng.choice(cold))
                    emit(
                        "decline" if rng.random() < 0.5 else "dismiss",
                        world.pick(other, rng, 1)[0],
                        t,
                        session,
                    )
    events.sort(key=lambda e: (e["ts"], e["event_id"]))
    return events


def write_jsonl(events: Sequence[dict[str, Any]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for e in events:
            fh.write(json.dumps(e, ensure_ascii=False) + "\n")
