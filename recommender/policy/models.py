"""The contact policy document: caps, suppression and snooze per channel."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from domain.actions import Action, CatalogItem
from domain.values import CHANNELS, INTEGER, Channel

DAY = 86_400
#: longest window a cap may use (bounds what each user's ``contact`` set keeps)
MAX_WINDOW_S = 366 * DAY
#: how long impressions are kept for per-session caps
SESSION_HORIZON_S = DAY


class ContactCap(BaseModel):
    """At most ``max`` impressions of one group of actions per user in the channel."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    scope: Literal["action", "category", "kind"]
    match: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        default=None,
        description="Action id, category prefix or kind the cap is about; unset: the cap "
        "holds for each action / leaf category / kind on its own.",
    )
    max: Annotated[int, Field(ge=1, le=10_000), INTEGER]
    window_s: Annotated[int, Field(ge=1, le=MAX_WINDOW_S), INTEGER] | None = Field(
        default=None, description="Sliding window in seconds."
    )
    per_session: StrictBool = Field(
        default=False,
        description="Count within the session (e.g. one call) instead of a window; a "
        "request without session_id counts only its own answer.",
    )

    @model_validator(mode="after")
    def _one_window(self) -> ContactCap:
        if (self.window_s is None) == (not self.per_session):
            raise ValueError("a cap needs exactly one of window_s or per_session: true")
        return self


class Suppression(BaseModel):
    """After ``after`` declines/dismissals within ``within_s``: hidden for ``cooldown_s``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    after: Annotated[int, Field(ge=1, le=100), INTEGER] = 2
    within_s: Annotated[int, Field(ge=1, le=MAX_WINDOW_S), INTEGER] = 30 * DAY
    cooldown_s: Annotated[int, Field(ge=1, le=MAX_WINDOW_S), INTEGER] = 14 * DAY


class ChannelPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    caps: Annotated[list[ContactCap], Field(max_length=50)] = []
    suppression: Suppression | None = Field(
        default_factory=Suppression, description="null: declines never suppress."
    )
    snooze_s: Annotated[int, Field(ge=0, le=MAX_WINDOW_S), INTEGER] = Field(
        default=3 * DAY, description="How long 'maybe later' hides an action (0: not at all)."
    )


def _default_channels() -> dict[Channel, ChannelPolicy]:
    return {
        "contact_center": ChannelPolicy(
            caps=[
                ContactCap(scope="kind", match="retention", max=3, window_s=7 * DAY),
                ContactCap(scope="kind", match="agent", max=1, per_session=True),
            ]
        )
    }


class ContactPolicy(BaseModel):
    """The policy of every channel; a channel without an entry uses ``ChannelPolicy()``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    version: int = 0
    channels: dict[Channel, ChannelPolicy] = Field(default_factory=_default_channels)

    def of(self, channel: str) -> ChannelPolicy:
        for name, policy in self.channels.items():
            if name == channel:
                return policy
        return ChannelPolicy()

    def all_channels(self) -> dict[str, ChannelPolicy]:
        return {c: self.of(c) for c in CHANNELS}

    def horizon_s(self) -> int:
        """How far back any rule of any channel looks (impressions older are pruned)."""
        windows = [SESSION_HORIZON_S]
        for p in self.channels.values():
            windows.extend(c.window_s for c in p.caps if c.window_s is not None)
        return max(windows)

    def feedback_horizon_s(self) -> int:
        """How long declines and snoozes matter in the strictest channel."""
        spans = [DAY]
        for p in self.all_channels().values():
            if p.suppression is not None:
                spans.append(p.suppression.within_s + p.suppression.cooldown_s)
            spans.append(p.snooze_s)
        return max(spans)


DEFAULT_POLICY = ContactPolicy()


def _under(category: str, prefix: str) -> bool:
    return category == prefix or category.startswith(prefix + "/")


def _applies(cap: ContactCap, action: Action | CatalogItem) -> bool:
    if cap.match is None:
        return True
    if cap.scope == "action":
        return action.id == cap.match
    if cap.scope == "kind":
        return action.kind == cap.match
    return _under(action.category, cap.match)


def counted(policy: ContactPolicy, action: Action | CatalogItem) -> bool:
    """Whether some rule in some channel could count impressions of ``action``."""
    if action.cap is not None:
        return True
    return any(_applies(c, action) for p in policy.channels.values() for c in p.caps)
