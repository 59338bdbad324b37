"""``waypoint evaluate simulate``: the closed-loop simulation's command and report
(:mod:`evaluation.simulation`)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evaluation.simulation import ARMS, ArmResult, SimConfig, run_blocking, train_demo_model
from waypoint.cli.common import (
    add_json_option,
    add_seed_option,
    config_from_args,
    config_options,
    open_fraction,
    positive_int,
    print_report,
)

__all__ = ["format_report", "register", "report_json"]


def report_json(cfg: SimConfig, results: Sequence[ArmResult]) -> dict[str, Any]:
    by = {r.arm: r for r in results}
    out: dict[str, Any] = {"config": asdict(cfg), "arms": [asdict(r) for r in results]}
    if "feedback" in by and "impressions" in by:
        imp = by["impressions"].reward_per_decision
        out["feedback_gain"] = (
            round(by["feedback"].reward_per_decision / imp - 1, 4) if imp else None
        )
    if "feedback" in by and "popularity" in by:
        out["late_feedback_minus_popularity"] = round(
            by["feedback"].late - by["popularity"].late, 4
        )
    return out


def format_report(cfg: SimConfig, results: Sequence[ArmResult]) -> str:
    lines = [
        f"closed-loop simulation: {cfg.customers} customers x {cfg.decisions_per_customer} "
        f"decisions, fade {cfg.fade}, taste groups {cfg.taste_groups}, seed {cfg.seed}",
        f"{'arm':<16}{'reward/dec':>11}{'early':>8}{'late':>8}{'repeat':>8}{'late rep':>9}"
        f"{'clicks':>8}{'stable':>8}",
    ]
    for r in results:
        stable = f"{r.stability_top3:.0%}" if r.stability_top3 is not None else "-"
        lines.append(
            f"{r.arm:<16}{r.reward_per_decision:>11.3f}{r.early:>8.3f}{r.late:>8.3f}"
            f"{r.repeat_share:>8.0%}{r.repeat_by_quarter[-1]:>9.0%}{r.clicks:>8d}{stable:>8}"
        )
    summary = report_json(cfg, results)
    if summary.get("feedback_gain") is not None:
        lines.append(f"feedback vs impressions only: {summary['feedback_gain']:+.1%} true reward")
    return "\n".join(lines)


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(text.split(","))


def _run_cli(args: Any) -> int:
    from service.redis_server import EmbeddedRedis

    cfg = config_from_args(SimConfig, args)
    unknown = set(cfg.arms) - set(ARMS)
    if unknown:
        print(f"error: unknown arms {', '.join(sorted(unknown))} (known: {', '.join(ARMS)})")
        return 2
    with tempfile.TemporaryDirectory(prefix="waypoint-sim-") as tmp:
        model_dir = train_demo_model(Path(tmp) / "model")
        server = EmbeddedRedis.start(Path(tmp) / "redis")
        try:
            results = run_blocking(cfg, server.url, model_dir)
        finally:
            server.stop()
    return print_report(args, report_json(cfg, results), format_report(cfg, results))


def register(group: Any) -> Any:
    """Add ``simulate`` to the ``evaluate`` group returned by ``waypoint.cli.evaluate.register``."""
    parser = group.add_parser(
        "simulate",
        help="closed-loop simulation of customers with hidden tastes, through the API",
        description="Run simulated customers (hidden tastes, interest fading with every "
        "impression without effect) against an in-process Waypoint on an embedded Redis "
        "server, one fresh demo world per arm, and report the true clicks per decision "
        "(early / late quarter), the share of repeated actions and, for the impressions "
        "arm, the share of probe queries whose top 3 stayed the same.",
    )

    option = config_options(parser, SimConfig)
    option("customers", "default %(default)s", type=positive_int)
    option(
        "decisions_per_customer",
        "decisions per customer (default %(default)s)",
        flag="--decisions",
        type=positive_int,
    )
    add_seed_option(parser, "default 0")
    option(
        "fade",
        "interest kept after an impression without a click (default %(default)s)",
        type=open_fraction,
    )
    option(
        "taste_groups",
        "customers share tastes in this many groups; 0: independent tastes (default %(default)s)",
        type=int,
    )
    option("arms", f"comma-separated (default {','.join(ARMS)})", type=_comma_list)
    add_json_option(parser, help="print one JSON object")
    parser.set_defaults(func=_run_cli)
    return parser
