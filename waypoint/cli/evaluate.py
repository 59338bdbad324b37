"""``evaluate`` command group: ``evaluate bandit`` (off-policy evaluation on OBD).

The ``waypoint`` CLI wires this in with :func:`register`; during development run::

    .venv/bin/python -m waypoint.cli.evaluate evaluate bandit --data ../shared/data/obd --json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from evaluation.bandit import (
    CANDIDATES,
    POLICY_CHOICES,
    SELECTION_RULE,
    BanditConfig,
    evaluate_bandit,
    format_report,
)
from evaluation.obd import CAMPAIGNS
from waypoint.cli.common import (
    add_json_option,
    add_seed_option,
    command_group,
    config_from_args,
    config_options,
    open_fraction,
    positive_int,
    print_report,
)

__all__ = ["main", "register"]

_FAMILY = ", ".join(c.name for c in CANDIDATES)
_RULE = SELECTION_RULE.replace("%", "%%")  # argparse %-formats help strings


def _feature_list(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError("expected comma-separated indices, e.g. 0 or 0,1") from exc
    if any(not 0 <= v < 4 for v in values) or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError("indices must be distinct and in 0..3")
    return values


def _run_bandit(args: argparse.Namespace) -> int:
    config = config_from_args(BanditConfig, args)
    try:
        report = evaluate_bandit(args.data, config)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return print_report(args, report.to_json(), format_report(report), allow_nan=False)


def register(subparsers: Any) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Add the ``evaluate`` command (with its ``bandit`` subcommand) to ``subparsers``.

    Each leaf parser sets ``func``: call ``args.func(args)`` to run it; it returns the
    process exit code. Returns the ``evaluate`` sub-command group so that other
    evaluations can be added next to ``bandit``.
    """
    group: argparse._SubParsersAction[argparse.ArgumentParser] = command_group(
        subparsers,
        "evaluate",
        help="offline evaluation of Waypoint's models",
        description="Offline evaluation of Waypoint's models on logged data.",
    )
    group.metavar = "EVALUATION"
    bandit = group.add_parser(
        "bandit",
        help="off-policy evaluation on the Open Bandit Dataset",
        description=(
            "Train Waypoint's propensity model on the earlier part (by time) of the Open "
            "Bandit Dataset's uniform-random log, then estimate the click rate of Waypoint's "
            "policy on the later part with IPW, self-normalised IPW and doubly robust "
            "estimators (percentile bootstrap 95% intervals), next to the click rates the "
            "random and Bernoulli-Thompson logging policies measured over the same window. "
            "By default (--policy auto) the policy is chosen from a fixed family using only "
            "the training part: the model is fitted on its earlier rounds, every candidate is "
            "scored by DR on its later rounds (the validation window), and the winner is "
            "refitted on the whole training part and estimated once on the test part."
        ),
    )
    bandit.add_argument(
        "--data",
        required=True,
        metavar="DIR",
        help="Open Bandit Dataset directory (holding random/ and bts/), or a directory "
        "holding obd/",
    )
    option = config_options(bandit, BanditConfig)
    option("campaign", "OBD campaign (default: %(default)s)", choices=CAMPAIGNS)
    option(
        "train_fraction",
        "earliest fraction of the random log used for training; the rest is the test "
        "(default: %(default)s)",
        type=open_fraction,
        metavar="F",
    )
    option(
        "policy",
        f"auto (default): select from the family {_FAMILY} by {_RULE}. Or one of "
        "them, fixed: greedy = best posterior mean per slot; thompson = one posterior "
        "draw per round; softmax-T = draw items with probability proportional to "
        "mean**(1/T); epsilon-E = greedy, but a uniformly random item with probability E "
        "per slot",
        choices=POLICY_CHOICES,
        metavar="NAME",
    )
    option(
        "validation_fraction",
        "with --policy auto: latest fraction of the training rounds used to score the "
        "candidates, the earlier rounds fitting the model (default: %(default)s)",
        type=open_fraction,
        metavar="F",
    )
    option(
        "user_features",
        "hashed user_feature_<i> columns in the context bucket, coarse to fine "
        "(after position); 'none' for position only (default: 0)",
        type=_feature_list,
        metavar="I[,J..]",
    )
    option(
        "backoff_strength",
        "pseudo-count tying each bucket level to its parent's posterior mean "
        "(default: empirical-Bayes fit per level on the training rounds)",
        type=float,
        metavar="K",
    )
    option(
        "train_on",
        "random: train on the early random log only (default); both: also on the bts "
        "log's rounds before the test window (before the validation window when scoring "
        "candidates)",
        choices=("random", "both"),
    )
    add_seed_option(bandit, "seed of bootstrap and Monte Carlo slates (default: 0)")
    option("n_boot", "bootstrap resamples (default: %(default)s)", type=positive_int, metavar="N")
    option(
        "max_rows",
        "read only the first N rows of each log (quick checks)",
        type=positive_int,
        metavar="N",
    )
    add_json_option(bandit)
    bandit.set_defaults(func=_run_bandit)
    return group


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m waypoint.cli.evaluate evaluate bandit ...``."""
    parser = argparse.ArgumentParser(
        prog="python -m waypoint.cli.evaluate", description="Waypoint offline evaluation."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    register(sub)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
