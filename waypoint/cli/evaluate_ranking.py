"""``waypoint evaluate ranking``: in the ``evaluate`` group of :mod:`waypoint.cli.evaluate`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from domain.actions import Action
from evaluation.ranking import MODELS, RankingConfig, evaluate_ranking
from evaluation.ranking_report import format_report
from recommender.learning.interactions import LogFormatError
from waypoint.cli.common import (
    add_catalog_option,
    add_events_option,
    add_json_option,
    add_seed_option,
    catalog_actions,
    config_from_args,
    config_options,
    open_fraction,
    positive_int,
    print_report,
)

_DEFAULTS = RankingConfig()


def _names(allowed: tuple[str, ...]) -> Any:
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(p.strip() for p in text.split(",") if p.strip())
        unknown = sorted(set(names) - set(allowed))
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}")
        return names

    return parse


def _catalog(path: str | None) -> list[Action]:
    return [] if path == "none" else catalog_actions(path)


def _run(args: argparse.Namespace) -> int:
    config = config_from_args(RankingConfig, args)
    try:
        actions = _catalog(args.catalog)
        report = evaluate_ranking(args.events, config, actions=actions)
    except (OSError, LogFormatError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - e.g. a catalog file with invalid entries
        detail = getattr(exc, "detail", None) or repr(exc)
        print(f"error: {detail}", file=sys.stderr)
        return 2
    return print_report(args, report.to_json(), format_report(report), allow_nan=False)


def register(group: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ranking`` to the ``evaluate`` group returned by ``waypoint.cli.evaluate.register``."""
    ranking = group.add_parser(
        "ranking",
        help="time-split HR@K / NDCG@K of history rankers on an event log",
        description=(
            "Cut a JSON Lines event log ({'event_id','user_id','type','item_id','ts',...}) "
            "at one time; train on the events before the cut; for every user with a "
            "purchase/accept/add-to-cart of a new item after the cut, rank all items they "
            "had not touched and report HR@K and NDCG@K of popularity, Waypoint's scoring "
            "(co-occurrence 'similar' term + affinities), implicit ALS (reference) and "
            "Waypoint with ALS active, all on the same split."
        ),
    )
    add_events_option(ranking)
    add_catalog_option(
        ranking,
        "catalog JSON Lines giving categories and values (default: the demo catalog; "
        "'none' to use only the log's items, with unknown categories)",
    )

    option = config_options(ranking, RankingConfig)
    option("k", "cut-off K (%(default)s)", type=positive_int)
    option(
        "test_fraction",
        "share of the log (by time) after the cut (%(default)s)",
        type=open_fraction,
        metavar="F",
    )
    option(
        "target_types",
        f"event types that count as choosing an item ({','.join(_DEFAULTS.target_types)})",
        type=lambda t: tuple(p.strip() for p in t.split(",") if p.strip()),
        metavar="T[,T..]",
    )
    option(
        "models", f"models to measure ({','.join(MODELS)})", type=_names(MODELS), metavar="M[,M..]"
    )
    option(
        "max_users",
        "evaluate a random sample of N test users (quick checks)",
        type=positive_int,
        metavar="N",
    )
    add_seed_option(ranking, "seed of ALS and sampling (0)")
    add_json_option(ranking)
    ranking.set_defaults(func=_run)
