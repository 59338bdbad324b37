"""The Redis key scheme.

Every key about one user carries the hash tag ``{u:<id>}`` so that, on Redis Cluster,
all of them live on one slot: one pipelined round trip reads them, one Lua script can
update them atomically, and erasing a user touches one node.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UserKeys:
    prefix: str
    user_id: str

    def _k(self, name: str) -> str:
        return f"{self.prefix}:{{u:{self.user_id}}}:{name}"

    @property
    def profile(self) -> str:
        """Hash: attributes (JSON), segments (JSON), counters."""
        return self._k("profile")

    @property
    def category_affinity(self) -> str:
        """Hash: category path -> decayed score (see context.decay)."""
        return self._k("aff:cat")

    @property
    def item_affinity(self) -> str:
        """Hash: action id -> decayed score."""
        return self._k("aff:item")

    @property
    def owned(self) -> str:
        """Set: action ids bought or accepted (never offered again)."""
        return self._k("owned")

    @property
    def impressions(self) -> str:
        """Hash: action id -> decayed impression count (fatigue)."""
        return self._k("imp")

    @property
    def journey(self) -> str:
        """Hash with a TTL: live journey context of the current session."""
        return self._k("journey")

    @property
    def steps(self) -> str:
        """List with a TTL: recent journey steps (JSON), newest first."""
        return self._k("steps")

    @property
    def history(self) -> str:
        """List: recent accepted events (JSON), newest first, capped."""
        return self._k("history")

    @property
    def recent_items(self) -> str:
        """List: recent item events as ``"<ts> <type> <item_id> <event_id>"``, newest first,
        capped like the history (read by the co-occurrence learner, which would otherwise
        parse the history's JSON)."""
        return self._k("items")

    @property
    def seen_events(self) -> str:
        """Sorted set: event_id -> time accepted (idempotency window)."""
        return self._k("seen")

    @property
    def open_intents(self) -> str:
        """Hash: intent name -> JSON (intents that ended without an outcome)."""
        return self._k("open")

    @property
    def experiments(self) -> str:
        """Hash: experiment namespace -> sticky assignment (JSON), plus attribution fields."""
        return self._k("exp")

    @property
    def contact(self) -> str:
        """Sorted set: impressions reserved by the contact policy (recommender.controls.policy)."""
        return self._k("contact")

    @property
    def feedback(self) -> str:
        """Hash: declines/dismissals (``n:<event_id>``) and snoozes (``s:<action>``)."""
        return self._k("fb")

    @property
    def served(self) -> str:
        """Hash: action id -> latest impression (JSON: request, bucket) for attribution."""
        return self._k("served")

    def all(self) -> list[str]:
        return [
            self.contact,
            self.feedback,
            self.served,
            self.profile,
            self.category_affinity,
            self.item_affinity,
            self.owned,
            self.impressions,
            self.journey,
            self.steps,
            self.history,
            self.recent_items,
            self.seen_events,
            self.open_intents,
            self.experiments,
        ]

    @property
    def pattern(self) -> str:
        """A SCAN pattern matching every key of this user (used by tests and audits)."""
        escaped = self.user_id.replace("\\", "\\\\")
        for ch in "*?[]":
            escaped = escaped.replace(ch, "\\" + ch)
        return f"{self.prefix}:{{u:{escaped}}}:*"


@dataclass(frozen=True)
class GlobalKeys:
    prefix: str

    @property
    def catalog_tag(self) -> str:
        """The hash tag every catalog key shares, so one transaction (or script) can touch
        the items, the version and the change log together, also on Redis Cluster."""
        return f"{{{self.prefix}:catalog}}"

    @property
    def catalog_items(self) -> str:
        """Hash: action id -> action JSON."""
        return f"{self.catalog_tag}:items"

    @property
    def catalog_version(self) -> str:
        """String: the catalog version, bumped by every change."""
        return f"{self.catalog_tag}:version"

    @property
    def catalog_changes(self) -> str:
        """Stream: one entry per catalog version (the ids it changed), so workers apply
        deltas instead of re-reading the whole catalog."""
        return f"{self.catalog_tag}:changes"

    @property
    def intents_tag(self) -> str:
        """The hash tag of the intent configuration (taxonomy and its version, models, their
        files, the active model, learned examples): one slot, so a transaction can store a
        model file with its metadata, or read the taxonomy with its version."""
        return f"{{{self.prefix}:intents}}"

    @property
    def taxonomy(self) -> str:
        return f"{self.intents_tag}:taxonomy"

    @property
    def taxonomy_version(self) -> str:
        return f"{self.intents_tag}:taxonomy:version"

    @property
    def intent_models(self) -> ArtifactKeys:
        """The intent models (on the intents slot)."""
        return ArtifactKeys(self.intents_tag)

    @property
    def clarify_examples(self) -> str:
        """Stream of labelled examples learned from clarify answers."""
        return f"{self.intents_tag}:learned"

    @property
    def ranker_tag(self) -> str:
        """The hash tag of the latent-factor rankers (index, files, active version)."""
        return f"{{{self.prefix}:ranker}}"

    @property
    def rankers(self) -> ArtifactKeys:
        return ArtifactKeys(self.ranker_tag)

    @property
    def popularity(self) -> str:
        """Hash: action id -> decayed count of positive events by anyone."""
        return f"{self.prefix}:popularity"

    @property
    def decisions(self) -> str:
        """Stream: the decision log (recommender.decision.log), trimmed with MAXLEN ~."""
        return f"{self.prefix}:decisions"

    @property
    def levers(self) -> str:
        """Hash: business levers document and its version (recommender.controls.levers)."""
        return f"{self.prefix}:levers"

    @property
    def contact_policy(self) -> str:
        """Hash: contact policy document and its version (recommender.controls.policy)."""
        return f"{self.prefix}:policies:contact"


@dataclass(frozen=True)
class ArtifactKeys:
    """One family of versioned model files (:mod:`artifacts.registry`), all under one hash
    tag so a transaction can store a file with its metadata."""

    tag: str

    @property
    def index(self) -> str:
        """Hash: version -> metadata JSON."""
        return f"{self.tag}:models"

    @property
    def blob_prefix(self) -> str:
        """Followed by the version: the string holding that version's file."""
        return f"{self.tag}:model:"

    def blob(self, version: str) -> str:
        return f"{self.blob_prefix}{version}"

    @property
    def active(self) -> str:
        """String: the active version."""
        return f"{self.tag}:active"


@dataclass(frozen=True)
class CooccurrenceKeys:
    prefix: str

    def pairs(self, item_id: str) -> str:
        """Hash: neighbour id -> decay-encoded pair weight (see context.decay)."""
        return f"{self.prefix}:cooc:pairs:{item_id}"

    @property
    def mass(self) -> str:
        """Hash: item id -> decay-encoded sum of positive event weights."""
        return f"{self.prefix}:cooc:mass"

    @property
    def version(self) -> str:
        """Counter bumped by every batch that changed a count."""
        return f"{self.prefix}:cooc:version"


@dataclass(frozen=True)
class PropensityKeys:
    prefix: str

    @property
    def impressions(self) -> str:
        """Hash: "<bucket>\\t<action>" -> impressions (recommender.learning.propensity_store)."""
        return f"{self.prefix}:propensity:n"

    @property
    def successes(self) -> str:
        """Hash: "<bucket>\\t<action>" -> attributed successes."""
        return f"{self.prefix}:propensity:s"


@dataclass(frozen=True)
class ExperimentKeys:
    prefix: str

    @property
    def _cfg(self) -> str:
        return f"{self.prefix}:experiments:{{cfg}}"

    @property
    def version(self) -> str:
        return f"{self._cfg}:version"

    @property
    def specs(self) -> str:
        return f"{self._cfg}:specs"

    def audit(self, experiment_id: str) -> str:
        return f"{self._cfg}:audit:{experiment_id}"

    def _data(self, experiment_id: str) -> str:
        return f"{self.prefix}:experiments:{{x:{experiment_id}}}"

    def counters(self, experiment_id: str, arm: str) -> str:
        return f"{self._data(experiment_id)}:counters:{arm}"

    def log(self, experiment_id: str) -> str:
        return f"{self._data(experiment_id)}:log"


@dataclass(frozen=True)
class RateLimitKeys:
    """Rate-limit counters, one hash tag per API key or client address (service.ratelimit)."""

    prefix: str

    def key_counter(self, key_id: str, scope: str, window: int) -> str:
        return f"{self.prefix}:{{rl:key:{key_id}}}:{scope}:{window}"

    def address_counter(self, address: str, window: int) -> str:
        return f"{self.prefix}:{{rl:addr:{address}}}:fail:{window}"
