"""Command line for the intent model: ``intent train`` and ``intent eval``.

:func:`register` adds the ``intent`` command to an existing argparse sub-parser collection;
every leaf parser sets ``func`` (``func(args) -> int`` exit code).  :func:`main` is a standalone
entry point for development::

    python -m waypoint.cli.intent intent train --data train.jsonl --out models/intent
    python -m waypoint.cli.intent intent eval --model models/intent --data test.jsonl --json
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from intent.artifact import ModelMetadata, load_model, save_model
from intent.data import load_jsonl
from intent.evaluate import evaluate
from intent.train import TrainResult, train
from waypoint.cli.common import (
    add_json_option,
    add_seed_option,
    command_group,
    file_sha256,
    print_report,
)

_EVAL_ROWS = (
    ("in_scope_accuracy", "in-scope accuracy", "pct"),
    ("oos_recall", "out-of-scope recall", "pct"),
    ("oos_precision", "out-of-scope precision", "pct"),
    ("macro_f1", "macro F1 (intents + oos)", "pct"),
    ("ece", "ECE (15 bins)", "num"),
    ("ambiguous_rate", "ambiguous rate", "pct"),
    ("p50_predict_ms", "predict_one p50 (ms)", "num"),
    ("p99_predict_ms", "predict_one p99 (ms)", "num"),
    ("n", "examples", "int"),
    ("n_in_scope", "in-scope examples", "int"),
    ("n_oos", "out-of-scope examples", "int"),
)


def run_train(
    data: str | Path, out: str | Path, *, seed: int = 0, embedding: str | None = "auto"
) -> tuple[TrainResult, ModelMetadata]:
    """Train on a JSON Lines file and save the model directory; returns result and metadata."""
    examples = load_jsonl(data)
    result = train(examples, seed=seed, embedding=embedding)
    meta = save_model(
        result.model,
        out,
        metadata={
            "metrics": result.validation,
            "params": result.params,
            "training_data_sha256": file_sha256(data),
            "n_train": result.n_train,
            "training_seconds": round(result.seconds, 3),
            "seed": seed,
            "embedding_fingerprint": result.model.embedding_fingerprint_,
        },
    )
    return result, meta


def run_eval(model_dir: str | Path, data: str | Path) -> dict[str, Any]:
    """Evaluate a saved model directory on a JSON Lines file."""
    model, meta = load_model(model_dir)
    metrics: dict[str, Any] = dict(evaluate(model, load_jsonl(data)))
    metrics["model_version"] = meta.version
    return metrics


def _cmd_train(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    embedding = None if args.no_embedding else "auto"
    result, meta = run_train(args.data, args.out, seed=args.seed, embedding=embedding)
    elapsed = time.perf_counter() - started
    v = result.validation
    print(f"model {meta.version} -> {args.out}")
    print(f"  examples          {result.n_train} ({len(meta.labels)} in-scope intents)")
    params = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.params.items()
    )
    print(f"  chosen            {params}")
    print(f"  threshold         {meta.threshold:.4f}")
    recall = v.get("oos_recall")
    recall_text = f"{recall:.2%}" if recall is not None else "n/a (no out-of-scope examples)"
    print(
        "  validation        "
        f"in-scope accuracy {v.get('in_scope_accuracy', float('nan')):.2%}, "
        f"out-of-scope recall {recall_text} "
        f"(held-out split, {int(v['n_pseudo_oos_intents'])} intents held out as pseudo-oos)"
    )
    print(f"  elapsed           {elapsed:.1f} s")
    return 0


def _format(value: float, kind: str) -> str:
    if kind == "pct":
        return f"{value:.2%}"
    if kind == "int":
        return f"{int(value)}"
    return f"{value:.4f}"


def _cmd_eval(args: argparse.Namespace) -> int:
    metrics = run_eval(args.model, args.data)
    lines = [f"model {metrics['model_version']} on {args.data}"]
    lines += (f"  {label:<28} {_format(float(metrics[k]), kind)}" for k, label, kind in _EVAL_ROWS)
    return print_report(args, metrics, "\n".join(lines), sort_keys=True)


def register(subparsers: Any) -> None:
    """Add the ``intent`` command (with ``train`` and ``eval``) to ``subparsers``."""
    commands = command_group(
        subparsers,
        "intent",
        help="train and evaluate the intent model",
        description="Train and evaluate the intent classification model.",
    )

    p_train = commands.add_parser(
        "train",
        help="train a model on labelled utterances",
        description=(
            "Train an intent model on a JSON Lines file of {text, intent, language?} records "
            "(intent 'oos' = out-of-scope example). Hyper-parameters and the rejection threshold "
            "are chosen on a held-out split of this file; the model is then refitted on all of "
            "it and written to DIR as model.skops + metadata.json. Features: word and character "
            "n-grams plus, when the 'wordllama' package is installed (a default dependency), a "
            "static sentence embedding."
        ),
    )
    p_train.add_argument("--data", required=True, metavar="FILE", help="training JSON Lines file")
    p_train.add_argument("--out", required=True, metavar="DIR", help="output model directory")
    add_seed_option(p_train, "random seed of the splits (default: 0)", metavar="N")
    p_train.add_argument(
        "--no-embedding",
        action="store_true",
        help="n-gram features only (no static sentence embedding)",
    )
    p_train.set_defaults(func=_cmd_train)

    p_eval = commands.add_parser(
        "eval",
        help="evaluate a saved model on labelled utterances",
        description=(
            "Evaluate a model directory on a JSON Lines file: in-scope accuracy, out-of-scope "
            "recall/precision, macro F1, calibration error and single-utterance latency."
        ),
    )
    p_eval.add_argument("--model", required=True, metavar="DIR", help="model directory")
    p_eval.add_argument("--data", required=True, metavar="FILE", help="evaluation JSON Lines file")
    add_json_option(p_eval, help="print one JSON object of metrics instead of a table")
    p_eval.set_defaults(func=_cmd_eval)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m waypoint.cli.intent",
        description="Train and evaluate Waypoint's intent model.",
        epilog=(
            "examples:\n"
            "  python -m waypoint.cli.intent intent train --data train.jsonl --out models/intent\n"
            "  python -m waypoint.cli.intent intent eval --model models/intent \\\n"
            "      --data test.jsonl --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
