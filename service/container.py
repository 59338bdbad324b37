"""The composition root: builds every long-lived component from settings and a client."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from context.decay import Decay
from context.events import EventPlanner
from context.ingest import EventIngestor
from context.store import UserStore
from domain.keys import GlobalKeys
from experiments.service import ExperimentService
from experiments.store import ExperimentStore
from intent.cache import PredictionCache
from intent.learned import LearnedExamples
from intent.lifecycle import register_dir
from intent.registry import ModelRegistry
from intent.resolve import ClarifyPolicy
from intent.store import TaxonomyStore
from intent.taxonomy import Taxonomy
from recommender.catalog import CatalogStore
from recommender.controls.levers import LeverStore
from recommender.controls.policy import ContactEnforcer, PolicyStore
from recommender.decision.arbiter import Arbiter, ArbitrationSource
from recommender.decision.log import DecisionLog
from recommender.learning.cooccurrence_store import CooccurrenceObserver, CooccurrenceStore
from recommender.learning.propensity_store import PropensityObserver, PropensityStore
from recommender.learning.ranker_registry import RankerRegistry
from recommender.pipeline import Recommender
from recommender.retrieval import Limits
from service.memory import tune_malloc
from service.runtime import Runtime
from service.settings import Settings

DAY = 86_400.0
log = logging.getLogger("waypoint")


@dataclass
class Services:
    settings: Settings
    redis: Any
    keys: GlobalKeys
    users: UserStore
    catalog: CatalogStore
    taxonomy: TaxonomyStore
    models: ModelRegistry
    runtime: Runtime
    recommender: Recommender
    ingestor: EventIngestor
    experiments: ExperimentService
    learned: LearnedExamples
    #: latent-factor rankers (recommender.learning.ranker_registry)
    rankers: RankerRegistry
    #: business levers, contact policy (recommender.controls), decision log (decision.log)
    levers: LeverStore
    policies: PolicyStore
    decision_log: DecisionLog


def build_services(settings: Settings, redis: Any) -> Services:
    tune_malloc(settings.malloc_arenas, settings.malloc_mmap_threshold)
    keys = GlobalKeys(settings.key_prefix)
    affinity = Decay(settings.affinity_half_life_days * DAY)
    fatigue = Decay(DAY)
    users = UserStore(
        redis,
        prefix=settings.key_prefix,
        affinity=affinity,
        fatigue=fatigue,
        dedup_ttl_s=settings.event_dedup_ttl_s,
    )
    planner = EventPlanner(
        affinity=affinity,
        fatigue=fatigue,
        journey_ttl_s=settings.journey_ttl_s,
        fatigue_actions=settings.fatigue_actions,
    )
    catalog = CatalogStore(redis, keys)
    taxonomy = TaxonomyStore(redis, key=keys.taxonomy, version_key=keys.taxonomy_version)
    models = ModelRegistry(
        redis,
        index_key=keys.intent_models.index,
        blob_prefix=keys.intent_models.blob_prefix,
        active_key=keys.intent_models.active,
    )
    learned = LearnedExamples(redis, key=keys.clarify_examples)
    popularity_decay = Decay(7 * DAY)
    experiments = ExperimentService(ExperimentStore(redis, prefix=settings.key_prefix))
    rankers = RankerRegistry(redis, prefix=settings.key_prefix)
    cooccurrence = CooccurrenceStore(
        redis, prefix=settings.key_prefix, min_interval_s=max(1.0, 5 * settings.reload_interval_s)
    )
    levers = LeverStore(redis, key=keys.levers)
    policies = PolicyStore(redis, key=keys.contact_policy)
    propensity = PropensityStore(redis, prefix=settings.key_prefix)
    decision_log = DecisionLog(redis, key=keys.decisions)
    arbiter = Arbiter(
        enforcer=ContactEnforcer(redis), propensity=propensity, decision_log=decision_log
    )
    runtime = Runtime(
        redis,
        keys,
        catalog=catalog,
        taxonomy=taxonomy,
        models=models,
        popularity_decay=popularity_decay,
        experiments=experiments.store,
        neighbours=cooccurrence,
        rankers=rankers,
        arbitration=ArbitrationSource(levers=levers, policies=policies, propensity=propensity),
        prediction_cache=PredictionCache(size=settings.intent_cache_size),
    )
    return Services(
        settings=settings,
        redis=redis,
        keys=keys,
        users=users,
        catalog=catalog,
        taxonomy=taxonomy,
        models=models,
        runtime=runtime,
        recommender=Recommender(
            users,
            planner,
            journey_ttl_s=settings.journey_ttl_s,
            policy=experiments,
            learned=learned,
            clarify=ClarifyPolicy(
                below=settings.clarify_below, runner_up=settings.clarify_runner_up
            ),
            arbiter=arbiter,
            neutral=tuple(settings.neutral_categories),
            retrieval=Limits(
                query=settings.retrieval_query,
                category=settings.retrieval_category,
                history=settings.retrieval_history,
            ),
        ),
        learned=learned,
        ingestor=EventIngestor(
            users,
            planner,
            popularity_key=keys.popularity,
            popularity_decay=popularity_decay,
            learned=learned,
            observers=[
                experiments,
                # written no more often than the loader reads them
                CooccurrenceObserver(
                    redis, prefix=settings.key_prefix, flush_interval_s=cooccurrence.min_interval_s
                ),
                PropensityObserver(propensity, key_prefix=settings.key_prefix, sink=decision_log),
            ],
            write_timeout_s=settings.event_write_timeout_s,
            clock_skew_s=settings.clock_skew_s,
        ),
        experiments=experiments,
        rankers=rankers,
        levers=levers,
        policies=policies,
        decision_log=decision_log,
    )


async def load_configured_model(services: Services) -> None:
    """Register and activate ``settings.intent_model_dir`` when no model is active yet."""
    model_dir = services.settings.intent_model_dir
    if model_dir is None or await services.models.active_version() is not None:
        return
    taxonomy, _ = await services.taxonomy.get()
    meta = await register_dir(services.models, model_dir, taxonomy or Taxonomy())
    log.info("intent model %s loaded from %s and activated", meta.version, model_dir)
