"""The ``waypoint`` command: one module per command group in this package."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from waypoint import bench
    from waypoint.cli import (
        catalog,
        decisions,
        demo,
        evaluate,
        evaluate_policy,
        evaluate_probes,
        evaluate_ranking,
        evaluate_simulation,
        intent,
        models,
        ranker,
        serve,
    )

    parser = argparse.ArgumentParser(
        prog="waypoint", description="Waypoint: real-time next-best actions with reasons."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve.register(sub)
    catalog.register(sub)
    intent.register(sub)
    models.register(sub)
    evaluate_group = evaluate.register(sub)
    evaluate_ranking.register(evaluate_group)
    evaluate_policy.register(evaluate_group)
    evaluate_probes.register(evaluate_group)
    evaluate_simulation.register(evaluate_group)
    decisions.register(sub)
    bench.register(sub)
    ranker.register(sub)
    demo.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
