"""Request context, profile and journey: the values that describe one customer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
)

from domain.values import INTEGER, ActionId, Channel, CountryCode, JsonInt, LanguageCode

UserId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@:\-]+$")]
SessionId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Device = Literal["desktop", "mobile", "tablet", "kiosk", "phone", "other"]


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    country: CountryCode | None = None
    region: Annotated[str, Field(max_length=64)] | None = None
    city: Annotated[str, Field(max_length=128)] | None = None


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    item_id: ActionId | None = None
    url: Annotated[str, Field(max_length=2048)] | None = None


class RequestContext(BaseModel):
    """What the caller knows about the moment: where, how, in which language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Channel = "web"
    language: LanguageCode = "en"
    location: Location | None = None
    device: Device | None = None
    page: Page | None = None

    @property
    def country(self) -> str | None:
        return self.location.country if self.location else None


class Profile(BaseModel):
    """Slow-changing facts about a customer, set by the business (CRM sync)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    segments: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    tenure_months: Annotated[int, Field(ge=0, le=1200), INTEGER] | None = None
    attributes: dict[str, str | StrictBool | JsonInt | StrictFloat | None] = Field(
        default={},
        max_length=64,
        description="Free-form attributes (name, country, language, ...); at most 64.",
    )


class JourneyStep(BaseModel):
    ts: float
    type: str
    channel: str | None = None
    item_id: str | None = None
    query: str | None = None
    intent: str | None = None


class LastAnswer(BaseModel):
    """The actions the journey's last query was answered with, and where."""

    query: str
    channel: str
    shown: list[str] = []


class Journey(BaseModel):
    """Live context of the customer's current journey (expires after inactivity)."""

    session_id: str | None = None
    channel: str | None = None
    channels: list[str] = []
    language: str | None = None
    country: str | None = None
    device: str | None = None
    page_item: str | None = None
    last_query: str | None = None
    last_answer: LastAnswer | None = None
    intent: str | None = None
    intent_confidence: float | None = None
    intent_source: str | None = None
    outcome: bool = False
    clarify_query: str | None = None
    clarify_options: list[str] = []
    updated_at: float | None = None
    steps: list[JourneyStep] = []


class OpenIntent(BaseModel):
    intent: str
    session_id: str | None = None
    last_seen: float
    query: str | None = None
