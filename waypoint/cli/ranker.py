"""``waypoint ranker``: train, register, activate and list latent-factor rankers.

``train`` is offline (an event log in, a model directory out); the other commands talk to
the Redis server the service uses (``WAYPOINT_REDIS_URL``), where every worker picks up
the active version within its reload interval.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from recommender.learning.factors import ImplicitALS, preference_matrix
from recommender.learning.interactions import LogFormatError, read_interactions
from recommender.learning.ranker_artifact import RankerMetadata, save_ranker
from waypoint.cli.common import (
    add_events_option,
    add_seed_option,
    command_group,
    defaulted_options,
    file_sha256,
    run_on_redis,
    service_settings,
)


def train_from_log(
    events: Path, out: Path, params: Mapping[str, Any] | None = None, *, validate: bool = True
) -> RankerMetadata:
    """Fit implicit ALS on every item event of ``events`` and write a model directory.

    ``params`` are :class:`ImplicitALS` parameters (its defaults for those left out). With
    ``validate``, the same parameters are first measured with the time split of
    ``waypoint evaluate ranking`` (HR@10 and NDCG@10 of ALS), recorded as metrics.
    """
    interactions = read_interactions(events)
    if not interactions:
        raise ValueError(f"{events}: no item events")
    params = ImplicitALS(**(params or {})).get_params()
    metrics: dict[str, float] = {}
    if validate:
        from evaluation.ranking import RankingConfig, evaluate_interactions

        config = RankingConfig(
            als={k: v for k, v in params.items() if k != "random_state"},
            seed=params["random_state"],
            models=("als",),
        )
        try:
            result = evaluate_interactions(interactions, config).results["als"]
            metrics = {"validation_hr@10": result.hr, "validation_ndcg@10": result.ndcg}
        except ValueError:  # too little data for a time split; train anyway
            metrics = {}
    started = time.perf_counter()
    matrix, users, items = preference_matrix(interactions)
    model = ImplicitALS(**params).fit(matrix, item_ids=items)
    seconds = time.perf_counter() - started
    return save_ranker(
        model,
        out,
        metadata={
            "metrics": metrics,
            "params": params,
            "training_data_sha256": file_sha256(events),
            "n_users": len(users),
            "n_events": len(interactions),
            "training_seconds": round(seconds, 3),
        },
    )


def _train(args: argparse.Namespace) -> int:
    try:
        params = {param: getattr(args, param) for param in ImplicitALS().get_params()}
        meta = train_from_log(
            Path(args.events), Path(args.out), params, validate=not args.no_validate
        )
    except (OSError, LogFormatError, ValueError) as exc:
        print(f"waypoint ranker train: {exc}", file=sys.stderr)
        return 2
    print(meta.model_dump_json(indent=2))
    return 0


def _with_registry(name: str, action: Callable[[Any], Awaitable[int]]) -> int:
    from domain.errors import DomainError
    from recommender.learning.ranker_registry import RankerRegistry

    settings = service_settings(f"waypoint ranker {name}")
    if settings is None:
        return 2

    async def run(redis: Any) -> int:
        return await action(RankerRegistry(redis, prefix=settings.key_prefix))

    try:
        url = settings.redis_url or ""
        return run_on_redis(url, run, cluster=settings.redis_cluster, timeout_s=5.0)
    except (DomainError, OSError, ValueError) as exc:
        detail = getattr(exc, "detail", None) or str(exc)
        print(f"waypoint ranker {name}: {detail}", file=sys.stderr)
        return 2


def _register(args: argparse.Namespace) -> int:
    async def act(registry: Any) -> int:
        meta = await registry.register_dir(Path(args.dir), activate=args.activate)
        state = "registered and activated" if args.activate else "registered"
        print(f"ranker {meta.version} {state}")
        return 0

    return _with_registry("register", act)


def _activate(args: argparse.Namespace) -> int:
    async def act(registry: Any) -> int:
        meta = await registry.activate(args.version)
        print(f"ranker {meta.version} activated")
        return 0

    return _with_registry("activate", act)


def _deactivate(args: argparse.Namespace) -> int:
    async def act(registry: Any) -> int:
        await registry.deactivate()
        print("no ranker active: the similar term uses co-occurrence only")
        return 0

    return _with_registry("deactivate", act)


def _list(args: argparse.Namespace) -> int:
    async def act(registry: Any) -> int:
        active = await registry.active_version()
        for meta in await registry.list():
            row = json.loads(meta.model_dump_json())
            row["active"] = meta.version == active
            print(json.dumps(row))
        return 0

    return _with_registry("list", act)


def register(subparsers: Any) -> None:
    """Add the ``ranker`` command group to the ``waypoint`` command."""
    group = command_group(subparsers, "ranker", help="latent-factor rankers (history models)")

    train = group.add_parser(
        "train",
        help="train implicit ALS on an event log and write a model directory",
        description="Fit implicit ALS (numpy) on a JSON Lines event log "
        '({"event_id","user_id","type","item_id","ts",...}) and write model.skops and '
        "metadata.json to --out.",
    )
    add_events_option(train)
    train.add_argument("--out", required=True, help="output model directory")
    # every ImplicitALS parameter is an option (args.<parameter>), with the model's default
    option = defaulted_options(train, ImplicitALS().get_params())
    option("n_factors", "latent factors (%(default)s)", flag="--factors", type=int)
    option("regularization", "L2 penalty (%(default)g)", type=float)
    option("alpha", "confidence per weight (%(default)g)", type=float)
    option("n_iter", "ALS sweeps (%(default)s)", flag="--iterations", type=int)
    add_seed_option(train, "random seed (0)", dest="random_state", metavar="SEED")
    train.add_argument(
        "--no-validate",
        action="store_true",
        help="skip the time-split validation (HR@10/NDCG@10) recorded in the metadata",
    )
    train.set_defaults(func=_train)

    reg = group.add_parser("register", help="store a model directory in Redis")
    reg.add_argument("dir", help="directory written by 'waypoint ranker train'")
    reg.add_argument("--activate", action="store_true", help="also make it the active ranker")
    reg.set_defaults(func=_register)

    act = group.add_parser("activate", help="make a registered ranker active on every worker")
    act.add_argument("version")
    act.set_defaults(func=_activate)

    deact = group.add_parser("deactivate", help="serve without a factor model")
    deact.set_defaults(func=_deactivate)

    lst = group.add_parser("list", help="registered rankers, one JSON object per line")
    lst.set_defaults(func=_list)
