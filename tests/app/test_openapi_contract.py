"""The OpenAPI document is the API: schemathesis runs every operation of the live app (in
process, real Redis, demo world, an admin key) through all its phases and checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as sync_redis
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events
from schemathesis.engine import from_schema as engine_for
from schemathesis.python import asgi as schemathesis_asgi

from tests.conftest import TEST_KEY, demo_settings

CROSS_FIELD_RULES = {
    "POST /v1/events": "item events need item_id, search needs query, ts within its window",
    "POST /v1/recommend": "an explicit intent must be in the live taxonomy",
    "POST /v1/experiments": "variant weights sum to 1, unique variant ids, guardrails",
    "PUT /v1/experiments/{experiment_id}": "as for create, plus the edit rules of its status",
    "PUT /v1/catalog/items": "unique ids in a batch, valid_to after valid_from",
    "PUT /v1/intents": "unique intent names, an 'en' label, reserved names",
    "PUT /v1/policies/contact": "a cap has exactly one of window_s and per_session",
    "PUT /v1/policies/contact/{channel}": "a cap has exactly one of window_s and per_session",
    "POST /v1/console/outcomes": "a reason is recorded for declines only",
    "POST /v1/intents/models/{version}/activate": "the model predicts only taxonomy intents",
}

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261129,
        "headers": {"Authorization": f"Bearer {TEST_KEY}"},
        # derandomized, and nothing carried over from earlier runs: every run is the same run
        "generation": {
            "max-examples": 15,
            "deterministic": True,
            "mode": "all",
            "database": "none",
        },
        "cache": {"enabled": False},
        "checks": {"enabled": True},
        "phases": {"stateful": {"enabled": False}},
        # Rules JSON Schema cannot state (each documented in the operation and docs/api.md):
        # a request that satisfies the document may still break one and get a 422, so for
        # these operations alone "valid data" may also be answered 422.
        "operations": [
            {
                "include-name": name,
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]
                    }
                },
            }
            for name in CROSS_FIELD_RULES
        ],
    }
)


@pytest.fixture(scope="module")
def contract_app(redis_url: str, demo_model_dir: Path) -> Iterator[Any]:
    from demo.app import create_app

    flush = sync_redis.Redis.from_url(redis_url)
    flush.flushdb()
    flush.close()
    app = create_app(demo_settings(redis_url, demo_model_dir))
    yield app
    schemathesis_asgi.shutdown_lifespans()


def _failures(event: events.ScenarioFinished) -> list[str]:
    out = []
    rec = event.recorder
    for case_id, checks in rec.checks.items():
        for check in checks:
            if check.status != Status.FAILURE or check.failure_info is None:
                continue
            case = rec.cases[case_id].value
            interaction = rec.interactions.get(case_id)
            status = (
                interaction.response.status_code if interaction and interaction.response else "?"
            )
            body = (
                interaction.response.content[:300] if interaction and interaction.response else b""
            )
            out.append(
                f"[{rec.label}] {check.name}: {check.failure_info.failure.title}\n"
                f"    {case.method} {case.formatted_path} q={case.query} h={case.headers} "
                f"body={str(case.body)[:300]}\n    -> {status} {body!r}\n"
                f"    {check.failure_info.failure.message[:300]}"
            )
    return out


@pytest.mark.slow
def test_every_operation_keeps_its_contract(contract_app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", contract_app, config=CONFIG)
    failures: list[str] = []
    errors: list[str] = []
    for event in engine_for(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            failures.extend(_failures(event))
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.format()[:500]}")
        elif isinstance(event, events.FatalError):
            errors.append(f"fatal: {event.exception!r}")
    unique = sorted(set(failures))
    assert not errors, "\n".join(errors)
    assert not unique, f"{len(unique)} contract failures:\n" + "\n".join(unique)
