"""Synthetic catalog growth: varied copies of the demo actions, as plain JSON dicts.

The copies keep each demo action's kind, category, channels, regions, eligibility, cap,
validity and title languages, and vary its title, description, tags, value and price, so a
grown catalog spreads over every demo category in en/de/fr with a long tail of new words.
The generator is deterministic: the same size and seed give the same actions.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

Action = dict[str, Any]

_ADJECTIVES = {
    "en": ["New", "Classic", "Compact", "Premium", "Essential", "Limited", "Pocket", "Family",
           "Travel", "Smart", "Deluxe", "Everyday", "Quiet", "Bold", "Light", "Urban"],
    "de": ["Neu", "Klassisch", "Kompakt", "Premium", "Basis", "Limitiert", "Taschen", "Familien",
           "Reise", "Smart", "Deluxe", "Alltags", "Leise", "Kräftig", "Leicht", "Stadt"],
    "fr": ["Nouveau", "Classique", "Compact", "Premium", "Essentiel", "Limité", "Poche", "Famille",
           "Voyage", "Malin", "Deluxe", "Quotidien", "Silencieux", "Audacieux", "Léger", "Urbain"],
}  # fmt: skip
_EDITION = {"en": "edition", "de": "Ausgabe", "fr": "édition"}
_BLURB = {
    "en": "{brand} {adj} version, series {series}: {base}",
    "de": "{brand} {adj} Variante, Serie {series}: {base}",
    "fr": "{brand}, variante {adj}, série {series} : {base}",
}
_SYLLABLES = ["ka", "lo", "mi", "ren", "sto", "vu", "dar", "fel", "gin", "hol", "jor", "pes",
              "qua", "ris", "tam", "bel", "cor", "nix", "ola", "zan"]  # fmt: skip
_EXTRA_TAGS = ["new_arrival", "gift", "eco", "bundle", "online_only", "bestseller", "sale",
               "premium", "refurbished", "limited", "local", "imported"]  # fmt: skip


def demo_catalog() -> list[Action]:
    """The demo catalog shipped with ``waypoint serve --demo``, one dict per action."""
    text = (resources.files("demo") / "data" / "catalog.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def pseudo_word(n: int, rng: random.Random) -> str:
    """A made-up word (a brand or series name): new vocabulary for the long tail."""
    parts = [rng.choice(_SYLLABLES) for _ in range(2 + n % 2)]
    return "".join(parts)


def synthetic_copy(base: Action, n: int, rng: random.Random) -> Action:
    """The ``n``-th synthetic copy of ``base``: same shape, different words."""
    brand = pseudo_word(n, rng).capitalize()
    series = pseudo_word(n + 1, rng)
    adj_index = rng.randrange(len(_ADJECTIVES["en"]))
    copy = dict(base)
    copy["id"] = f"{base['id']}-s{n}"[:64]
    titles: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    base_descriptions: dict[str, str] = base.get("description", {})
    for lang, title in base["title"].items():
        adj = _ADJECTIVES.get(lang, _ADJECTIVES["en"])[adj_index]
        edition = _EDITION.get(lang, "edition")
        titles[lang] = f"{brand} {title}, {adj} {edition} {1 + n % 9}"[:300]
        template = _BLURB.get(lang, _BLURB["en"])
        descriptions[lang] = template.format(
            brand=brand, adj=adj.lower(), series=series, base=base_descriptions.get(lang, title)
        )[:2000]
    copy["title"] = titles
    copy["description"] = descriptions
    tags = list(base.get("tags", []))
    tags += [*rng.sample(_EXTRA_TAGS, 2), f"brand_{brand.lower()}"]
    copy["tags"] = sorted(set(tags))
    copy["value"] = round(float(base.get("value", 0.0)) * rng.uniform(0.8, 1.2), 2)
    if base.get("price") is not None:
        copy["price"] = round(float(base["price"]) * rng.uniform(0.8, 1.2), 2)
    return copy


def synthetic_actions(
    count: int, *, seed: int = 0, base: list[Action] | None = None
) -> Iterator[Action]:
    """``count`` synthetic copies, cycling through every demo action (so every category)."""
    actions = base if base is not None else demo_catalog()
    rng = random.Random(seed)
    for n in range(count):
        yield synthetic_copy(actions[n % len(actions)], n, rng)


def grown_catalog(size: int, *, seed: int = 0) -> list[Action]:
    """The demo catalog plus enough synthetic copies to hold ``size`` actions in all."""
    demo = demo_catalog()
    return demo + list(synthetic_actions(max(0, size - len(demo)), seed=seed, base=demo))


def write_catalog_file(path: Path, size: int, *, seed: int = 0) -> int:
    """Write a ``size``-action JSON Lines file for ``waypoint catalog load``; returns the count."""
    actions = grown_catalog(size, seed=seed)
    with path.open("w", encoding="utf-8") as fh:
        for action in actions:
            fh.write(json.dumps(action, ensure_ascii=False) + "\n")
    return len(actions)
