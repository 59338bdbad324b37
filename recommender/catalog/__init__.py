"""The catalog: the columnar index every worker serves from, its Redis store with a change
log, and its file format."""

from recommender.catalog.files import dump_jsonl, load_actions_file, parse_actions_jsonl
from recommender.catalog.index import CatalogIndex
from recommender.catalog.store import CatalogStore

__all__ = [
    "CatalogIndex",
    "CatalogStore",
    "dump_jsonl",
    "load_actions_file",
    "parse_actions_jsonl",
]
