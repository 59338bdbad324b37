"""Which strategy parameters an experiment may vary, and how a variant's overrides apply.

A variant's :class:`experiments.models.StrategyParams` become a pipeline ``Strategy`` per request
(:func:`apply_params`); parameters the pipeline cannot apply yet are refused at creation
(:func:`check_supported`), and experiments of different namespaces may not vary the same one
(:func:`check_layers`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields as dc_fields
from dataclasses import replace as dc_replace
from typing import Any, Final

from domain.errors import ExperimentError
from experiments.lifecycle import Experiment
from experiments.models import RANKING_WEIGHT_NAMES, ExperimentSpec, StrategyParams
from recommender.pipeline import Strategy
from recommender.scoring import TERMS

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
