"""The demo world the intent-evidence tests read: its taxonomy, the real index of its
catalog, and classifier predictions written out (no model needed)."""

from __future__ import annotations

from dataclasses import dataclass

from demo.seed import data_dir, demo_taxonomy
from recommender.catalog import CatalogIndex, load_actions_file

TAXONOMY = demo_taxonomy()
CATALOG = CatalogIndex.build(load_actions_file(data_dir() / "catalog.jsonl"), 1)


@dataclass(frozen=True)
class Said:
    """A classifier prediction written out."""

    alternatives: tuple[tuple[str, float], ...]
    intent: str | None = None
    ambiguous: bool = False
    out_of_scope: bool = False

    @property
    def confidence(self) -> float:
        return self.alternatives[0][1] if self.alternatives else 0.0
