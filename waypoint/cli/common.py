"""What the ``waypoint`` commands share: argument types, the options several commands take
(``--json``, ``--seed``, ``--events``, ``--catalog``), command groups, options that fill a
config, and the Redis server the service uses."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from service.settings import Settings

if TYPE_CHECKING:
    from domain.actions import Action

T = TypeVar("T")

JSON_HELP = "print one JSON object (on the last line of stdout) instead of a report"


def open_fraction(text: str) -> float:
    """argparse type: a number strictly between 0 and 1."""
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError("must lie strictly between 0 and 1")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def add_json_option(parser: argparse.ArgumentParser, help: str = JSON_HELP) -> None:
    parser.add_argument("--json", action="store_true", help=help)


def add_seed_option(parser: argparse.ArgumentParser, help: str, **options: Any) -> None:
    """``--seed``: a whole number, 0 unless given; ``help`` says what it seeds."""
    parser.add_argument("--seed", type=int, default=0, help=help, **options)


def add_events_option(parser: argparse.ArgumentParser) -> None:
    """``--events``: the event log a command learns from (the event API's JSON Lines)."""
    parser.add_argument("--events", required=True, help="JSON Lines event log")


def add_catalog_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``--catalog``: a catalog JSON Lines file; read it with :func:`catalog_actions`."""
    parser.add_argument("--catalog", default=None, help=help)


def catalog_actions(path: str | None) -> list[Action]:
    """The actions of the catalog file ``path`` (``--catalog``); without one, the demo's."""
    from demo.seed import data_dir
    from recommender.catalog import load_actions_file

    return load_actions_file(Path(path) if path else data_dir() / "catalog.jsonl")


def print_report(args: argparse.Namespace, data: Any, text: str, **dumps: Any) -> int:
    """Print ``data`` as one JSON object (``json.dumps`` with ``dumps``) when ``--json`` was
    given, else the readable ``text``; the command's exit status (0)."""
    print(json.dumps(data, **dumps) if args.json else text)
    return 0


def command_group(subparsers: Any, name: str, help: str, **parser_options: Any) -> Any:
    """Add the command ``name`` whose sub-commands (one required) go into the returned group."""
    parser = subparsers.add_parser(name, help=help, **parser_options)
    return parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)


def defaulted_options(
    parser: argparse.ArgumentParser, defaults: Mapping[str, Any]
) -> Callable[..., None]:
    """``add(name, help, *, flag=None, **options)``: adds to ``parser`` the option
    (``--<name>``, or ``flag`` shown as such) whose value is ``args.<name>``, by default
    ``defaults[name]`` (``%(default)s`` in ``help`` shows it)."""

    def add(name: str, help: str, *, flag: str | None = None, **options: Any) -> None:
        if flag is None:
            flag = "--" + name.replace("_", "-")
        else:
            options.setdefault("metavar", flag.removeprefix("--").replace("-", "_").upper())
        parser.add_argument(flag, dest=name, default=defaults[name], help=help, **options)

    return add


def config_options(parser: argparse.ArgumentParser, config: type[Any]) -> Callable[..., None]:
    """:func:`defaulted_options` for the fields of the dataclass ``config`` (whose defaults
    they take): the options that :func:`config_from_args` reads."""
    return defaulted_options(parser, {f.name: f.default for f in dataclasses.fields(config)})


def config_from_args(config: type[T], args: argparse.Namespace, **values: Any) -> T:
    """The dataclass ``config`` with each field that has an option of the same name taken from
    ``args``, and ``values`` (options named otherwise or converted) over them."""
    fields = dataclasses.fields(config)  # type: ignore[arg-type]
    named = {f.name: getattr(args, f.name) for f in fields if hasattr(args, f.name)}
    return config(**{**named, **values})


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file (a model's training data, recorded in its metadata)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def service_settings(command: str) -> Settings | None:
    """The service's settings; None, said on stderr, when they name no Redis server."""
    settings = Settings()
    if settings.redis_url is None:
        print(
            f"{command}: set WAYPOINT_REDIS_URL (or REDIS_URL) to the server the service uses",
            file=sys.stderr,
        )
        return None
    return settings


def run_on_redis(
    url: str, work: Callable[[Any], Awaitable[T]], *, cluster: bool, timeout_s: float
) -> T:
    """``work(redis)`` on a connection to ``url``, closed afterwards."""
    from service.redis_server import connect

    async def run() -> T:
        redis = connect(url, cluster=cluster, timeout_s=timeout_s)
        try:
            return await work(redis)
        finally:
            await redis.aclose()

    return asyncio.run(run())
