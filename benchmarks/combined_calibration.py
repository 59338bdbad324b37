"""How well the combined intent confidence is calibrated on held-out training utterances.

Usage (from the repository root; trains one intent model per fold, a few minutes)::

    PYTHONPATH=. .venv/bin/python benchmarks/combined_calibration.py [--folds 5] [--json]

The combiner's temperature and its gate (:class:`recommender.intent_evidence.Combiner`)
were chosen on the dev probes. This checks them on data no probe chose: the demo training
utterances, split into stratified folds; for each fold an intent model is trained on the
others (:func:`intent.train.train`) and every held-out utterance is weighed as a query
(classifier and catalog, :func:`recommender.intent_evidence.query_votes`). Reported: the
log loss of the combined distribution and the calibration error (ECE) of ``P(top)`` at each
temperature of a small grid, the reliability of ``P(top)`` at the live temperature (share
right per confidence bin), and how the live decision treats the held-out utterances (gated
and right, asked with the true intent among the options, out of scope). A held-out
utterance is a paraphrase of others of its intent, so this reads the calibration on
in-distribution text: a check of the dev choice, not a replacement for it.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections import defaultdict
from dataclasses import replace
from typing import Any

from demo.seed import data_dir, demo_taxonomy
from intent.data import load_jsonl
from intent.train import train
from recommender.catalog import CatalogIndex, load_actions_file
from recommender.intent_evidence import (
    DEFAULT_COMBINER,
    OUT_OF_SCOPE,
    combine,
    decide,
    query_votes,
)
from recommender.state import LiveState

TEMPERATURES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2)
BINS = 10


def ece(pairs: list[tuple[float, bool]], bins: int = BINS) -> float:
    grouped: dict[int, list[tuple[float, bool]]] = {}
    for p, right in pairs:
        grouped.setdefault(min(int(p * bins), bins - 1), []).append((p, right))
    gap = sum(abs(sum(p for p, _ in g) - sum(r for _, r in g)) for g in grouped.values())
    return gap / max(len(pairs), 1)


def folds(labels: list[str], k: int, seed: int) -> list[int]:
    """A stratified fold number per example."""
    rng = random.Random(seed)
    by: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by[label].append(i)
    out = [0] * len(labels)
    for label in sorted(by):
        idx = by[label]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            out[i] = j % k
    return out


def run(k: int, seed: int) -> dict[str, Any]:
    examples = load_jsonl(data_dir() / "utterances.jsonl")
    taxonomy = demo_taxonomy()
    catalog = CatalogIndex.build(load_actions_file(data_dir() / "catalog.jsonl"), 1)
    names = tuple(taxonomy.names)
    fold = folds([e.intent for e in examples], k, seed)
    live = DEFAULT_COMBINER
    nll = dict.fromkeys(TEMPERATURES, 0.0)
    tops: dict[float, list[tuple[float, bool]]] = {t: [] for t in TEMPERATURES}
    outcome: dict[str, int] = defaultdict(int)
    for f in range(k):
        model = train([e for e, g in zip(examples, fold, strict=True) if g != f], seed=seed).model
        state = LiveState(catalog=catalog, taxonomy=taxonomy, model=model)
        for e, g in zip(examples, fold, strict=True):
            if g != f:
                continue
            votes = query_votes(e.text, state, live)
            for t in TEMPERATURES:
                c = replace(live, temperature=t)
                q = combine(votes.prediction, votes.evidence, names, c, votes.cues)
                nll[t] -= math.log(max(q.get(e.intent, 0.0), 1e-12))
                if e.intent != OUT_OF_SCOPE:
                    p, top = max((v, n) for n, v in q.items() if n != OUT_OF_SCOPE)
                    tops[t].append((p, top == e.intent))
            d = decide(
                votes.prediction,
                votes.evidence,
                taxonomy,
                live,
                known_words=votes.known_words,
                word_doubt=votes.word_doubt,
                cues=votes.cues,
            )
            scope = "oos" if e.intent == OUT_OF_SCOPE else "in_scope"
            if d.out_of_scope:
                kind = "out_of_scope"
            elif d.intent is not None:
                kind = "gate_right" if d.intent.name == e.intent else "gate_wrong"
            elif d.clarify_options:
                offered = e.intent in {o.name for o in d.clarify_options}
                kind = "clarify_offering_truth" if offered else "clarify_without_truth"
            else:
                kind = "none"
            outcome[f"{scope}:{kind}"] += 1
    n = len(examples)
    reliability = []
    pairs = tops.get(live.temperature, [])
    for b in range(BINS):
        lo, hi = b / BINS, (b + 1) / BINS
        got = [r for p, r in pairs if lo <= p < hi or (b == BINS - 1 and p == 1.0)]
        if got:
            reliability.append(
                {"bin": [lo, hi], "n": len(got), "right": round(sum(got) / len(got), 3)}
            )
    return {
        "utterances": n,
        "folds": k,
        "live_temperature": live.temperature,
        "live_gate": live.gate,
        "by_temperature": [
            {"temperature": t, "log_loss": round(nll[t] / n, 4), "ece_top": round(ece(tops[t]), 4)}
            for t in TEMPERATURES
        ],
        "reliability_live": reliability,
        "decisions_live": dict(sorted(outcome.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args.folds, args.seed)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['utterances']} utterances, {result['folds']} folds")
    for row in result["by_temperature"]:
        print(f"  T={row['temperature']}: log loss {row['log_loss']}, ECE {row['ece_top']}")
    print(f"reliability of P(top) at T={result['live_temperature']}:")
    for row in result["reliability_live"]:
        print(f"  {row['bin'][0]:.1f}-{row['bin'][1]:.1f}: n={row['n']}, right {row['right']}")
    print("decisions:", result["decisions_live"])


if __name__ == "__main__":
    main()
