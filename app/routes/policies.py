"""The contact policy: ``GET/PUT /v1/policies/contact[/{channel}]`` (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.deps import AdminKey, ServicesDep
from app.routing import GuardedRoute
from domain.values import Channel
from recommender.policy import ChannelPolicy, ContactPolicy

router = APIRouter(prefix="/v1/policies/contact", tags=["arbitration"], route_class=GuardedRoute)


class ContactPolicyOut(BaseModel):
    version: int
    channels: dict[str, ChannelPolicy] = Field(
        description="Every channel's policy (channels never set use the defaults)."
    )


class ContactPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: Annotated[dict[Channel, ChannelPolicy], Field(min_length=1)] = Field(
        description="Channels to replace; the others keep their policy."
    )


class ChannelPolicyOut(BaseModel):
    version: int
    channel: str
    policy: ChannelPolicy


def _out(policy: ContactPolicy) -> ContactPolicyOut:
    return ContactPolicyOut(version=policy.version, channels=policy.all_channels())


@router.get("", response_model=ContactPolicyOut)
async def get_contact_policy(services: ServicesDep, _key: AdminKey) -> ContactPolicyOut:
    """Caps, suppression and snooze of every channel."""
    return _out(await services.policies.get())


@router.put("", response_model=ContactPolicyOut)
async def put_contact_policy(
    body: ContactPolicyIn, services: ServicesDep, _key: AdminKey
) -> ContactPolicyOut:
    """Replace the policy of the channels in the body; every worker reloads it."""
    policy = await services.policies.put(body.channels)
    await services.runtime.refresh()
    return _out(policy)


@router.get("/{channel}", response_model=ChannelPolicyOut)
async def get_channel_policy(
    channel: Channel, services: ServicesDep, _key: AdminKey
) -> ChannelPolicyOut:
    """One channel's caps, suppression and snooze."""
    policy = await services.policies.get()
    return ChannelPolicyOut(version=policy.version, channel=channel, policy=policy.of(channel))


@router.put("/{channel}", response_model=ChannelPolicyOut)
async def put_channel_policy(
    channel: Channel, body: ChannelPolicy, services: ServicesDep, _key: AdminKey
) -> ChannelPolicyOut:
    """Replace one channel's policy; every worker reloads it."""
    policy = await services.policies.put({channel: body})
    await services.runtime.refresh()
    return ChannelPolicyOut(version=policy.version, channel=channel, policy=policy.of(channel))
