"""``/v1/experiments``: configure A/B experiments, change their status, read results and the
audit trail. Admin scope; the audit records the API key's id as the actor.

Status changes are actions (``POST .../start``, ``.../pause``, ``.../stop``) rather than a
writable field, so each one is an explicit, audited verb: ``start`` runs a draft or resumes a
paused experiment. Writes accept ``If-Match: <version>`` for optimistic concurrency.

A change takes effect on every worker (this one included) at its next state reload, within
``reload_interval_s``: the workers pick it up from the configuration version in Redis. The
routes do not force a reload themselves, because a reload racing the periodic one can leave a
worker on the older state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from app.deps import AdminKey, ServicesDep
from app.routing import GuardedRoute
from domain.errors import Invalid
from experiments.lifecycle import Experiment
from experiments.models import ExperimentSpec, Status
from experiments.readout import ExperimentResults
from experiments.store import AuditEntry
from service.container import Services

router = APIRouter(prefix="/v1/experiments", tags=["experiments"], route_class=GuardedRoute)

ExperimentPath = Path(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$", description="Experiment id.")
IfMatch = Annotated[
    str,
    Header(
        alias="If-Match",
        pattern=r'^(W/)?"?[0-9]{1,18}"?$',
        description='Version the change is based on (e.g. `3` or the ETag `"3"`); '
        "a different current version is a 409.",
    ),
]
_CONFLICT: dict[int | str, Any] = {
    409: {"description": "Conflicts with the experiment's state or version"}
}


def _version(if_match: str) -> int | None:
    if not if_match:
        return None
    raw = if_match.strip().strip('"').removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise Invalid(f"If-Match must be an experiment version number, got {if_match!r}")
    return int(raw)


def _etag(response: Response, exp: Experiment) -> Experiment:
    response.headers["ETag"] = f'"{exp.version}"'
    return exp


@dataclass(frozen=True)
class _Write:
    """A change to one experiment: by whom, based on which version (``If-Match``, if sent)."""

    services: Services
    actor: str
    experiment_id: str
    expected_version: int | None
    response: Response

    def answer(self, exp: Experiment) -> Experiment:
        """``exp`` as the answer, with its version as the ETag."""
        return _etag(self.response, exp)


async def _write(
    services: ServicesDep,
    key: AdminKey,
    response: Response,
    if_match: IfMatch = "",
    experiment_id: str = ExperimentPath,
) -> _Write:
    return _Write(services, key.id, experiment_id, _version(if_match), response)


Write = Annotated[_Write, Depends(_write)]


@router.post("", response_model=Experiment, status_code=201, responses=_CONFLICT)
async def create_experiment(
    body: ExperimentSpec, services: ServicesDep, key: AdminKey, response: Response
) -> Experiment:
    """Create an experiment (as a draft). The first variant is the control."""
    exp = await services.experiments.create(body, key.id)
    response.headers["Location"] = f"/v1/experiments/{exp.id}"
    return _etag(response, exp)


@router.get("", response_model=list[Experiment])
async def list_experiments(
    services: ServicesDep,
    _key: AdminKey,
    status: Annotated[Status | None, Query(description="Only this status.")] = None,
) -> list[Experiment]:
    """Every experiment, oldest first."""
    return await services.experiments.list_experiments(status)


@router.get("/{experiment_id}", response_model=Experiment)
async def get_experiment(
    services: ServicesDep,
    _key: AdminKey,
    response: Response,
    experiment_id: str = ExperimentPath,
) -> Experiment:
    return _etag(response, await services.experiments.get(experiment_id))


@router.put("/{experiment_id}", response_model=Experiment, responses=_CONFLICT)
async def update_experiment(body: ExperimentSpec, write: Write) -> Experiment:
    """Replace the spec. Drafts may change freely; running/paused experiments keep their
    variant ids and order, seed and namespace; stopped ones are frozen."""
    exp = await write.services.experiments.update(
        write.experiment_id, body, write.actor, expected_version=write.expected_version
    )
    return write.answer(exp)


#: the status actions: ``POST .../<verb>`` -> (the status it sets, what it does)
STATUS_ACTIONS: dict[str, tuple[Status, str]] = {
    "start": ("running", "Draft -> running, or resume a paused experiment."),
    "pause": ("paused", "Running -> paused: users get the default strategy, nobody new enrols."),
    "stop": ("stopped", "Stop for good (stopped is final)."),
}


def _status_action(target: Status) -> Callable[..., Awaitable[Experiment]]:
    async def set_status(write: Write) -> Experiment:
        exp = await write.services.experiments.set_status(
            write.experiment_id, target, write.actor, expected_version=write.expected_version
        )
        return write.answer(exp)

    return set_status


for _verb, (_target, _what) in STATUS_ACTIONS.items():
    router.add_api_route(
        f"/{{experiment_id}}/{_verb}",
        _status_action(_target),
        methods=["POST"],
        name=f"{_verb}_experiment",
        description=_what,
        response_model=Experiment,
        responses=_CONFLICT,
    )


@router.get("/{experiment_id}/results", response_model=ExperimentResults)
async def experiment_results(
    services: ServicesDep,
    _key: AdminKey,
    experiment_id: str = ExperimentPath,
    source: Annotated[
        Literal["counters", "raw"],
        Query(
            description="counters (default): the live counters; raw: recomputed from the "
            "raw exposure/outcome log (a full scan, for audits)."
        ),
    ] = "counters",
) -> ExperimentResults:
    """Per arm: users, exposures, rates and value per user with 95 % intervals, lift vs
    control with its interval, p-value, probability to beat control; SRM and warnings."""
    return await services.experiments.results(experiment_id, source)


@router.get("/{experiment_id}/audit", response_model=list[AuditEntry])
async def experiment_audit(
    services: ServicesDep,
    _key: AdminKey,
    experiment_id: str = ExperimentPath,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[AuditEntry]:
    """Who changed what and when (API key id), oldest first."""
    return await services.experiments.audit(experiment_id, limit)
