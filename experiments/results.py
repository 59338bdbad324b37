"""Experiment read-out: counters per arm -> rates, lifts, tests, SRM and warnings.

:class:`VariantCounters` is the exact shape the store keeps per ``(experiment, arm)`` as a Redis
hash (see :meth:`VariantCounters.to_hash`). :class:`CounterLedger` is the in-memory reference of
how those counters are incremented event by event, and :func:`recompute_counters` rebuilds them
from raw exposure/outcome records; both follow the same attribution rule, so they agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from experiments import stats
from experiments.models import (
    EVENT_METRICS,
    HOLDOUT,
    EventMetric,
    ExperimentSpec,
    Metric,
)

DEFAULT_ATTRIBUTION_WINDOW_S = 24 * 3600

# --------------------------------------------------------------------------- counters


class VariantCounters(BaseModel):
    """Aggregates for one arm. ``users`` = distinct users with at least one exposure;
    ``converters[m]`` = distinct users with at least one attributed ``m`` event;
    ``events[m]`` = attributed ``m`` events; ``value_sum`` / ``value_sum_sq`` = sum over users
    of the user's attributed business value, and of its square."""

    model_config = ConfigDict(extra="forbid")

    users: Annotated[int, Field(ge=0)] = 0
    exposures: Annotated[int, Field(ge=0)] = 0
    converters: dict[EventMetric, Annotated[int, Field(ge=0)]] = {}
    events: dict[EventMetric, Annotated[int, Field(ge=0)]] = {}
    value_sum: float = 0.0
    value_sum_sq: Annotated[float, Field(ge=0)] = 0.0

    def to_hash(self) -> dict[str, str]:
        """Flat field -> value mapping for a Redis hash (``HINCRBY``/``HINCRBYFLOAT`` fields:
        ``users``, ``exposures``, ``converters:<m>``, ``events:<m>``, ``value_sum``,
        ``value_sum_sq``)."""
        out = {
            "users": str(self.users),
            "exposures": str(self.exposures),
            "value_sum": repr(self.value_sum),
            "value_sum_sq": repr(self.value_sum_sq),
        }
        for m, c in self.converters.items():
            out[f"converters:{m}"] = str(c)
        for m, c in self.events.items():
            out[f"events:{m}"] = str(c)
        return out

    @classmethod
    def from_hash(cls, raw: Mapping[Any, Any]) -> VariantCounters:
        """Inverse of :meth:`to_hash`; accepts bytes or str keys/values (``HGETALL`` output).
        Unknown fields are ignored so the store may keep extra bookkeeping in the hash."""

        def text(x: Any) -> str:
            return x.decode() if isinstance(x, bytes | bytearray) else str(x)

        data = {text(k): text(v) for k, v in raw.items()}
        converters: dict[EventMetric, int] = {}
        events: dict[EventMetric, int] = {}
        for m in EVENT_METRICS:
            if f"converters:{m}" in data:
                converters[m] = int(data[f"converters:{m}"])
            if f"events:{m}" in data:
                events[m] = int(data[f"events:{m}"])
        return cls(
            users=int(data.get("users", 0)),
            exposures=int(data.get("exposures", 0)),
            converters=converters,
            events=events,
            value_sum=float(data.get("value_sum", 0.0)),
            value_sum_sq=max(0.0, float(data.get("value_sum_sq", 0.0))),
        )

    def converters_of(self, metric: str) -> int:
        return next((v for k, v in self.converters.items() if k == metric), 0)

    def events_of(self, metric: str) -> int:
        return next((v for k, v in self.events.items() if k == metric), 0)

    def approx_equal(self, other: VariantCounters, rel: float = 1e-9) -> bool:
        """Equality with a tolerance on the float sums (summation order differs)."""
        ints_equal = (
            self.users == other.users
            and self.exposures == other.exposures
            and {k: v for k, v in self.converters.items() if v}
            == {k: v for k, v in other.converters.items() if v}
            and {k: v for k, v in self.events.items() if v}
            == {k: v for k, v in other.events.items() if v}
        )
        return (
            ints_equal
            and math.isclose(self.value_sum, other.value_sum, rel_tol=rel, abs_tol=1e-9)
            and math.isclose(self.value_sum_sq, other.value_sum_sq, rel_tol=rel, abs_tol=1e-9)
        )


def value_increment(previous_user_total: float, amount: float) -> tuple[float, float]:
    """Increments of (value_sum, value_sum_sq) when a user's running value total goes from
    ``previous_user_total`` to ``previous_user_total + amount``: (amount, 2*prev*amount + amount²).
    The store keeps each user's running total to apply this with ``HINCRBYFLOAT``."""
    return amount, 2 * previous_user_total * amount + amount * amount


# --------------------------------------------------------------------------- raw records


class ExposureRecord(BaseModel):
    """A decision served to a user while assigned to an arm of an experiment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str
    user_id: str
    experiment_id: str
    arm: str
    ts: float = Field(description="Unix time in seconds.")


class OutcomeRecord(BaseModel):
    """A user action reported back (click/accept/purchase), with optional business value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str
    type: EventMetric
    ts: float
    value: float = 0.0
    request_id: str | None = None


