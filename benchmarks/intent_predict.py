"""Single-utterance latency of ``IntentClassifier.predict_one`` (in-process).

Usage (from the repository root)::

    PYTHONPATH=. .venv/bin/python benchmarks/intent_predict.py --model DIR --data FILE
    PYTHONPATH=. .venv/bin/python benchmarks/intent_predict.py --data FILE   # trains first

Prints p50 / p90 / p99 / max in milliseconds over ``--calls`` calls cycling through the texts
of ``--data`` (JSON Lines), after a warm-up.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

import numpy as np

from intent.artifact import load_model
from intent.data import load_jsonl
from intent.train import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="JSON Lines utterances")
    parser.add_argument("--model", type=Path, help="model directory (default: train on --data)")
    parser.add_argument("--calls", type=int, default=5000, help="timed calls (default 5000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    examples = load_jsonl(args.data)
    if args.model is not None:
        model, _ = load_model(args.model)
    else:
        model = train(examples).model
    texts = [e.text for e in examples]
    for text in texts[:200]:
        model.predict_one(text)
    gc.collect()
    timings = np.empty(args.calls)
    for i in range(args.calls):
        text = texts[i % len(texts)]
        start = time.perf_counter()
        model.predict_one(text)
        timings[i] = time.perf_counter() - start
    ms = timings * 1000.0
    result = {
        "calls": args.calls,
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"predict_one over {args.calls} calls: p50 {result['p50_ms']:.3f} ms, "
            f"p90 {result['p90_ms']:.3f} ms, p99 {result['p99_ms']:.3f} ms, "
            f"max {result['max_ms']:.3f} ms"
        )


if __name__ == "__main__":
    main()
