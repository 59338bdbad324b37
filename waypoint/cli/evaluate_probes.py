"""``waypoint evaluate probes``: the probe suite against the demo app (docs/evaluation.md)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from typing import Any

from waypoint.cli.common import add_json_option, add_seed_option, print_report

__all__ = ["format_report", "register"]

_FIGURES = (
    "context_violation_rate",
    "context_violation_rate_intent_right",
    "false_reasons",
    "intent_accuracy",
    "intent_ece",
    "clarify_rate_ambiguous",
    "out_of_scope_rate",
    "sub_hit_at_3",
    "stability_top3",
)


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"probe suite: {report['probes']} probes ({', '.join(report['splits'])}), "
        f"voice {report['voice']}, burst {report['burst']}, {report['seconds']} s",
        f"{'figure':40} {'fresh':>8} {'history':>8}  target",
    ]
    for name in _FIGURES:
        fresh = report["fresh"].get(name)
        history = report["history"].get(name, "")
        target = report["targets"].get(name.replace("_intent_right", ""), "")
        lines.append(f"{name:40} {fresh!s:>8} {history!s:>8}  {target}")
    for run in ("fresh", "history"):
        for example in report[run]["false_reason_examples"]:
            lines.append(f"false reason ({run}): {example['action']} {example['text']!r}")
    for miss in report.get("misses", []):
        said = miss["intent"] or ", ".join(miss["options"]) or "-"
        lines.append(
            f"miss {miss['id']} [{' '.join(miss['wrong'])}] {miss['query']!r}: "
            f"{miss['answer']} {said}; expected {', '.join(miss['expected']) or 'out of scope'}"
        )
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    from evaluation.probe_run import evaluate

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    redis_url = (
        args.redis_url or os.environ.get("WAYPOINT_REDIS_URL") or os.environ.get("REDIS_URL")
    )
    report = asyncio.run(
        evaluate(
            split=args.split,
            burst=args.burst,
            seed=args.seed,
            voice=args.voice,
            redis_url=redis_url,
            details=args.misses,
        )
    )
    return print_report(args, report, format_report(report), ensure_ascii=False)


def register(group: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    probes = group.add_parser(
        "probes",
        help="hand-written unseen queries against the demo app",
        description=(
            "Ask the demo app (in process, on REDIS_URL or an embedded Redis) every probe "
            "query for a fresh user and for a copy of a demo customer with history, then "
            "re-ask the fresh users after a burst of other traffic. Reports context "
            "violations, false reasons, intent accuracy, clarify rate on ambiguous "
            "queries, out-of-scope rate, sub-category hit@3 and top-3 stability. Tune on "
            "--split dev only; holdout is for the final figure; fresh (a later, separate "
            "file) only checks that a change generalises."
        ),
    )
    probes.add_argument(
        "--split",
        choices=("all", "dev", "holdout", "fresh"),
        default="all",
        help="default: all (dev, holdout and fresh, each also reported on its own)",
    )
    probes.add_argument(
        "--burst", type=int, default=800, help="decisions of other traffic (default 800)"
    )
    add_seed_option(probes, "seed of the burst (default 0)")
    probes.add_argument(
        "--voice", choices=("customer", "agent"), default="customer", help="reasons' voice"
    )
    probes.add_argument(
        "--redis-url", default=None, help="Redis to use (default: REDIS_URL, else embedded)"
    )
    probes.add_argument(
        "--misses",
        choices=("dev", "holdout", "fresh"),
        default=None,
        help="list the probes of this split that a fresh user got wrong (read dev only)",
    )
    add_json_option(probes, help="print one JSON object")
    probes.set_defaults(func=_run)
