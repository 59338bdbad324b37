"""An experiment's life: status changes, the stored experiment, and the rules and audit diff
of an edit.

Pure like :mod:`experiments.models` (no I/O): rule violations raise
:class:`domain.errors.ExperimentError`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final

from pydantic import (
    Field,
)

from domain.errors import ExperimentError
from experiments.models import ExperimentSpec, Status

_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "draft": frozenset({"running", "stopped"}),
    "running": frozenset({"paused", "stopped"}),
    "paused": frozenset({"running", "stopped"}),
    "stopped": frozenset(),
}


def transition(current: Status, target: Status) -> Status:
    """Validate a status change and return ``target``.

    Allowed: draft -> running, running <-> paused, and any non-stopped status -> stopped.
    ``stopped`` is terminal. Raises :class:`ExperimentError` (409) otherwise.
    """
    if target not in _TRANSITIONS:
        raise ExperimentError(
            f"unknown status {target!r}; expected one of {', '.join(_TRANSITIONS)}", 422
        )
    if current == target:
        raise ExperimentError(f"experiment is already {current}")
    if target not in _TRANSITIONS[current]:
        if current == "stopped":
            raise ExperimentError("experiment is stopped; stopped is final, create a new one")
        allowed = ", ".join(sorted(_TRANSITIONS[current]))
        raise ExperimentError(
            f"cannot go from {current} to {target}; from {current} you may go to: {allowed}"
        )
    return target


def _now() -> datetime:
    return datetime.now(UTC)


class Experiment(ExperimentSpec):
    """A stored experiment: the spec plus lifecycle bookkeeping.

    ``started_at`` is set the first time it enters ``running`` and never changes afterwards;
    it orders experiments inside a namespace (see :mod:`experiments.assignment`).
    ``version`` increases by one on every change (for optimistic concurrency in the store).
    """

    status: Status = "draft"
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    started_at: datetime | None = None
    version: Annotated[int, Field(ge=1)] = 1

    @classmethod
    def create(cls, spec: ExperimentSpec, now: datetime | None = None) -> Experiment:
        ts = now or _now()
        return cls(**spec.model_dump(), status="draft", created_at=ts, updated_at=ts, version=1)

    @property
    def spec(self) -> ExperimentSpec:
        return ExperimentSpec(**self.model_dump(include=set(ExperimentSpec.model_fields)))

    @property
    def is_active(self) -> bool:
        """Running or paused: it holds its slice of the namespace and its sticky users."""
        return self.status in ("running", "paused")

    def with_status(self, target: Status, now: datetime | None = None) -> Experiment:
        """A copy moved to ``target`` (validated by :func:`transition`), version bumped."""
        ts = now or _now()
        new_status = transition(self.status, target)
        started = self.started_at or (ts if new_status == "running" else None)
        return self.model_copy(
            update={
                "status": new_status,
                "updated_at": ts,
                "started_at": started,
                "version": self.version + 1,
            }
        )

    def with_spec(self, spec: ExperimentSpec, now: datetime | None = None) -> Experiment:
        """A copy carrying the edited ``spec`` (checked by :func:`check_update`), version bumped."""
        check_update(self, spec)
        ts = now or _now()
        return Experiment(
            **spec.model_dump(),
            status=self.status,
            created_at=self.created_at,
            updated_at=ts,
            started_at=self.started_at,
            version=self.version + 1,
        )


def check_update(old: Experiment, new: ExperimentSpec) -> None:
    """Refuse edits that would break assignment or analysis of users already enrolled.

    Drafts may change freely (except the id). Stopped experiments are frozen. For running
    and paused experiments the ordered list of variant ids (so also the control), the seed
    and the namespace are fixed; weights, coverage, holdout, targeting, texts, metrics and
    variant params may change. Sticky assignments keep already-enrolled users in their arm,
    so weight/coverage changes only affect users who arrive afterwards.
    """
    if new.id != old.id:
        raise ExperimentError(
            f"experiment id cannot change (was {old.id!r}, got {new.id!r})", status_code=422
        )
    if old.status == "draft":
        return
    if old.status == "stopped":
        raise ExperimentError(f"experiment {old.id!r} is stopped and can no longer be edited")
    problems: list[str] = []
    old_ids, new_ids = old.variant_ids, new.variant_ids
    if old_ids != new_ids:
        removed = [i for i in old_ids if i not in new_ids]
        added = [i for i in new_ids if i not in old_ids]
        if removed:
            problems.append(f"variant(s) {', '.join(removed)} would be removed or renamed")
        if added:
            problems.append(f"variant(s) {', '.join(added)} would be added")
        if not removed and not added:
            problems.append(
                f"variant order would change ({', '.join(old_ids)} -> {', '.join(new_ids)}); "
                "the first variant is the control"
            )
    if new.seed != old.seed:
        problems.append(f"seed would change ({old.seed} -> {new.seed})")
    if new.namespace != old.namespace:
        problems.append(f"namespace would change ({old.namespace!r} -> {new.namespace!r})")
    if problems:
        raise ExperimentError(
            f"cannot edit {old.status} experiment {old.id!r}: "
            + "; ".join(problems)
            + ". That would re-assign enrolled users; stop it and start a new experiment instead."
        )


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
