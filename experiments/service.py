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

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import fields as dc_fields
from dataclasses import replace as dc_replace
from datetime import UTC, datetime
from typing import Any, Final, Literal

from context.store import PSEUDONYM_FIELD, UserSnapshot, new_pseudonym
from domain.errors import ExperimentError
from domain.events import Event
from experiments.assignment import Assignment, assign_user, check_namespace_capacity
from experiments.models import (
    EVENT_METRICS,
    RANKING_WEIGHT_NAMES,
    EventMetric,
    Experiment,
    ExperimentSpec,
    Status,
    StrategyParams,
)
from experiments.results import (
    ExperimentResults,
    ExposureRecord,
    OutcomeRecord,
    compute_results,
)
from experiments.store import (
    AuditAction,
    AuditEntry,
    Credit,
    ExperimentStore,
    ExposureWrite,
    arms_of,
)
from recommender.pipeline import Strategy, Treatment
from recommender.schemas import ExperimentOut, RecommendRequest, RecommendResponse
from recommender.scoring import TERMS
from recommender.state import LiveState

log = logging.getLogger("waypoint.experiments")

#: ranking weights the ranker has a score term for (``propensity`` is not scored yet)
SUPPORTED_WEIGHTS: Final[tuple[str, ...]] = tuple(n for n in RANKING_WEIGHT_NAMES if n in TERMS)
#: scalar strategy parameters the pipeline's ``Strategy`` carries (applied per request)
STRATEGY_FIELDS: Final[frozenset[str]] = frozenset(f.name for f in dc_fields(Strategy))
_WHY_UNSUPPORTED: Final[dict[str, str]] = {
    "exploration_rate": "the ranker has no exploration step yet",
    "intent_model_version": "one intent model serves all traffic; per-request versions are "
    "not loaded",
    "filter_strictness": "the intent filter is always strict; a relaxed mode does not exist yet",
    "diversity": "the ranker has no diversity constraint",
}
#: strategy parameters the pipeline cannot apply per request yet, refused at creation
UNSUPPORTED_PARAMS: Final[dict[str, str]] = {
    k: v for k, v in _WHY_UNSUPPORTED.items() if k not in STRATEGY_FIELDS
}
_METRIC: Final[dict[str, EventMetric]] = {m: m for m in EVENT_METRICS}
ResultsSource = Literal["counters", "raw"]


# --------------------------------------------------------------------------- strategy params


def unsupported_params(spec: ExperimentSpec) -> list[str]:
    """Paths of the variant parameters the ranker cannot apply (empty = all supported)."""
    problems: list[str] = []
    for v in spec.variants:
        for name, value in v.params.overrides().items():
            if name in UNSUPPORTED_PARAMS:
                problems.append(f"variants.{v.id}.params.{name} ({UNSUPPORTED_PARAMS[name]})")
            elif name == "ranking_weights":
                problems += [
                    f"variants.{v.id}.params.ranking_weights.{w} (no such score term yet)"
                    for w in value
                    if w not in SUPPORTED_WEIGHTS
                ]
    return problems


def check_supported(spec: ExperimentSpec) -> None:
    problems = unsupported_params(spec)
    if problems:
        raise ExperimentError(
            "strategy parameter(s) not supported yet: "
            + "; ".join(problems)
            + ". Supported: ranking_weights ("
            + ", ".join(SUPPORTED_WEIGHTS)
            + ")"
            + "".join(f", {p}" for p in sorted(set(_WHY_UNSUPPORTED) - set(UNSUPPORTED_PARAMS))),
            status_code=422,
        )


def varied_params(exp: ExperimentSpec) -> set[str]:
    """Parameters any variant of ``exp`` overrides (``ranking_weights.<name>`` per weight)."""
    out: set[str] = set()
    for v in exp.variants:
        for name, value in v.params.overrides().items():
            if name == "ranking_weights":
                out.update(f"ranking_weights.{w}" for w in value)
            else:
                out.add(name)
    return out


def check_layers(experiments: Iterable[Experiment], candidate: Experiment) -> None:
    """Experiments of different namespaces overlap on users, so they must vary different
    parameters, or one would silently overwrite the other's treatment. Raise 409 otherwise."""
    mine = varied_params(candidate)
    for other in experiments:
        if other.id == candidate.id or not other.is_active:
            continue
        if other.namespace == candidate.namespace:
            continue
        shared = sorted(mine & varied_params(other))
        if shared:
            raise ExperimentError(
                f"{candidate.id} and the active experiment {other.id} (namespace "
                f"{other.namespace!r}) both vary {', '.join(shared)}; users can be in both, so "
                f"put them in the same namespace (mutually exclusive) or vary other parameters"
            )


def apply_params(params: StrategyParams, base: Strategy) -> Strategy:
    """The strategy ``base`` with a variant's overrides applied (weights are multipliers)."""
    updates: dict[str, Any] = {
        name: value
        for name, value in params.overrides().items()
        if name != "ranking_weights" and name in STRATEGY_FIELDS
    }
    if params.ranking_weights:
        updates["weights"] = base.weights.replace(
            {name: getattr(base.weights, name) * m for name, m in params.ranking_weights.items()}
        )
    return dc_replace(base, **updates)


# --------------------------------------------------------------------------- per request


@dataclass(frozen=True)
class Served:
    """What ``treatment`` decided, handed back to ``exposed`` through ``Treatment.detail``."""

    user_id: str
    assignments: tuple[Assignment, ...]
    previous: Mapping[str, str]
    """Namespace -> raw sticky value the decision saw (replaced only if still the same)."""
    pseudonym: str
    """What the raw log calls the user (never the user id: erasure must unlink it)."""