class CounterLedger:
    """In-memory, event-by-event counter maintenance: the reference for the Redis store.

    Attribution rule (same as :func:`recompute_counters`): an outcome goes to the exposure of
    this experiment whose ``request_id`` it carries; if it carries none, or one unknown to this
    experiment, to the user's most recent exposure at or before the outcome. Either way it is
    dropped when it happened more than ``attribution_window_s`` after that exposure. Events must
    be fed in time order (exposures first on ties).

    Redis equivalents (all per experiment): the request -> (arm, ts, user) and
    user -> last exposure lookups are keys with a TTL of the window; "user already counted" and
    "user already converted on m" are ``SADD``/``SET NX`` flags; the per-user value total is a
    float key or hash field feeding :func:`value_increment`.
    """

    def __init__(
        self, experiment_id: str, attribution_window_s: float = DEFAULT_ATTRIBUTION_WINDOW_S
    ) -> None:
        self.experiment_id = experiment_id
        self.window = attribution_window_s
        self.counters: dict[str, VariantCounters] = {}
        self._users: set[tuple[str, str]] = set()
        self._request: dict[str, tuple[str, float, str]] = {}
        self._last: dict[str, tuple[str, float]] = {}
        self._converted: set[tuple[str, str, str]] = set()
        self._value: dict[tuple[str, str], float] = {}

    def _arm(self, arm: str) -> VariantCounters:
        return self.counters.setdefault(arm, VariantCounters())

    def record_exposure(self, rec: ExposureRecord) -> None:
        if rec.experiment_id != self.experiment_id:
            return
        c = self._arm(rec.arm)
        c.exposures += 1
        if (rec.arm, rec.user_id) not in self._users:
            self._users.add((rec.arm, rec.user_id))
            c.users += 1
        self._request[rec.request_id] = (rec.arm, rec.ts, rec.user_id)
        self._last[rec.user_id] = (rec.arm, rec.ts)

    def record_outcome(self, rec: OutcomeRecord) -> str | None:
        """Apply one outcome; returns the arm it was attributed to, or None."""
        hit = _attribute(rec, self._request, self._last.get(rec.user_id), self.window)
        if hit is None:
            return None
        arm, user = hit
        c = self._arm(arm)
        c.events[rec.type] = c.events.get(rec.type, 0) + 1
        if (arm, user, rec.type) not in self._converted:
            self._converted.add((arm, user, rec.type))
            c.converters[rec.type] = c.converters.get(rec.type, 0) + 1
        if rec.value:
            prev = self._value.get((arm, user), 0.0)
            d_sum, d_sq = value_increment(prev, rec.value)
            self._value[(arm, user)] = prev + rec.value
            c.value_sum += d_sum
            c.value_sum_sq += d_sq
        return arm


def _attribute(
    rec: OutcomeRecord,
    by_request: Mapping[str, tuple[str, float, str]],
    latest: tuple[str, float] | None,
    window: float,
) -> tuple[str, str] | None:
    """(arm, user) credited with ``rec``, or None. A request-id match credits the user of that
    exposure (ids can change between the decision and the outcome, e.g. at login)."""
    if rec.request_id is not None and rec.request_id in by_request:
        arm, ts, user = by_request[rec.request_id]
    elif latest is not None and latest[1] <= rec.ts:
        (arm, ts), user = latest, rec.user_id
    else:
        return None
    return (arm, user) if rec.ts - ts <= window else None


def recompute_counters(
    exposures: Iterable[ExposureRecord],
    outcomes: Iterable[OutcomeRecord],
    attribution_window_s: float = DEFAULT_ATTRIBUTION_WINDOW_S,
    experiment_id: str | None = None,
) -> dict[str, VariantCounters]:
    """Counters per arm rebuilt from raw records (batch; order-independent).

    Only exposures of ``experiment_id`` are used; if it is None the exposures must all belong
    to a single experiment. Attribution as in :class:`CounterLedger`.
    """
    exps = list(exposures)
    ids = {e.experiment_id for e in exps}
    if experiment_id is None:
        if len(ids) > 1:
            raise ValueError(f"exposures of several experiments {sorted(ids)}: pass experiment_id")
    else:
        exps = [e for e in exps if e.experiment_id == experiment_id]

    counters: dict[str, VariantCounters] = {}
    users: dict[str, set[str]] = {}
    by_request: dict[str, tuple[str, float, str]] = {}
    by_user: dict[str, list[tuple[float, str]]] = {}
    for e in exps:
        c = counters.setdefault(e.arm, VariantCounters())
        c.exposures += 1
        users.setdefault(e.arm, set()).add(e.user_id)
        by_request[e.request_id] = (e.arm, e.ts, e.user_id)
        by_user.setdefault(e.user_id, []).append((e.ts, e.arm))
    for arm, members in users.items():
        counters[arm].users = len(members)
    for history in by_user.values():
        history.sort(key=lambda x: x[0])

    converted: dict[tuple[str, EventMetric], set[str]] = {}
    value: dict[tuple[str, str], float] = {}
    for o in outcomes:
        latest: tuple[str, float] | None = None
        for ts, arm in by_user.get(o.user_id, []):  # last exposure at or before the outcome
            if ts > o.ts:
                break
            latest = (arm, ts)
        hit = _attribute(o, by_request, latest, attribution_window_s)
        if hit is None:
            continue
        arm, user = hit
        c = counters[arm]
        c.events[o.type] = c.events.get(o.type, 0) + 1
        converted.setdefault((arm, o.type), set()).add(user)
        if o.value:
            value[(arm, user)] = value.get((arm, user), 0.0) + o.value
    for (arm, metric), who in converted.items():
        counters[arm].converters[metric] = len(who)
    for (arm, _user), total in value.items():
        counters[arm].value_sum += total
        counters[arm].value_sum_sq += total * total
    return counters


# --------------------------------------------------------------------------- results


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
