"""Experiments inside the decision API: configuration, assignment per request, exposures,
outcome attribution and read-outs.

:class:`ExperimentService` is three things at once:

* the :class:`recommender.pipeline.TreatmentPolicy` of the recommender: ``treatment`` picks the
  strategy of a request (pure: live state + the user's sticky records), ``exposed`` logs the
  decision once it was served;
* an :class:`context.ingest.EventObserver`: ``on_events`` credits click/accept/purchase events
  to the decision they came from;
* the domain side of ``/v1/experiments``: create, update, status changes, audit, results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal

from context.store import PSEUDONYM_FIELD, UserSnapshot, new_pseudonym
from domain.errors import ExperimentError
from domain.events import Event
from experiments.assignment import assign_user, check_namespace_capacity
from experiments.counters import ExposureRecord, OutcomeRecord
from experiments.lifecycle import Experiment, spec_changes
from experiments.models import EVENT_METRICS, EventMetric, ExperimentSpec, Status
from experiments.params import apply_params, check_layers, check_supported
from experiments.readout import ExperimentResults, compute_results
from experiments.store import (
    AuditAction,
    AuditEntry,
    Credit,
    ExperimentStore,
    ExposureWrite,
    arms_of,
)
from experiments.user_records import (
    Served,
    attribute,
    recent_exposures,
    sticky_records,
    targeting_inputs,
)
from recommender.pipeline import Strategy, Treatment
from recommender.schemas import ExperimentOut, RecommendRequest, RecommendResponse
from recommender.state import LiveState

_METRIC: Final[dict[str, EventMetric]] = {m: m for m in EVENT_METRICS}
ResultsSource = Literal["counters", "raw"]


Build = Callable[[dict[str, Experiment]], tuple[Experiment, AuditEntry | None]]


def audit_entry(
    exp: Experiment, actor: str, action: AuditAction, changes: dict[str, list[Any]]
) -> AuditEntry:
    """The audit record of a change that produced ``exp``."""
    return AuditEntry(
        ts=exp.updated_at, actor=actor, action=action, version=exp.version, changes=changes
    )


class ExperimentService:
    def __init__(self, store: ExperimentStore, *, max_retries: int = 5) -> None:
        self.store = store
        self.max_retries = max_retries
        #: an experiment was seen to exist (they are never deleted): stop asking
        self._any_experiment = False

    @property
    def window_s(self) -> float:
        return self.store.window

    # ---------------------------------------------------------------- TreatmentPolicy

    def treatment(self, req: RecommendRequest, user: UserSnapshot, state: LiveState) -> Treatment:
        experiments = [e for e in state.experiments if isinstance(e, Experiment)]
        if not experiments:
            return Treatment()
        sticky = sticky_records(user.experiments)
        context, profile = targeting_inputs(req, user)
        assignments = assign_user(experiments, req.user_id, context, profile, sticky)
        if not assignments:
            return Treatment()
        strategy = Strategy()
        for a in assignments:
            strategy = apply_params(a.params, strategy)
        first = assignments[0]
        previous = {
            a.namespace: user.experiments.get(a.namespace, "")
            for a in assignments
            if a.source == "hash"
        }
        return Treatment(
            strategy=strategy,
            experiment=ExperimentOut(id=first.experiment_id, variant=first.arm),
            detail=Served(req.user_id, tuple(assignments), previous, user.pseudonym),
        )

    async def exposed(
        self, req: RecommendRequest, answer: RecommendResponse, treatment: Treatment, now: float
    ) -> None:
        served = treatment.detail
        if not isinstance(served, Served) or not served.assignments:
            return
        writes = [
            ExposureWrite(
                namespace=a.namespace,
                record=ExposureRecord(
                    request_id=answer.request_id,
                    user_id=served.pseudonym,
                    experiment_id=a.experiment_id,
                    arm=a.arm,
                    ts=now,
                ),
                hashed=a.source == "hash",
                previous=served.previous.get(a.namespace, ""),
            )
            for a in served.assignments
        ]
        await self.store.expose(served.user_id, writes)

    # ---------------------------------------------------------------- EventObserver

    async def on_events(self, accepted: Sequence[Event], now: float) -> None:
        outcomes = [
            OutcomeRecord(
                user_id=e.user_id,
                type=_METRIC[e.type],
                ts=e.timestamp(now),
                value=e.value or 0.0,
                request_id=e.request_id,
            )
            for e in accepted
            if e.type in _METRIC
        ]
        if not outcomes or not await self._experiments_exist():
            return
        records = await self.store.user_records(o.user_id for o in outcomes)
        credits: list[Credit] = []
        logged: list[tuple[str, OutcomeRecord]] = []
        for rec in outcomes:
            user = records[rec.user_id]
            # the raw log names the user by pseudonym, like the exposures (see Served)
            logged_rec = rec.model_copy(
                update={"user_id": user.get(PSEUDONYM_FIELD) or new_pseudonym()}
            )
            for experiment_id, history in recent_exposures(user).items():
                logged.append((experiment_id, logged_rec))
                arm = attribute(rec, history, self.window_s)
                if arm is not None:
                    credits.append(Credit(experiment_id, arm, rec.user_id, rec))
        await self.store.record_outcomes(credits, logged)

    async def _experiments_exist(self) -> bool:
        """Without any experiment no user has exposures: a batch's outcomes credit nothing,
        so its users' records are not read (one ``EXISTS``, not one ``HGETALL`` per user)."""
        if not self._any_experiment:
            self._any_experiment = await self.store.any_experiment()
        return self._any_experiment

    # ---------------------------------------------------------------- configuration

    async def _commit(self, build: Build) -> Experiment:
        for _ in range(self.max_retries):
            version, experiments = await self.store.snapshot()
            experiment, entry = build(experiments)
            if entry is None:
                return experiment
            if await self.store.commit(version, experiment, entry):
                return experiment
        raise ExperimentError(
            "the experiment configuration kept changing while this change was applied; retry"
        )

    @staticmethod
    def _existing(
        experiments: Mapping[str, Experiment], experiment_id: str, expected: int | None
    ) -> Experiment:
        """The experiment a change applies to, at the version the caller read (if given)."""
        exp = experiments.get(experiment_id)
        if exp is None:
            raise ExperimentError(f"no experiment {experiment_id!r}", status_code=404)
        if expected is not None and exp.version != expected:
            raise ExperimentError(
                f"experiment {exp.id!r} changed since you read it (it is at version "
                f"{exp.version}, you sent {expected}); reload it and apply your change again"
            )
        return exp

    @staticmethod
    def _check_room(experiments: Mapping[str, Experiment], new: Experiment) -> None:
        """An experiment about to run fits its namespace and its layer."""
        check_namespace_capacity(experiments.values(), new)
        check_layers(experiments.values(), new)

    async def create(
        self, spec: ExperimentSpec, actor: str, now: datetime | None = None
    ) -> Experiment:
        check_supported(spec)

        def build(experiments: dict[str, Experiment]) -> tuple[Experiment, AuditEntry | None]:
            if spec.id in experiments:
                raise ExperimentError(
                    f"experiment {spec.id!r} already exists; ids are never reused"
                )
            exp = Experiment.create(spec, now)
            return exp, audit_entry(exp, actor, "created", spec_changes(None, spec))

        return await self._commit(build)

    async def update(
        self,
        experiment_id: str,
        spec: ExperimentSpec,
        actor: str,
        *,
        expected_version: int | None = None,
        now: datetime | None = None,
    ) -> Experiment:
        check_supported(spec)

        def build(experiments: dict[str, Experiment]) -> tuple[Experiment, AuditEntry | None]:
            old = self._existing(experiments, experiment_id, expected_version)
            changes = spec_changes(old.spec, spec)
            new = old.with_spec(spec, now)  # check_update: what may change while running
            if not changes:
                return old, None
            if new.is_active:
                self._check_room(experiments, new)
            return new, audit_entry(new, actor, "updated", changes)

        return await self._commit(build)

    async def set_status(
        self,
        experiment_id: str,
        target: Status,
        actor: str,
        *,
        expected_version: int | None = None,
        now: datetime | None = None,
    ) -> Experiment:
        def build(experiments: dict[str, Experiment]) -> tuple[Experiment, AuditEntry | None]:
            old = self._existing(experiments, experiment_id, expected_version)
            new = old.with_status(target, now or datetime.now(UTC))
            if target == "running":
                self._check_room(experiments, new)
            action: AuditAction = target if target in ("paused", "stopped") else "started"
            if target == "running" and old.status == "paused":
                action = "resumed"
            changes: dict[str, list[Any]] = {"status": [old.status, new.status]}
            if new.started_at is not None and old.started_at is None:
                changes["started_at"] = [None, new.started_at.isoformat()]
            return new, audit_entry(new, actor, action, changes)

        return await self._commit(build)

    async def get(self, experiment_id: str) -> Experiment:
        exp = await self.store.get(experiment_id)
        if exp is None:
            raise ExperimentError(f"no experiment {experiment_id!r}", status_code=404)
        return exp

    async def list_experiments(self, status: Status | None = None) -> list[Experiment]:
        return [e for e in await self.store.all() if status is None or e.status == status]

    async def audit(self, experiment_id: str, limit: int = 1000) -> list[AuditEntry]:
        await self.get(experiment_id)
        return await self.store.audit(experiment_id, limit)

    async def results(
        self, experiment_id: str, source: ResultsSource = "counters"
    ) -> ExperimentResults:
        """Read-out from the live counters (cheap, the default) or recomputed from the raw
        records still in the experiment's log (``raw``: a full scan, for audits)."""
        exp = await self.get(experiment_id)
        if source == "raw":
            counters = await self.store.recompute(experiment_id)
        else:
            counters = await self.store.counters(experiment_id, arms_of(exp))
        return compute_results(exp, counters)
