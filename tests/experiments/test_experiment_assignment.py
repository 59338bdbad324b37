"""Deterministic hashing, coverage/variant independence, namespaces, stickiness, targeting."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from scipy import stats

from domain.errors import ExperimentError
from experiments.assignment import (
    Assignment,
    assign,
    assign_in_namespace,
    assign_user,
    bucket,
    check_namespace_capacity,
    choose_arm,
    matches_targeting,
    namespace_layout,
    namespace_position,
)
from experiments.lifecycle import Experiment
from experiments.models import HOLDOUT, ExperimentSpec, Targeting

T0 = datetime(2026, 3, 1, tzinfo=UTC)
USERS = [f"user-{i}" for i in range(20_000)]
NO_CONTEXT: dict[str, Any] = {}


def experiment(
    exp_id: str = "exp-a",
    *,
    weights: tuple[float, ...] = (0.5, 0.5),
    status: str = "running",
    started: int = 0,
    **overrides: Any,
) -> Experiment:
    spec = ExperimentSpec.model_validate(
        {
            "id": exp_id,
            "primary_metric": "click",
            "variants": [{"id": f"v{i}", "weight": w} for i, w in enumerate(weights)],
            **overrides,
        }
    )
    exp = Experiment.create(spec, now=T0)
    if status == "draft":
        return exp
    exp = exp.with_status("running", now=T0 + timedelta(hours=started))
    if status == "paused":
        exp = exp.with_status("paused")
    elif status == "stopped":
        exp = exp.with_status("stopped")
    return exp


# --------------------------------------------------------------------------- hashing


def test_bucket_is_deterministic_and_pinned() -> None:
    # Pinned values: if these change, every running experiment would reshuffle its users.
    assert bucket(42, "user-1") == 0.7830724764887529
    assert namespace_position("default", "user-1") == 0.5338304967925992
    assert bucket(42, "user-1") == bucket("42", "user-1")
    assert bucket(42, "user-1") != bucket(43, "user-1")


def test_bucket_is_uniform() -> None:
    values = np.array([bucket(7, u) for u in USERS])
    assert values.min() >= 0.0 and values.max() < 1.0
    counts, _ = np.histogram(values, bins=20, range=(0.0, 1.0))
    assert stats.chisquare(counts).pvalue > 0.001
    assert stats.kstest(values, "uniform").pvalue > 0.001


def test_variant_split_follows_weights() -> None:
    exp = experiment(weights=(0.4, 0.3, 0.2, 0.1))
    counts = Counter(choose_arm(exp, u) for u in USERS)
    observed = [counts[f"v{i}"] for i in range(4)]
    expected = [0.4 * len(USERS), 0.3 * len(USERS), 0.2 * len(USERS), 0.1 * len(USERS)]
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_assignment_is_deterministic() -> None:
    exp = experiment(coverage=50)
    first = [assign(exp, u) for u in USERS[:2000]]
    again = [assign(exp, u) for u in USERS[:2000]]
    assert first == again
    # a freshly built copy of the same spec gives the same answers (no process state)
    assert [assign(experiment(coverage=50), u) for u in USERS[:2000]] == first


def test_only_running_experiments_assign() -> None:
    for status in ("draft", "paused", "stopped"):
        exp = experiment(status=status)
        assert all(assign(exp, u) is None for u in USERS[:200])


# --------------------------------------------------------------------------- coverage / holdout


def test_raising_coverage_keeps_everyone_in_place() -> None:
    low, high = experiment(coverage=20), experiment(coverage=60)
    before = {u: assign(low, u) for u in USERS}
    after = {u: assign(high, u) for u in USERS}
    kept = [u for u, a in before.items() if a is not None]
    assert all(after[u] == before[u] for u in kept)  # same arm, nobody dropped
    assert len(kept) / len(USERS) == pytest.approx(0.20, abs=0.01)
    covered = sum(a is not None for a in after.values()) / len(USERS)
    assert covered == pytest.approx(0.60, abs=0.01)
    # newcomers are split by the weights, not biased by where they sit in the coverage range
    newcomers = Counter(a.arm for u, a in after.items() if a is not None and before[u] is None)
    assert stats.chisquare([newcomers["v0"], newcomers["v1"]]).pvalue > 0.001


def test_coverage_and_variant_draws_are_independent() -> None:
    exp = experiment(coverage=100)
    pos = np.array([namespace_position(exp.namespace, u) for u in USERS])
    var = np.array([bucket(exp.seed, u) for u in USERS])
    assert abs(stats.spearmanr(pos, var).statistic) < 0.03


def test_holdout_share_and_independence_from_variants() -> None:
    base, with_holdout = experiment(), experiment(holdout=20)
    arms = Counter(a.arm for u in USERS if (a := assign(with_holdout, u)))
    assert arms[HOLDOUT] / len(USERS) == pytest.approx(0.20, abs=0.01)
    # users not held out keep exactly the arm they would have had without a holdout
    for u in USERS[:3000]:
        a = assign(with_holdout, u)
        assert a is not None
        if not a.is_holdout:
            assert a == assign(base, u)
        else:
            assert a.params.overrides() == {} and a.variant_id is None


# --------------------------------------------------------------------------- namespaces


def test_namespace_exclusivity_and_layers() -> None:
    ranking = [
        experiment("rank-a", coverage=30, namespace="ranking", started=0),
        experiment("rank-b", coverage=30, namespace="ranking", started=1),
        experiment("rank-c", coverage=40, namespace="ranking", started=2),
    ]
    ui = experiment("ui-a", coverage=50, namespace="ui")
    all_exps = [*ranking, ui]
    per_exp: Counter[str] = Counter()
    both = 0
    for u in USERS:
        got = assign_user(all_exps, u, NO_CONTEXT, {})
        in_ranking = [a for a in got if a.namespace == "ranking"]
        assert len(in_ranking) <= 1  # mutually exclusive inside the namespace
        per_exp.update(a.experiment_id for a in got)
        both += len(in_ranking) == 1 and any(a.namespace == "ui" for a in got)
    n = len(USERS)
    assert per_exp["rank-a"] / n == pytest.approx(0.30, abs=0.015)
    assert per_exp["rank-b"] / n == pytest.approx(0.30, abs=0.015)
    assert per_exp["rank-c"] / n == pytest.approx(0.40, abs=0.015)
    assert per_exp["ui-a"] / n == pytest.approx(0.50, abs=0.015)
    # independent layers: ranking covers 100 %, so half of everyone is in both
    assert both / n == pytest.approx(0.50, abs=0.015)


def test_layout_orders_by_start_and_skips_inactive() -> None:
    exps = [
        experiment("zeta", coverage=10, namespace="ns", started=0),
        experiment("alpha", coverage=20, namespace="ns", started=5),
        experiment("draft", coverage=30, namespace="ns", status="draft"),
        experiment("gone", coverage=30, namespace="ns", status="stopped"),
        experiment("paused", coverage=25, namespace="ns", status="paused", started=9),
        experiment("elsewhere", coverage=50, namespace="other"),
    ]
    slots = namespace_layout(exps, "ns")
    assert [s.experiment_id for s in slots] == ["zeta", "alpha", "paused"]
    bounds = [b for s in slots for b in (s.start, s.end)]
    assert bounds == pytest.approx([0.0, 0.1, 0.1, 0.3, 0.3, 0.55])


def test_starting_a_new_experiment_moves_nobody() -> None:
    a = experiment("exp-a", coverage=40, namespace="ns", started=0)
    b = experiment("exp-b", coverage=30, namespace="ns", started=1)
    late = experiment("aaa-late", coverage=30, namespace="ns", started=2)  # id sorts first
    before = {u: assign_in_namespace([a, b], "ns", u, NO_CONTEXT, {}) for u in USERS[:5000]}
    after = {u: assign_in_namespace([a, b, late], "ns", u, NO_CONTEXT, {}) for u in USERS[:5000]}
    for u, got in before.items():
        if got is not None:
            assert after[u] == got
    assert any(x is not None and x.experiment_id == "aaa-late" for x in after.values())


def test_sticky_record_keeps_users_when_slices_move() -> None:
    a = experiment("exp-a", coverage=40, namespace="ns", started=0)
    b = experiment("exp-b", coverage=30, namespace="ns", started=1)
    store: dict[str, Assignment] = {}
    for u in USERS[:5000]:
        got = assign_in_namespace([a, b], "ns", u, NO_CONTEXT, {})
        if got is not None:
            store[u] = got
    # exp-a stops: exp-b's slice slides to [0, 0.3); its enrolled users must stay in exp-b
    a_stopped = a.with_status("stopped")
    moved = 0
    for u, stored in store.items():
        if stored.experiment_id != "exp-b":
            continue
        fresh = assign_in_namespace([a_stopped, b], "ns", u, NO_CONTEXT, {})
        sticky = assign_in_namespace([a_stopped, b], "ns", u, NO_CONTEXT, {}, sticky=stored)
        assert sticky is not None and sticky.source == "sticky"
        assert (sticky.experiment_id, sticky.arm) == ("exp-b", stored.arm)
        moved += fresh is None or fresh.arm != stored.arm
    assert moved > 0  # without the sticky record, users would have been reshuffled
    # exp-a's former users are free again: their stale record is ignored
    former_a = next(u for u, s in store.items() if s.experiment_id == "exp-a")
    again = assign_in_namespace([a_stopped, b], "ns", former_a, NO_CONTEXT, {}, store[former_a])
    assert again is None or again.experiment_id == "exp-b"


def test_sticky_survives_weight_change() -> None:
    old = experiment(weights=(0.5, 0.5))
    new = old.with_spec(
        ExperimentSpec.model_validate(
            {
                **old.spec.model_dump(),
                "variants": [{"id": "v0", "weight": 0.1}, {"id": "v1", "weight": 0.9}],
            }
        )
    )
    changed = 0
    for u in USERS[:2000]:
        stored = assign_in_namespace([old], old.namespace, u, NO_CONTEXT, {})
        assert stored is not None
        got = assign_in_namespace([new], new.namespace, u, NO_CONTEXT, {}, sticky=stored)
        assert got is not None and got.arm == stored.arm
        fresh = assign_in_namespace([new], new.namespace, u, NO_CONTEXT, {})
        changed += fresh is not None and fresh.arm != stored.arm
    assert changed > 0


def test_paused_experiment_keeps_its_users_and_slice() -> None:
    a = experiment("exp-a", coverage=50, namespace="ns", started=0)
    b = experiment("exp-b", coverage=50, namespace="ns", started=1)
    enrolled = {u: assign_in_namespace([a, b], "ns", u, NO_CONTEXT, {}) for u in USERS[:2000]}
    a_paused = a.with_status("paused")
    for u, stored in enrolled.items():
        assert stored is not None
        got = assign_in_namespace([a_paused, b], "ns", u, NO_CONTEXT, {}, sticky=stored)
        if stored.experiment_id == "exp-a":
            assert got is None  # default strategy while paused, not handed to exp-b
            resumed = a_paused.with_status("running")
            back = assign_in_namespace([resumed, b], "ns", u, NO_CONTEXT, {}, sticky=stored)
            assert back is not None and back.arm == stored.arm
        else:
            assert got is not None and got.experiment_id == "exp-b"


def test_namespace_capacity() -> None:
    a = experiment("exp-a", coverage=60, namespace="ns")
    check_namespace_capacity([a], experiment("exp-b", coverage=40, namespace="ns"))
    check_namespace_capacity([a], experiment("exp-c", coverage=90, namespace="other"))
    with pytest.raises(ExperimentError) as exc:
        check_namespace_capacity([a], experiment("exp-b", coverage=50, namespace="ns"))
    assert exc.value.status_code == 409 and "40 % is free" in exc.value.detail
    # editing the experiment itself does not count it twice
    check_namespace_capacity([a], experiment("exp-a", coverage=100, namespace="ns"))


# --------------------------------------------------------------------------- targeting


@pytest.mark.parametrize(
    ("targeting", "context", "profile", "expected"),
    [
        ({}, {}, {}, True),
        ({"channels": ["web", "app"]}, {"channel": "app"}, {}, True),
        ({"channels": ["web"]}, {"channel": "email"}, {}, False),
        ({"channels": ["web"]}, {}, {}, False),  # targeted but unknown -> no match
        ({"countries": ["FR"]}, {"country": "fr"}, {}, True),
        ({"countries": ["FR"]}, {}, {"country": "FR"}, True),  # profile fallback
        ({"countries": ["FR"]}, {"country": "DE"}, {"country": "FR"}, False),  # context wins
        ({"languages": ["fr"]}, {"language": "fr-CA"}, {}, True),
        ({"languages": ["fr"]}, {"language": "en"}, {}, False),
        ({"segments": ["vip", "churn_risk"]}, {}, {"segments": ["churn_risk", "x"]}, True),
        ({"segments": ["vip"]}, {}, {"segments": ["new"]}, False),
        ({"segments": ["vip"]}, {}, {}, False),
        (
            {"channels": ["web"], "countries": ["FR"], "segments": ["vip"]},
            {"channel": "web", "country": "FR"},
            {"segments": ["vip"]},
            True,
        ),
        (
            {"channels": ["web"], "countries": ["FR"], "segments": ["vip"]},
            {"channel": "web", "country": "BE"},
            {"segments": ["vip"]},
            False,  # all dimensions must match
        ),
    ],
)
def test_matches_targeting(
    targeting: dict[str, Any], context: dict[str, Any], profile: dict[str, Any], expected: bool
) -> None:
    assert matches_targeting(Targeting.model_validate(targeting), context, profile) is expected


def test_targeting_gates_assignment_without_falling_through() -> None:
    web_only = experiment("web-only", coverage=50, namespace="ns", targeting={"channels": ["web"]})
    rest = experiment("rest", coverage=50, namespace="ns", started=1)
    for u in USERS[:2000]:
        on_web = assign_in_namespace([web_only, rest], "ns", u, {"channel": "web"}, {})
        by_mail = assign_in_namespace([web_only, rest], "ns", u, {"channel": "email"}, {})
        if on_web is not None and on_web.experiment_id == "web-only":
            assert by_mail is None  # not handed to the sibling experiment
            sticky = assign_in_namespace(
                [web_only, rest], "ns", u, {"channel": "email"}, {}, sticky=on_web
            )
            assert sticky is None
        else:
            assert by_mail == on_web
