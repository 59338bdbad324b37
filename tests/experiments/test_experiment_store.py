"""The experiment store against a real Redis: the compare-and-set configuration, the audit
trail, exposures (first writer wins), attributed outcomes, and the raw log they rebuild from.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from experiments.counters import ExposureRecord, OutcomeRecord, value_increment
from experiments.lifecycle import Experiment
from experiments.models import HOLDOUT, ExperimentSpec
from experiments.store import AuditEntry, Credit, ExperimentStore, ExposureWrite, arms_of
from experiments.user_records import recent_exposures

NOW = datetime(2026, 3, 1, tzinfo=UTC)
T0 = 1_800_000_000.0


def experiment(exp_id: str = "exp", **overrides: Any) -> Experiment:
    data: dict[str, Any] = {
        "id": exp_id,
        "primary_metric": "click",
        "variants": [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5}],
    }
    data.update(overrides)
    return Experiment.create(ExperimentSpec.model_validate(data), now=NOW)


def entry(action: Any, version: int) -> AuditEntry:
    return AuditEntry(ts=NOW, actor="key-1", action=action, version=version)


def exposure(arm: str, ts: float, request_id: str, exp_id: str = "exp") -> ExposureRecord:
    return ExposureRecord(
        request_id=request_id, user_id="p-1", experiment_id=exp_id, arm=arm, ts=ts
    )


def write(arm: str, ts: float, request_id: str, *, hashed: bool, previous: str) -> ExposureWrite:
    return ExposureWrite(
        namespace="ns", record=exposure(arm, ts, request_id), hashed=hashed, previous=previous
    )


# --------------------------------------------------------------------------- configuration


async def test_commit_is_a_compare_and_set_on_the_configuration_version(redis: Any) -> None:
    store = ExperimentStore(redis, prefix="t")
    assert await store.version() == 0
    draft = experiment()
    assert await store.commit(0, draft, entry("created", 1))
    assert await store.version() == 1
    # a writer that read version 0 lost the race: nothing is written
    assert not await store.commit(0, draft.with_status("running", NOW), entry("started", 2))
    assert (await store.get("exp")) == draft
    assert await store.active() == ()

    running = draft.with_status("running", NOW)
    assert await store.commit(1, running, entry("started", 2))
    version, experiments = await store.snapshot()
    assert version == 2 and experiments == {"exp": running}
    assert await store.active() == (running,)
    assert [e.action for e in await store.audit("exp")] == ["created", "started"]
    assert await store.get("missing") is None


async def test_the_audit_trail_keeps_the_newest_entries(redis: Any) -> None:
    store = ExperimentStore(redis, prefix="t", audit_maxlen=3)
    exp = experiment()
    for v in range(5):
        assert await store.commit(v, exp, entry("updated", v + 1))
    assert [e.version for e in await store.audit("exp")] == [3, 4, 5]
    assert [e.version for e in await store.audit("exp", limit=2)] == [4, 5]


async def test_an_unreadable_spec_is_skipped_not_fatal(redis: Any) -> None:
    store = ExperimentStore(redis, prefix="t")
    await store.commit(0, experiment("good"), entry("created", 1))
    await redis.hset(store.keys.specs, "bad", '{"id": "bad"}')
    assert [e.id for e in await store.all()] == ["good"]


def test_arms_include_the_holdout_only_when_there_is_one() -> None:
    assert arms_of(experiment()) == ["a", "b"]
    assert arms_of(experiment(holdout=10)) == ["a", "b", HOLDOUT]


# --------------------------------------------------------------------------- exposures


async def test_the_first_hash_assignment_wins_and_enrolls_once(redis: Any) -> None:
    store = ExperimentStore(redis, prefix="t")
    assert await store.expose("u1", [write("a", T0, "r1", hashed=True, previous="")]) == [True]
    # a concurrent decision that also saw no record loses: the user stays in arm a
    assert await store.expose("u1", [write("b", T0 + 1, "r2", hashed=True, previous="")]) == [False]
    # a sticky decision only adds an exposure
    assert await store.expose("u1", [write("a", T0 + 2, "r3", hashed=False, previous="")]) == [
        False
    ]
    record = (await store.user_records(["u1"]))["u1"]
    assert json.loads(record["ns"]) == {"experiment_id": "exp", "arm": "a", "ts": T0}
    # as the service reads them back (times are kept as decimal strings)
    assert recent_exposures(record)["exp"] == [
        ("r1", "a", T0),
        ("r2", "b", T0 + 1),
        ("r3", "a", T0 + 2),
    ]
    counters = await store.counters("exp", ["a", "b"])
    assert (counters["a"].users, counters["a"].exposures) == (1, 2)
    assert (counters["b"].users, counters["b"].exposures) == (0, 1)
    assert await store.expose("u1", []) == []


async def test_recent_exposures_are_bounded_by_count_and_window(redis: Any) -> None:
    store = ExperimentStore(redis, prefix="t", recent_per_user=2, attribution_window_s=100)
    for i, ts in enumerate((T0, T0 + 10, T0 + 20, T0 + 200)):
        await store.expose("u1", [write("a", ts, f"r{i}", hashed=False, previous="")])
    recent = recent_exposures((await store.user_records(["u1"]))["u1"])["exp"]
    assert recent == [("r3", "a", T0 + 200)]  # the others are older than the window
    await store.expose("u1", [write("a", T0 + 201, "r4", hashed=False, previous="")])
    await store.expose("u1", [write("a", T0 + 202, "r5", hashed=False, previous="")])
    recent = recent_exposures((await store.user_records(["u1"]))["u1"])["exp"]
    assert [r[0] for r in recent] == ["r4", "r5"]


# --------------------------------------------------------------------------- outcomes


async def test_outcomes_count_converters_once_and_value_moments(redis: Any) -> None:
    store = ExperimentStore(redis, prefix="t")
    await store.expose("u1", [write("a", T0, "r1", hashed=True, previous="")])
    outcomes = [
        OutcomeRecord(user_id="p-1", type="purchase", ts=T0 + 5, value=10.0, request_id="r1"),
        OutcomeRecord(user_id="p-1", type="purchase", ts=T0 + 9, value=4.0, request_id="r1"),
    ]
    for rec in outcomes:
        credit = Credit(experiment_id="exp", arm="a", user_id="u1", outcome=rec)
        await store.record_outcomes([credit], [("exp", rec)])
    a = (await store.counters("exp", ["a"]))["a"]
    assert a.converters == {"purchase": 1} and a.events == {"purchase": 2}
    first = value_increment(0.0, 10.0)
    second = value_increment(10.0, 4.0)
    assert a.value_sum == first[0] + second[0]
    assert a.value_sum_sq == first[1] + second[1]
    # the raw log holds the same records, and rebuilds the same counters
    exposures, logged = await store.raw_records("exp", page=1)
    assert exposures == [exposure("a", T0, "r1")] and logged == outcomes
    assert (await store.recompute("exp"))["a"].approx_equal(a)


async def test_logged_outcomes_without_credit_change_no_counter(redis: Any) -> None:
    store = ExperimentStore(redis, prefix="t")
    rec = OutcomeRecord(user_id="p-1", type="click", ts=T0)
    await store.record_outcomes([], [("exp", rec)])
    await store.record_outcomes([], [])
    assert await store.counters("exp", ["a", "b"]) == {}
    assert await store.raw_records("exp") == ([], [rec])
