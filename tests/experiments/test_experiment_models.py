"""Experiment spec validation, lifecycle transitions and safe-edit rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from domain.errors import ExperimentError
from experiments.lifecycle import Experiment, check_update, transition
from experiments.models import HOLDOUT, ExperimentSpec, StrategyParams, default_seed

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def spec_dict(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "rank-weights-1",
        "description": "More weight on affinity",
        "hypothesis": "Users click more when affinity dominates",
        "primary_metric": "click",
        "guardrail_metrics": ["purchase"],
        "coverage": 50,
        "variants": [
            {"id": "control", "weight": 0.5},
            {
                "id": "affinity-heavy",
                "weight": 0.5,
                "params": {"ranking_weights": {"affinity": 2.0}, "diversity": 0.4},
            },
        ],
    }
    data.update(overrides)
    return data


def make_spec(**overrides: Any) -> ExperimentSpec:
    return ExperimentSpec.model_validate(spec_dict(**overrides))


def error_text(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " | ".join(str(e["msg"]) for e in exc.value.errors())


# --------------------------------------------------------------------------- validation


def test_valid_spec_defaults() -> None:
    spec = make_spec()
    assert spec.control.id == "control"
    assert spec.namespace == "default"
    assert spec.holdout == 0
    assert spec.minimum_detectable_effect == 0.05
    assert spec.seed == default_seed("rank-weights-1")
    assert make_spec(seed=None).seed == spec.seed
    assert make_spec(seed=7).seed == 7
    assert spec.variants[1].params.overrides() == {
        "ranking_weights": {"affinity": 2.0},
        "diversity": 0.4,
    }


def test_weights_must_sum_to_one_and_error_names_the_sum() -> None:
    variants = [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.45}]
    with pytest.raises(ValidationError) as exc:
        make_spec(variants=variants)
    assert "sum to 1" in error_text(exc) and "0.95" in error_text(exc)
    # within the 1e-6 tolerance is fine
    thirds = [{"id": c, "weight": 0.333333} for c in "ab"] + [{"id": "c", "weight": 0.333334}]
    assert len(make_spec(variants=thirds).variants) == 3


def test_duplicate_variant_ids_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        make_spec(variants=[{"id": "a", "weight": 0.5}, {"id": "a", "weight": 0.5}])
    assert "unique" in error_text(exc) and "a" in error_text(exc)


@pytest.mark.parametrize("n", [1, 11])
def test_variant_count_bounds(n: int) -> None:
    variants = [{"id": f"v{i}", "weight": 1 / n} for i in range(n)]
    with pytest.raises(ValidationError):
        make_spec(variants=variants)


def test_unknown_strategy_param_refused_with_allowed_list() -> None:
    with pytest.raises(ValidationError) as exc:
        StrategyParams.model_validate({"limit_boost": 3})
    text = error_text(exc)
    assert "'limit_boost'" in text and "exploration_rate" in text


def test_unknown_ranking_weight_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        StrategyParams.model_validate({"ranking_weights": {"recency": 1.0}})
    assert "'recency'" in error_text(exc) and "open_intent" in error_text(exc)


@pytest.mark.parametrize(
    "params",
    [
        {"ranking_weights": {"affinity": 11}},
        {"ranking_weights": {"value": -1}},
        {"exploration_rate": 1.5},
        {"diversity": -0.1},
        {"filter_strictness": "loose"},
        {"intent_model_version": ""},
    ],
)
def test_strategy_param_ranges(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        StrategyParams.model_validate(params)


@pytest.mark.parametrize(
    "overrides",
    [
        {"id": "Bad Id"},
        {"coverage": 101},
        {"holdout": 51},
        {"primary_metric": "revenue"},
        {"guardrail_metrics": ["click"]},  # primary listed as guardrail
        {"minimum_detectable_effect": 0},
        {"namespace": "has space"},
        {"targeting": {"channels": ["fax"]}},
        {"targeting": {"countries": ["fr"]}},
        {"unknown": 1},
    ],
)
def test_invalid_specs(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        make_spec(**overrides)


def test_holdout_is_a_reserved_variant_id() -> None:
    with pytest.raises(ValidationError) as exc:
        make_spec(variants=[{"id": HOLDOUT, "weight": 0.5}, {"id": "b", "weight": 0.5}])
    assert "reserved" in error_text(exc)


def test_expected_shares_include_holdout() -> None:
    shares = make_spec(holdout=10).expected_shares()
    assert shares == pytest.approx({"control": 0.45, "affinity-heavy": 0.45, HOLDOUT: 0.1})


# --------------------------------------------------------------------------- transitions


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("draft", "running"),
        ("running", "paused"),
        ("paused", "running"),
        ("running", "stopped"),
        ("paused", "stopped"),
        ("draft", "stopped"),
    ],
)
def test_legal_transitions(current: Any, target: Any) -> None:
    assert transition(current, target) == target


@pytest.mark.parametrize(
    ("current", "target", "fragment"),
    [
        ("draft", "paused", "cannot go from draft to paused"),
        ("stopped", "running", "stopped is final"),
        ("running", "running", "already running"),
        ("running", "draft", "cannot go from running to draft"),
    ],
)
def test_illegal_transitions(current: Any, target: Any, fragment: str) -> None:
    with pytest.raises(ExperimentError) as exc:
        transition(current, target)
    assert exc.value.status_code == 409
    assert fragment in exc.value.detail


def test_unknown_target_status_is_422() -> None:
    with pytest.raises(ExperimentError) as exc:
        transition("draft", "archived")  # type: ignore[arg-type]
    assert exc.value.status_code == 422


def test_with_status_bookkeeping() -> None:
    exp = Experiment.create(make_spec(), now=T0)
    assert (exp.status, exp.version, exp.started_at) == ("draft", 1, None)
    t1, t2, t3 = (T0.replace(day=d) for d in (2, 3, 4))
    running = exp.with_status("running", now=t1)
    assert (running.status, running.version, running.started_at) == ("running", 2, t1)
    paused = running.with_status("paused", now=t2)
    resumed = paused.with_status("running", now=t3)
    assert resumed.started_at == t1  # first start is kept: it fixes the namespace order
    assert resumed.version == 4 and resumed.updated_at == t3 and resumed.created_at == T0
    assert resumed.spec == make_spec()


# --------------------------------------------------------------------------- edits


def running_experiment(**overrides: Any) -> Experiment:
    return Experiment.create(make_spec(**overrides), now=T0).with_status("running", now=T0)


def test_draft_can_change_anything_but_its_id() -> None:
    draft = Experiment.create(make_spec(), now=T0)
    check_update(
        draft,
        make_spec(
            seed=3,
            namespace="other",
            variants=[*spec_dict()["variants"][:1], {"id": "new", "weight": 0.5}],
        ),
    )
    with pytest.raises(ExperimentError) as exc:
        check_update(draft, make_spec(id="other-id"))
    assert exc.value.status_code == 422


def test_running_allows_weight_coverage_and_text_changes() -> None:
    exp = running_experiment()
    variants = spec_dict()["variants"]
    variants[0] = {**variants[0], "weight": 0.2}
    variants[1] = {**variants[1], "weight": 0.8}
    new = make_spec(variants=variants, coverage=90, holdout=5, description="wider")
    check_update(exp, new)
    updated = exp.with_spec(new, now=T0.replace(day=9))
    assert updated.coverage == 90 and updated.status == "running" and updated.version == 3
    assert updated.started_at == exp.started_at


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (
            {"variants": [{"id": "control", "weight": 0.5}, {"id": "renamed", "weight": 0.5}]},
            "affinity-heavy would be removed or renamed",
        ),
        (
            {
                "variants": [
                    {"id": "affinity-heavy", "weight": 0.5},
                    {"id": "control", "weight": 0.5},
                ]
            },
            "variant order would change",
        ),
        (
            {
                "variants": [
                    {"id": "control", "weight": 0.4},
                    {"id": "affinity-heavy", "weight": 0.4},
                    {"id": "third", "weight": 0.2},
                ]
            },
            "third would be added",
        ),
        ({"seed": 12345}, "seed would change"),
        ({"namespace": "ranking"}, "namespace would change"),
    ],
)
@pytest.mark.parametrize("status", ["running", "paused"])
def test_running_or_paused_refuses_assignment_breaking_edits(
    overrides: dict[str, Any], fragment: str, status: str
) -> None:
    exp = running_experiment()
    if status == "paused":
        exp = exp.with_status("paused")
    with pytest.raises(ExperimentError) as exc:
        check_update(exp, make_spec(**overrides))
    assert exc.value.status_code == 409
    assert fragment in exc.value.detail and status in exc.value.detail


def test_stopped_experiment_is_frozen() -> None:
    exp = running_experiment().with_status("stopped")
    with pytest.raises(ExperimentError, match="stopped"):
        exp.with_spec(make_spec(description="late edit"))


def test_error_carries_all_problems() -> None:
    exp = running_experiment()
    with pytest.raises(ExperimentError) as exc:
        check_update(exp, make_spec(seed=1, namespace="x"))
    assert "seed would change" in exc.value.detail and "namespace would change" in exc.value.detail
