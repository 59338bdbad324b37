"""``waypoint evaluate policy``: off-policy estimates of ranking variants on the decision log."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evaluation.policy import Variant, evaluate_log, read_log
from waypoint.cli.common import add_json_option, add_seed_option


def _variant(text: str) -> Variant:
    try:
        raw = json.loads(Path(text).read_text("utf-8") if Path(text).is_file() else text)
        return Variant.parse(raw)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(f"invalid variant: {exc}") from exc


def _run(args: argparse.Namespace) -> int:
    try:
        with Path(args.log).open(encoding="utf-8") as fh:
            decisions, successes = read_log(fh)
        report = evaluate_log(
            decisions, successes, args.variant, n_boot=args.n_boot, seed=args.seed
        )
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, allow_nan=True))
        return 0
    print(f"{report['decisions']} decisions, {report['successes']} successes; {report['unit']}")
    print(f"  logged policy (on-policy):  {report['logged_value']:.4f}")
    for name in ("ipw", "snipw", "dr"):
        lo, hi = report[name]["ci95"]
        print(f"  candidate {name:<6} {report[name]['value']:.4f}  95% CI [{lo:.4f}, {hi:.4f}]")
    print(f"  support: {report['support']:.1%} of the candidate's slots have logged support")
    return 0


def register(group: Any) -> argparse.ArgumentParser:
    """Add ``policy`` to the ``evaluate`` group returned by ``waypoint.cli.evaluate.register``."""
    parser: argparse.ArgumentParser = group.add_parser(
        "policy",
        help="estimate a candidate variant's value on Waypoint's decision log",
        description="Re-rank the logged candidates under a candidate variant (levers, "
        "weights, diversity, exploration rate) and estimate its successes per decision "
        "with IPW, self-normalised IPW and doubly robust estimators.",
    )
    parser.add_argument("--log", required=True, metavar="FILE", help="decision log (JSON Lines)")
    parser.add_argument(
        "--variant",
        required=True,
        type=_variant,
        metavar="JSON",
        help="the candidate variant as JSON (or a file holding it)",
    )
    parser.add_argument("--n-boot", type=int, default=500, metavar="N", help="bootstrap resamples")
    add_seed_option(parser, "bootstrap seed")
    add_json_option(parser, help="print one JSON object")
    parser.set_defaults(func=_run)
    return parser
