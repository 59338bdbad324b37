"""What the catalog-evidence step adds to one decision (in-process micro-benchmark).

Usage (from the repository root)::

    PYTHONPATH=. .venv/bin/python benchmarks/intent_evidence.py

Builds the demo catalog's index and taxonomy, takes one classifier prediction per query
(the service caches predictions, so it is taken once, outside the timing), and times what
:func:`recommender.intent_evidence.weigh_query` adds on top of it: reading the query's words,
expanding unknown ones, reading the index's postings, the vote, the combination and the
decision. The queries are the demo training utterances (``--data``), cycled. Prints p50 /
p90 / p99 in microseconds, first calls (cold expansion cache) and warm calls apart.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

import numpy as np

from demo.seed import data_dir, demo_taxonomy
from intent.data import load_jsonl
from intent.resolve import IntentDecision
from intent.train import train
from recommender.catalog import CatalogIndex, load_actions_file
from recommender.intent_evidence import weigh_query
from recommender.state import LiveState


class _Fixed:
    """A predictor answering from predictions taken beforehand (the service's cache)."""

    def __init__(self, predictions: dict[str, object]) -> None:
        self.predictions = predictions

    def predict_one(self, text: str) -> object:
        return self.predictions[text]


def _percentiles(seconds: np.ndarray) -> dict[str, float]:
    us = seconds * 1e6
    return {f"p{q}_us": round(float(np.percentile(us, q)), 1) for q in (50, 90, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=data_dir() / "utterances.jsonl", help="JSON Lines queries"
    )
    parser.add_argument("--calls", type=int, default=20_000, help="warm calls (default 20000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    examples = load_jsonl(args.data)
    model = train(examples).model
    texts = list(dict.fromkeys(e.text for e in examples))
    predictor = _Fixed({t: model.predict_one(t) for t in texts})
    state = LiveState(
        catalog=CatalogIndex.build(load_actions_file(data_dir() / "catalog.jsonl"), 1),
        taxonomy=demo_taxonomy(),
        model=predictor,  # type: ignore[arg-type]
    )
    none = IntentDecision()
    gc.collect()
    cold = np.empty(len(texts))
    for i, text in enumerate(texts):
        start = time.perf_counter()
        weigh_query(text, None, none, state)
        cold[i] = time.perf_counter() - start
    warm = np.empty(args.calls)
    for i in range(args.calls):
        text = texts[i % len(texts)]
        start = time.perf_counter()
        weigh_query(text, None, none, state)
        warm[i] = time.perf_counter() - start
    result = {
        "queries": len(texts),
        "catalog_actions": len(state.catalog),
        "first_calls": _percentiles(cold),
        "warm_calls": {"calls": args.calls, **_percentiles(warm)},
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"evidence step over {len(texts)} distinct queries, {len(state.catalog)} actions: "
            f"first calls {result['first_calls']}, warm {result['warm_calls']}"
        )


if __name__ == "__main__":
    main()