def sticky_records(raw: Mapping[str, str]) -> dict[str, Assignment]:
    """The user's sticky assignments from the ``exp`` hash (unreadable records are skipped)."""
    out: dict[str, Assignment] = {}
    for field, value in raw.items():
        if ":" in field:
            continue  # attribution fields
        try:
            data = json.loads(value)
            out[field] = Assignment(
                experiment_id=str(data["experiment_id"]),
                namespace=field,
                arm=str(data["arm"]),
                source="sticky",
            )
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable sticky assignment in namespace %s ignored", field)
    return out


def targeting_inputs(
    req: RecommendRequest, user: UserSnapshot
) -> tuple[dict[str, Any], dict[str, Any]]:
    attrs = user.profile.attributes
    context = {
        "channel": req.context.channel,
        "language": req.context.language,
        "country": req.context.country or user.journey.country,
    }
    profile = {
        "country": attrs.get("country"),
        "language": attrs.get("language"),
        "segments": list(user.profile.segments),
    }
    return context, profile


def recent_exposures(raw: Mapping[str, str]) -> dict[str, list[tuple[str, str, float]]]:
    """Experiment id -> the user's recent ``(request_id, arm, ts)`` exposures, oldest first."""
    out: dict[str, list[tuple[str, str, float]]] = {}
    for field, value in raw.items():
        if not field.startswith("x:"):
            continue
        try:
            entries = [(str(r), str(a), float(t)) for r, a, t in json.loads(value)]
        except (ValueError, TypeError):
            continue
        out[field[2:]] = sorted(entries, key=lambda e: e[2])
    return out


def attribute(
    rec: OutcomeRecord, history: Sequence[tuple[str, str, float]], window_s: float
) -> str | None:
    """The arm credited with ``rec`` (same rule as :func:`experiments.results.recompute_counters`):
    the exposure whose request id the outcome carries, else the latest exposure at or before it;
    nothing if that exposure is more than ``window_s`` older than the outcome."""
    hit: tuple[str, float] | None = None
    if rec.request_id is not None:
        hit = next(((arm, ts) for rid, arm, ts in history if rid == rec.request_id), None)
    if hit is None:
        for _rid, arm, ts in history:
            if ts > rec.ts:
                break
            hit = (arm, ts)
    if hit is None or rec.ts - hit[1] > window_s:
        return None
    return hit[0]


# --------------------------------------------------------------------------- audit diffs


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{path}.{k}" if path else str(k), out)
    elif (
        isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value)
    ):
        for v in value:
            _flatten({k: x for k, x in v.items() if k != "id"}, f"{path}.{v['id']}", out)
    else:
        out[path] = value


def spec_changes(old: ExperimentSpec | None, new: ExperimentSpec) -> dict[str, list[Any]]:
    """Dotted path -> ``[old, new]`` for every spec field that differs."""
    fields = set(ExperimentSpec.model_fields)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if old is not None:
        _flatten(old.model_dump(mode="json", include=fields), "", before)
    _flatten(new.model_dump(mode="json", include=fields), "", after)
    if old is not None:
        # variant order is meaningful (the first is the control)
        before["variant_order"] = [v.id for v in old.variants]
    after["variant_order"] = [v.id for v in new.variants]
    return {
        k: [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }


# --------------------------------------------------------------------------- the service


Build = Callable[[dict[str, Experiment]], tuple[Experiment, AuditEntry | None]]


class ExperimentService:
    def __init__(self, store: ExperimentStore, *, max_retries: int = 5) -> None:
        self.store = store
        self.max_retries = max_retries

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
        if not outcomes:
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
    def _existing(experiments: Mapping[str, Experiment], experiment_id: str) -> Experiment:
        exp = experiments.get(experiment_id)
        if exp is None:
            raise ExperimentError(f"no experiment {experiment_id!r}", status_code=404)
        return exp

    @staticmethod
    def _check_version(exp: Experiment, expected: int | None) -> None:
        if expected is not None and exp.version != expected:
            raise ExperimentError(
                f"experiment {exp.id!r} changed since you read it (it is at version "
                f"{exp.version}, you sent {expected}); reload it and apply your change again"
            )

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
            entry = AuditEntry(
                ts=exp.created_at,
                actor=actor,
                action="created",
                version=exp.version,
                changes=spec_changes(None, spec),
            )
            return exp, entry

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
            old = self._existing(experiments, experiment_id)
            self._check_version(old, expected_version)
            changes = spec_changes(old.spec, spec)
            new = old.with_spec(spec, now)  # check_update: what may change while running
            if not changes:
                return old, None
            if new.is_active:
                check_namespace_capacity(experiments.values(), new)
                check_layers(experiments.values(), new)
            entry = AuditEntry(
                ts=new.updated_at,
                actor=actor,
                action="updated",
                version=new.version,
                changes=changes,
            )
            return new, entry

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
            old = self._existing(experiments, experiment_id)
            self._check_version(old, expected_version)
            new = old.with_status(target, now or datetime.now(UTC))
            if target == "running":
                check_namespace_capacity(experiments.values(), new)
                check_layers(experiments.values(), new)
            action: AuditAction = target if target in ("paused", "stopped") else "started"
            if target == "running" and old.status == "paused":
                action = "resumed"
            changes: dict[str, list[Any]] = {"status": [old.status, new.status]}
            if new.started_at is not None and old.started_at is None:
                changes["started_at"] = [None, new.started_at.isoformat()]
            entry = AuditEntry(
                ts=new.updated_at, actor=actor, action=action, version=new.version, changes=changes
            )
            return new, entry

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
