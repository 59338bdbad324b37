"""Experiment read-out: counters per arm -> rates, lifts, tests, SRM and warnings.

The counters themselves (what is recorded, and how) are :mod:`experiments.counters`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from pydantic import BaseModel

from experiments import stats
from experiments.counters import VariantCounters
from experiments.models import EVENT_METRICS, HOLDOUT, EventMetric, ExperimentSpec, Metric


class Interval(BaseModel):
    lower: float
    upper: float


class Comparison(BaseModel):
    """This arm vs the control on one metric. ``None`` where undefined (e.g. control rate 0)."""

    lift: float | None
    lift_ci: Interval | None
    p_value: float | None
    prob_beat_control: float | None
    significant: bool


class RateResult(BaseModel):
    metric: EventMetric
    converters: int
    events: int
    rate: float | None
    ci: Interval | None
    vs_control: Comparison | None = None


class ValueResult(BaseModel):
    total: float
    per_user: float | None
    ci: Interval | None
    vs_control: Comparison | None = None


class ArmResult(BaseModel):
    arm: str
    is_control: bool
    is_holdout: bool
    users: int
    exposures: int
    expected_share: float
    observed_share: float | None
    rates: dict[str, RateResult]
    value: ValueResult


class SrmBlock(BaseModel):
    statistic: float | None
    p_value: float
    threshold: float
    flagged: bool
    observed: dict[str, int]
    expected: dict[str, float]


class ExperimentResults(BaseModel):
    experiment_id: str
    primary_metric: Metric
    guardrail_metrics: list[Metric]
    control: str
    alpha: float
    arms: list[ArmResult]
    """Variants in spec order (control first), then the holdout if the spec has one."""
    srm: SrmBlock
    required_users_per_variant: int | None
    warnings: list[str]

    def arm(self, arm: str) -> ArmResult:
        return next(a for a in self.arms if a.arm == arm)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _interval(iv: stats.Interval) -> Interval | None:
    if math.isfinite(iv.lower) and math.isfinite(iv.upper):
        return Interval(lower=iv.lower, upper=iv.upper)
    return None


def _rate(metric: EventMetric, c: VariantCounters, alpha: float) -> RateResult:
    conv = min(c.converters_of(metric), c.users)
    return RateResult(
        metric=metric,
        converters=c.converters_of(metric),
        events=c.events_of(metric),
        rate=conv / c.users if c.users else None,
        ci=_interval(stats.proportion_ci(conv, c.users, alpha)) if c.users else None,
    )


def _compare_rates(
    metric: str, ctl: VariantCounters, var: VariantCounters, alpha: float
) -> Comparison:
    s_a, n_a = min(ctl.converters_of(metric), ctl.users), ctl.users
    s_b, n_b = min(var.converters_of(metric), var.users), var.users
    if n_a == 0 or n_b == 0:
        return Comparison(
            lift=None, lift_ci=None, p_value=None, prob_beat_control=None, significant=False
        )
    lift = stats.relative_lift_ci(s_a, n_a, s_b, n_b, alpha)
    test = stats.two_proportion_test(s_a, n_a, s_b, n_b)
    return Comparison(
        lift=_finite(lift.lift),
        lift_ci=_interval(lift.interval),
        p_value=test.p_value,
        prob_beat_control=stats.prob_b_beats_a(s_a, n_a, s_b, n_b),
        significant=test.p_value < alpha,
    )


def _mean(c: VariantCounters, alpha: float) -> stats.MeanEstimate:
    return stats.mean_ci_from_moments(c.value_sum, c.value_sum_sq, c.users, alpha)


def _value(c: VariantCounters, alpha: float) -> ValueResult:
    est = _mean(c, alpha)
    return ValueResult(
        total=c.value_sum,
        per_user=_finite(est.mean),
        ci=_interval(est.interval) if c.users >= 2 else None,
    )


def _compare_values(ctl: VariantCounters, var: VariantCounters, alpha: float) -> Comparison:
    if ctl.users < 2 or var.users < 2:
        return Comparison(
            lift=None, lift_ci=None, p_value=None, prob_beat_control=None, significant=False
        )
    a, b = _mean(ctl, alpha), _mean(var, alpha)
    lift = stats.relative_lift_from_estimates(a.mean, a.std_error, b.mean, b.std_error, alpha)
    test = stats.welch_test_from_moments(
        ctl.value_sum, ctl.value_sum_sq, ctl.users, var.value_sum, var.value_sum_sq, var.users
    )
    return Comparison(
        lift=_finite(lift.lift),
        lift_ci=_interval(lift.interval),
        p_value=test.p_value,
        prob_beat_control=_finite(stats.prob_b_beats_a_normal(a, b)),
        significant=test.p_value < alpha,
    )


def compute_results(
    spec: ExperimentSpec,
    counters: Mapping[str, VariantCounters],
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    srm_threshold: float = 0.001,
    expected_shares: Mapping[str, float] | None = None,
) -> ExperimentResults:
    """Read-out of an experiment from its per-arm counters (missing arms count as empty).

    Every non-control variant is compared with the control (``spec.variants[0]``) on every
    metric; the holdout, if any, is reported (rates, value) but not compared and not part of
    the power check. ``expected_shares`` overrides the split used by the SRM test (pass the
    historical split if weights were edited while running).
    """
    warnings: list[str] = []
    control_id = spec.control.id
    arm_ids = spec.variant_ids + ([HOLDOUT] if spec.holdout > 0 else [])
    unknown = sorted(set(counters) - set(arm_ids))
    if unknown:
        warnings.append(
            f"counters for unknown arm(s) {', '.join(unknown)} were ignored; "
            "were variants renamed after launch?"
        )
    data = {a: counters.get(a) or VariantCounters() for a in arm_ids}
    shares = dict(expected_shares) if expected_shares is not None else spec.expected_shares()
    total_users = sum(c.users for c in data.values())
    ctl = data[control_id]

    arms: list[ArmResult] = []
    for arm_id in arm_ids:
        c = data[arm_id]
        is_control, is_holdout = arm_id == control_id, arm_id == HOLDOUT
        rates = {m: _rate(m, c, alpha) for m in EVENT_METRICS}
        value = _value(c, alpha)
        if not is_control and not is_holdout:
            for m, r in rates.items():
                r.vs_control = _compare_rates(m, ctl, c, alpha)
            value.vs_control = _compare_values(ctl, c, alpha)
        if c.exposures < c.users:
            warnings.append(
                f"{arm_id}: fewer exposures ({c.exposures}) than users ({c.users}); "
                "counters are inconsistent"
            )
        arms.append(
            ArmResult(
                arm=arm_id,
                is_control=is_control,
                is_holdout=is_holdout,
                users=c.users,
                exposures=c.exposures,
                expected_share=shares.get(arm_id, 0.0),
                observed_share=c.users / total_users if total_users else None,
                rates=rates,
                value=value,
            )
        )

    # --- sample ratio mismatch
    srm_arms = [a for a in arm_ids if a in shares]
    srm = stats.srm_check(
        {a: data[a].users for a in srm_arms}, {a: shares[a] for a in srm_arms}, srm_threshold
    )
    if total_users == 0:
        warnings.append("no users assigned yet")
    elif srm.flagged:
        obs = ", ".join(f"{a} {data[a].users / total_users:.1%}" for a in srm_arms)
        exp = ", ".join(f"{a} {shares[a] / sum(shares.values()):.1%}" for a in srm_arms)
        warnings.append(
            f"sample ratio mismatch: observed split {obs} vs designed {exp} "
            f"(chi2={srm.statistic:.1f}, p={srm.p_value:.2g} < {srm_threshold:g}); assignment or "
            "logging is broken somewhere, do not trust these results until it is explained"
        )

    # --- power
    variant_users = {v: data[v].users for v in spec.variant_ids}
    smallest_arm = min(variant_users, key=lambda k: variant_users[k])
    smallest = variant_users[smallest_arm]
    mde = spec.minimum_detectable_effect
    required: int | None = None
    metric = spec.primary_metric
    try:
        if metric == "value":
            est = _mean(ctl, alpha)
            if ctl.users >= 2 and est.mean > 0:
                required = stats.required_sample_size_mean(
                    est.mean, math.sqrt(est.variance), mde, alpha, power
                )
        elif ctl.users and 0 < ctl.converters_of(metric) < ctl.users:
            baseline = ctl.converters_of(metric) / ctl.users
            required = stats.required_sample_size(baseline, mde, alpha, power)
    except ValueError:
        required = None
    if required is None:
        if total_users:
            warnings.append(
                f"not enough control data to estimate the {metric} baseline; "
                "the required sample size is unknown"
            )
    elif smallest < required:
        warnings.append(
            f"sample too small to detect a {mde:.0%} relative effect on {metric}: need "
            f"~{required:,} users per variant, have {smallest:,} (smallest variant: {smallest_arm})"
        )

    # --- guardrails & multiplicity
    by_arm = {a.arm: a for a in arms}
    for v in spec.variant_ids[1:]:
        for g in spec.guardrail_metrics:
            cmp = by_arm[v].value.vs_control if g == "value" else by_arm[v].rates[g].vs_control
            if cmp and cmp.significant and cmp.lift is not None and cmp.lift < 0:
                warnings.append(
                    f"guardrail {g} is significantly worse for {v}: {cmp.lift:+.1%} vs control "
                    f"(p={cmp.p_value:.2g})"
                )
    k = len(spec.variants) - 1
    if k > 1:
        warnings.append(
            f"{k} variants are each compared with the control without multiple-comparison "
            f"correction; for a family-wise error of {alpha:g} require p < {alpha / k:.3g}"
        )

    return ExperimentResults(
        experiment_id=spec.id,
        primary_metric=spec.primary_metric,
        guardrail_metrics=list(spec.guardrail_metrics),
        control=control_id,
        alpha=alpha,
        arms=arms,
        srm=SrmBlock(
            statistic=_finite(srm.statistic),
            p_value=srm.p_value,
            threshold=srm_threshold,
            flagged=srm.flagged,
            observed=srm.observed,
            expected=srm.expected,
        ),
        required_users_per_variant=required,
        warnings=warnings,
    )
