"""Simulated experiments, the A/A false-positive rate, the statistics read-out, and the counters
it reads (hash shape, incremental updates against recomputation, attribution).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from scipy import stats

from experiments import stats as xs
from experiments.assignment import assign
from experiments.counters import (
    CounterLedger,
    ExposureRecord,
    OutcomeRecord,
    VariantCounters,
    recompute_counters,
    value_increment,
)
from experiments.lifecycle import Experiment
from experiments.models import HOLDOUT, ExperimentSpec
from experiments.readout import compute_results

# --------------------------------------------------------------------------- simulations


def spec(**overrides: Any) -> ExperimentSpec:
    data: dict[str, Any] = {
        "id": "sim",
        "primary_metric": "click",
        "guardrail_metrics": ["purchase"],
        "minimum_detectable_effect": 0.2,
        "variants": [{"id": "control", "weight": 0.5}, {"id": "treatment", "weight": 0.5}],
    }
    data.update(overrides)
    return ExperimentSpec.model_validate(data)


def counters(users: int, clicks: int, purchases: int = 0, value: float = 0.0) -> VariantCounters:
    return VariantCounters(
        users=users,
        exposures=users * 2,
        converters={"click": clicks, "purchase": purchases},
        events={"click": clicks + clicks // 3, "purchase": purchases},
        value_sum=value,
        value_sum_sq=value * 10,
    )


def test_b_converts_20_percent_better() -> None:
    """10,000 users hashed into a 50/50 test; control clicks at 10 %, treatment at 12 %."""
    exp = Experiment.create(spec()).with_status("running")
    rng = random.Random(2024)
    counts = {"control": VariantCounters(), "treatment": VariantCounters()}
    rate = {"control": 0.10, "treatment": 0.12}
    for i in range(10_000):
        a = assign(exp, f"u{i}")
        assert a is not None
        c = counts[a.arm]
        c.users += 1
        c.exposures += 1
        if rng.random() < rate[a.arm]:
            c.converters["click"] = c.converters.get("click", 0) + 1
            c.events["click"] = c.events.get("click", 0) + 1
    res = compute_results(exp, counts)
    t = res.arm("treatment").rates["click"]
    assert t.vs_control is not None and t.vs_control.p_value is not None
    assert t.vs_control.p_value < 0.05 and t.vs_control.significant
    assert t.vs_control.prob_beat_control is not None and t.vs_control.prob_beat_control > 0.95
    assert t.vs_control.lift_ci is not None and t.vs_control.lift_ci.lower > 0
    assert not res.srm.flagged and res.srm.p_value > 0.001
    assert not any("sample ratio" in w for w in res.warnings)
    assert res.required_users_per_variant is not None
    assert 3000 < res.required_users_per_variant < 5000  # ~3,841 at a 10 % baseline


def test_aa_false_positive_rate() -> None:
    """400 seeded A/A tests (both arms 10 %, 5,000 users each) at alpha = 0.05.

    Under H0 the count of p < 0.05 is Binomial(400, 0.05): mean 20 (5 %), sd ~4.4 (1.1 pp).
    [0.02, 0.085] is roughly mean -2.7 sd .. +3.2 sd, so a correct test fails this check with
    probability < 0.5 %, while a test that is anti-conservative by ~2x (10 %) fails it.
    Sizes are drawn from a hashed 50/50 split, so SRM must also stay quiet.
    """
    rng = np.random.default_rng(20260101)
    sims = 400
    n = rng.binomial(10_000, 0.5, size=sims)
    s_a = rng.binomial(n, 0.10)
    s_b = rng.binomial(10_000 - n, 0.10)
    p_z = np.array(
        [
            xs.two_proportion_test(int(a), int(na), int(b), 10_000 - int(na)).p_value
            for a, na, b in zip(s_a, n, s_b, strict=True)
        ]
    )
    rate = float((p_z < 0.05).mean())
    print(f"A/A false-positive rate (z-test): {rate:.4f}")
    assert 0.02 <= rate <= 0.085, rate
    # p-values are ~uniform under H0
    assert stats.kstest(p_z, "uniform").pvalue > 0.001
    srm = [xs.srm_check([int(na), 10_000 - int(na)], [0.5, 0.5]).flagged for na in n]
    assert sum(srm) <= 3  # expected 0.4 false alarms at threshold 0.001
    # Welch on value per user (skewed, mostly zeros) keeps its size too
    fp = 0
    for _ in range(sims):
        a = rng.exponential(20.0, 2000) * (rng.random(2000) < 0.1)
        b = rng.exponential(20.0, 2000) * (rng.random(2000) < 0.1)
        res = xs.welch_test_from_moments(
            float(a.sum()), float((a**2).sum()), 2000, float(b.sum()), float((b**2).sum()), 2000
        )
        fp += res.p_value < 0.05
    print(f"A/A false-positive rate (Welch, value per user): {fp / sims:.4f}")
    assert 0.02 <= fp / sims <= 0.085


# --------------------------------------------------------------------------- results


def test_results_warn_on_srm_and_small_sample() -> None:
    res = compute_results(spec(), {"control": counters(600, 60), "treatment": counters(400, 45)})
    assert res.srm.flagged and res.srm.observed == {"control": 600, "treatment": 400}
    srm = [w for w in res.warnings if w.startswith("sample ratio mismatch")]
    assert srm and "control 60.0%" in srm[0] and "control 50.0%" in srm[0]
    small = [w for w in res.warnings if w.startswith("sample too small")]
    assert small and "20% relative effect on click" in small[0] and "have 400" in small[0]
    assert res.arm("control").is_control and res.arm("control").rates["click"].vs_control is None


def test_results_guardrail_and_value() -> None:
    res = compute_results(
        spec(guardrail_metrics=["purchase", "value"]),
        {
            "control": counters(20_000, 2000, purchases=600, value=6000.0),
            "treatment": counters(20_000, 2300, purchases=450, value=7000.0),
        },
    )
    assert any("guardrail purchase is significantly worse for treatment" in w for w in res.warnings)
    value = res.arm("treatment").value
    assert value.per_user == pytest.approx(0.35)
    assert value.vs_control is not None and value.vs_control.lift == pytest.approx(7 / 6 - 1)
    assert value.vs_control.p_value is not None and value.vs_control.prob_beat_control is not None
    # JSON-safe: no NaN/inf leaks into the payload
    assert "NaN" not in res.model_dump_json() and "Infinity" not in res.model_dump_json()


def test_results_holdout_multiple_variants_and_empty() -> None:
    three = spec(
        holdout=10,
        variants=[
            {"id": "control", "weight": 0.4},
            {"id": "b", "weight": 0.3},
            {"id": "c", "weight": 0.3},
        ],
    )
    empty = compute_results(three, {})
    assert [a.arm for a in empty.arms] == ["control", "b", "c", HOLDOUT]
    assert "no users assigned yet" in empty.warnings
    assert "NaN" not in empty.model_dump_json()
    res = compute_results(
        three,
        {
            "control": counters(3600, 360),
            "b": counters(2700, 290),
            "c": counters(2700, 250),
            HOLDOUT: counters(1000, 95),
            "ghost": counters(5, 1),
        },
    )
    assert not res.srm.flagged
    assert res.arm(HOLDOUT).rates["click"].vs_control is None
    assert any("2 variants are each compared" in w for w in res.warnings)
    assert any("ghost" in w for w in res.warnings)


def test_counters_hash_round_trip() -> None:
    c = counters(120, 30, purchases=4, value=88.5)
    raw = {k.encode(): v.encode() for k, v in c.to_hash().items()}
    raw[b"other"] = b"ignored"
    assert VariantCounters.from_hash(raw) == c
    assert value_increment(3.0, 2.0) == (2.0, 16.0)  # 5^2 - 3^2


def simulated_streams(
    exp: Experiment, users: int = 3000, seed: int = 9
) -> tuple[list[ExposureRecord], list[OutcomeRecord]]:
    rng = random.Random(seed)
    exposures: list[ExposureRecord] = []
    outcomes: list[OutcomeRecord] = []
    lift = {"control": 1.0, "treatment": 1.3, HOLDOUT: 0.9}
    for i in range(users):
        user = f"user-{i}"
        a = assign(exp, user)
        if a is None:
            continue
        t = rng.uniform(0, 5 * 86_400)
        for k in range(rng.randint(1, 4)):
            rid = f"{user}-r{k}"
            exposures.append(
                ExposureRecord(request_id=rid, user_id=user, experiment_id=exp.id, arm=a.arm, ts=t)
            )
            for kind, p in (("click", 0.2), ("accept", 0.08), ("purchase", 0.04)):
                if rng.random() < p * lift[a.arm]:
                    delay = rng.choice([5.0, 600.0, 3 * 3600.0, 30 * 3600.0])  # last one too late
                    outcomes.append(
                        OutcomeRecord(
                            user_id=user,
                            type=kind,  # type: ignore[arg-type]
                            ts=t + delay,
                            value=round(rng.uniform(5, 80), 2) if kind == "purchase" else 0.0,
                            request_id=rid if rng.random() < 0.6 else None,
                        )
                    )
            t += rng.uniform(60, 40 * 3600)
    # an outcome of a user never exposed, and one of another experiment's request
    outcomes.append(OutcomeRecord(user_id="stranger", type="click", ts=10.0))
    exposures.append(
        ExposureRecord(request_id="x-1", user_id="user-1", experiment_id="other", arm="v0", ts=1.0)
    )
    return exposures, outcomes


def test_incremental_counters_equal_recomputation() -> None:
    exp = Experiment.create(spec(holdout=10, coverage=80)).with_status("running")
    exposures, outcomes = simulated_streams(exp)
    ledger = CounterLedger(exp.id, attribution_window_s=24 * 3600)
    events: list[tuple[float, int, ExposureRecord | OutcomeRecord]] = [
        (e.ts, 0, e) for e in exposures
    ] + [(o.ts, 1, o) for o in outcomes]
    attributed = 0
    for _, _, ev in sorted(events, key=lambda x: (x[0], x[1])):
        if isinstance(ev, ExposureRecord):
            ledger.record_exposure(ev)
        else:
            attributed += ledger.record_outcome(ev) is not None
    batch = recompute_counters(exposures, outcomes, 24 * 3600, experiment_id=exp.id)
    assert set(batch) == set(ledger.counters) == {"control", "treatment", HOLDOUT}
    for arm, c in batch.items():
        assert c.approx_equal(ledger.counters[arm]), arm
    assert 0 < attributed < len(outcomes)  # the late ones and the stranger are dropped
    a = compute_results(exp, batch).model_dump()
    b = compute_results(exp, ledger.counters).model_dump()
    assert a["srm"] == b["srm"] and a["warnings"] == b["warnings"]
    for x, y in zip(a["arms"], b["arms"], strict=True):
        assert x["users"] == y["users"] and x["rates"] == y["rates"]
        assert x["value"]["per_user"] == pytest.approx(y["value"]["per_user"])
    with pytest.raises(ValueError, match="several experiments"):
        recompute_counters(exposures, outcomes)


def test_attribution_rule() -> None:
    exps = [
        ExposureRecord(request_id="r1", user_id="u", experiment_id="e", arm="control", ts=0.0),
        ExposureRecord(request_id="r2", user_id="u", experiment_id="e", arm="control", ts=100.0),
    ]
    outs = [
        OutcomeRecord(user_id="u", type="click", ts=50.0, request_id="r1"),  # by request id
        OutcomeRecord(user_id="u", type="click", ts=150.0),  # latest exposure r2, within window
        OutcomeRecord(user_id="u", type="purchase", ts=100.0 + 86_401, value=10.0),  # too late
        OutcomeRecord(user_id="u", type="accept", ts=-5.0),  # before any exposure
        # request id wins, and credits the exposed user (e.g. the id changed at login)
        OutcomeRecord(user_id="u-logged-in", type="click", ts=60.0, request_id="r1"),
    ]
    c = recompute_counters(exps, outs, 86_400)["control"]
    assert (c.users, c.exposures) == (1, 2)
    assert c.events == {"click": 3} and c.converters == {"click": 1}
    assert c.value_sum == 0.0
