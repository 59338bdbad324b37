"""Statistics on counts, simulated experiments, A/A false-positive rate, and the read-out."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest
from scipy import special, stats

from experiments import stats as xs
from experiments.assignment import assign
from experiments.models import HOLDOUT, Experiment, ExperimentSpec
from experiments.results import (
    CounterLedger,
    ExposureRecord,
    OutcomeRecord,
    VariantCounters,
    compute_results,
    recompute_counters,
    value_increment,
)

# --------------------------------------------------------------------------- proportions


@pytest.mark.parametrize(
    ("s", "n", "lower", "upper"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857, Table I, Wilson score method
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_textbook(s: int, n: int, lower: float, upper: float) -> None:
    ci = xs.proportion_ci(s, n)
    assert ci.lower == pytest.approx(lower, abs=5e-5)
    assert ci.upper == pytest.approx(upper, abs=5e-5)


@pytest.mark.parametrize(("s", "n"), [(7, 40), (500, 5000), (39, 40), (3, 3)])
@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.2])
def test_wilson_matches_scipy(s: int, n: int, alpha: float) -> None:
    ref = stats.binomtest(s, n).proportion_ci(confidence_level=1 - alpha, method="wilson")
    ci = xs.proportion_ci(s, n, alpha)
    assert (ci.lower, ci.upper) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_wilson_edge_cases() -> None:
    assert xs.proportion_ci(0, 0) == xs.Interval(0.0, 1.0)
    with pytest.raises(ValueError):
        xs.proportion_ci(5, 4)


def test_two_proportion_test_by_hand_and_vs_chi2() -> None:
    res = xs.two_proportion_test(500, 5000, 600, 5000)
    pooled = 1100 / 10_000
    z = (0.12 - 0.10) / math.sqrt(pooled * (1 - pooled) * (2 / 5000))
    assert res.statistic == pytest.approx(z) and res.statistic == pytest.approx(3.19601, abs=1e-5)
    assert res.p_value == pytest.approx(0.0013934, abs=1e-6)
    # the pooled z-test is the 2x2 chi-square test without continuity correction: z^2 = chi2
    table = np.array([[500, 4500], [600, 4400]])
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    assert res.statistic**2 == pytest.approx(chi2) and res.p_value == pytest.approx(p)
    # symmetric, degenerate cases
    assert xs.two_proportion_test(600, 5000, 500, 5000).statistic == pytest.approx(-z)
    assert xs.two_proportion_test(0, 100, 0, 100) == xs.TestResult(0.0, 1.0)
    assert xs.two_proportion_test(0, 0, 3, 10) == xs.TestResult(0.0, 1.0)


def test_relative_lift_delta_method_by_hand() -> None:
    est = xs.relative_lift_ci(500, 5000, 600, 5000)
    var = (0.12 * 0.88 / 5000) / 0.10**2 + 0.12**2 * (0.10 * 0.90 / 5000) / 0.10**4
    assert est.lift == pytest.approx(0.2)
    assert est.std_error == pytest.approx(math.sqrt(var))
    assert est.interval.lower == pytest.approx(0.2 - 1.959964 * math.sqrt(var), abs=1e-6)
    assert est.interval.upper == pytest.approx(0.2 + 1.959964 * math.sqrt(var), abs=1e-6)
    assert math.isnan(xs.relative_lift_ci(0, 100, 5, 100).lift)


def test_relative_lift_interval_covers_truth_about_95_percent() -> None:
    rng = np.random.default_rng(11)
    hits = 0
    sims = 400
    for _ in range(sims):
        s_a, s_b = rng.binomial(4000, 0.10), rng.binomial(4000, 0.12)
        hits += xs.relative_lift_ci(int(s_a), 4000, int(s_b), 4000).interval.contains(0.2)
    assert 0.91 <= hits / sims <= 0.985


def _exact_prob_b_beats_a(a_a: int, b_a: int, a_b: int, b_b: int) -> float:
    """Closed form for integer Beta parameters (sum over the successes of B)."""
    total = 0.0
    for i in range(a_b):
        total += math.exp(
            special.betaln(a_a + i, b_a + b_b)
            - math.log(b_b + i)
            - special.betaln(1 + i, b_b)
            - special.betaln(a_a, b_a)
        )
    return total


@pytest.mark.parametrize(
    ("s_a", "n_a", "s_b", "n_b"),
    [(3, 10, 7, 10), (50, 1000, 65, 1000), (500, 5000, 600, 5000), (120, 1000, 100, 1000)],
)
def test_prob_b_beats_a_matches_closed_form(s_a: int, n_a: int, s_b: int, n_b: int) -> None:
    got = xs.prob_b_beats_a(s_a, n_a, s_b, n_b)
    exact = _exact_prob_b_beats_a(1 + s_a, 1 + n_a - s_a, 1 + s_b, 1 + n_b - s_b)
    assert got == pytest.approx(exact, abs=1e-6)
    assert xs.prob_b_beats_a(s_a, n_a, s_b, n_b) == got  # deterministic


def test_prob_b_beats_a_properties() -> None:
    assert xs.prob_b_beats_a(40, 400, 40, 400) == pytest.approx(0.5, abs=1e-6)
    p = xs.prob_b_beats_a(30, 300, 45, 300, prior=(2.0, 18.0))
    rng = np.random.default_rng(3)
    draws = rng.beta(2 + 45, 18 + 255, 400_000) > rng.beta(2 + 30, 18 + 270, 400_000)
    assert p == pytest.approx(draws.mean(), abs=0.004)
    assert xs.prob_b_beats_a(30, 300, 45, 300) + xs.prob_b_beats_a(
        45, 300, 30, 300
    ) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError):
        xs.prob_b_beats_a(1, 2, 1, 2, prior=(0.0, 1.0))


# --------------------------------------------------------------------------- means


def test_mean_ci_and_welch_match_scipy_on_raw_data() -> None:
    rng = np.random.default_rng(5)
    a = rng.exponential(10.0, 800) * (rng.random(800) < 0.3)
    b = rng.exponential(12.0, 700) * (rng.random(700) < 0.3)
    est = xs.mean_ci_from_moments(float(a.sum()), float((a**2).sum()), len(a))
    lo, hi = stats.t.interval(0.95, len(a) - 1, loc=a.mean(), scale=stats.sem(a))
    assert est.mean == pytest.approx(a.mean())
    assert est.variance == pytest.approx(a.var(ddof=1))
    assert (est.interval.lower, est.interval.upper) == pytest.approx((lo, hi))
    res = xs.welch_test_from_moments(
        float(a.sum()), float((a**2).sum()), len(a), float(b.sum()), float((b**2).sum()), len(b)
    )
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.p_value == pytest.approx(ref.pvalue)
    assert res.df is not None and res.df == pytest.approx(ref.df)


def test_mean_edge_cases() -> None:
    assert math.isnan(xs.mean_ci_from_moments(0.0, 0.0, 0).mean)
    one = xs.mean_ci_from_moments(5.0, 25.0, 1)
    assert one.mean == 5.0 and one.interval.lower == -math.inf
    assert xs.welch_test_from_moments(0, 0, 10, 0, 0, 10).p_value == 1.0
    assert xs.welch_test_from_moments(1, 1, 1, 2, 4, 1).p_value == 1.0


# --------------------------------------------------------------------------- SRM & power


def test_srm_flags_60_40_on_50_50_design() -> None:
    res = xs.srm_check({"control": 600, "b": 400}, {"control": 0.5, "b": 0.5})
    assert res.statistic == pytest.approx(40.0)  # 2 * 100^2 / 500
    assert res.p_value == pytest.approx(stats.chi2.sf(40.0, 1))
    assert res.flagged
    ok = xs.srm_check([5020, 4980], [0.5, 0.5])
    assert not ok.flagged and ok.p_value > 0.5
    # unnormalised weights are fine, three arms
    three = xs.srm_check([2000, 1000, 1000], [2, 1, 1])
    assert three.statistic == pytest.approx(0.0) and not three.flagged
    assert xs.srm_check([0, 0], [0.5, 0.5]).p_value == 1.0
    assert xs.srm_check([10, 3], [1.0, 0.0]).flagged
    with pytest.raises(ValueError):
        xs.srm_check({"a": 1}, {"b": 1.0})


def test_required_sample_size_textbook() -> None:
    # 10% -> 12% (20% relative), alpha 0.05 two-sided, power 0.8: the classic 3,841 per arm
    n = xs.required_sample_size(0.10, 0.20)
    assert n == 3841
    # at that n the normal-approximation power is 80%
    p1, p2, pbar = 0.10, 0.12, 0.11
    se0 = math.sqrt(2 * pbar * (1 - pbar) / n)
    se1 = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n)
    power = stats.norm.sf((1.959964 * se0 - (p2 - p1)) / se1)
    assert power == pytest.approx(0.80, abs=0.002)
    assert xs.required_sample_size(0.10, 0.05) > 14 * n  # ~ 1 / mde^2
    assert xs.required_sample_size(0.10, 0.20, power=0.9) > n
    with pytest.raises(ValueError):
        xs.required_sample_size(0.6, 1.0)  # 120 % is impossible
    check = xs.power_check([4000, 3800], 0.10, 0.20)
    assert (check.required_per_variant, check.smallest_variant, check.sufficient) == (
        3841,
        3800,
        False,
    )
    assert xs.power_check([3841, 3900], 0.10, 0.20).sufficient


def test_required_sample_size_mean() -> None:
    # sigma = mean: detect +10 % -> 2 * (1.96 + 0.8416)^2 / 0.01 = 1570
    assert xs.required_sample_size_mean(10.0, 10.0, 0.10) == 1570


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
