"""Business levers: multipliers the business sets on actions, categories and kinds.

A lever is a factor in ``[0, 10]`` in the arbitration product (see
:mod:`recommender.arbitration`): ``2`` doubles an action's priority, ``0.5`` halves it,
``0`` switches it off (it is filtered out, and counted as removed by ``lever``).

An action's lever is the product of up to three factors, each 1 when unset:

* its own entry in ``actions``;
* the entry of its **most specific** category prefix in ``categories`` (so with
  ``books: 0.5`` and ``books/fiction: 2`` fiction gets 2 and other books 0.5);
* the entry of its kind in ``kinds``.

Levers live in Redis as one JSON document with a version counter; every worker holds
them in memory (:class:`recommender.state.LiveState`) and reloads them when the version
changes (``service.runtime``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, field_validator

from domain.actions import CATEGORY_PATTERN, Action, ActionKind, category_levels, check_category
from domain.values import ACTION_ID_PATTERN, ActionId, JsonInt
from recommender.documents import VersionedDocument

__all__ = ["LeverStore", "Levers"]

ACTION_ID, CATEGORY = ACTION_ID_PATTERN, CATEGORY_PATTERN
Factor = Annotated[StrictFloat, Field(ge=0.0, le=10.0)]


class Levers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    version: JsonInt = Field(default=0, description="Set by the server on every change.")
    actions: Annotated[
        dict[ActionId, Factor],
        Field(max_length=100_000, json_schema_extra={"propertyNames": {"pattern": ACTION_ID}}),
    ] = {}
    categories: Annotated[
        dict[str, Factor],
        Field(max_length=10_000, json_schema_extra={"propertyNames": {"pattern": CATEGORY}}),
    ] = {}
    kinds: dict[ActionKind, Factor] = {}

    @field_validator("categories")
    @classmethod
    def _paths(cls, v: dict[str, float]) -> dict[str, float]:
        for prefix in v:
            check_category(prefix)
        return v

    def of(self, action: Action) -> float:
        """The action's lever: action x most specific category prefix x kind."""
        factor = self.actions.get(action.id, 1.0)
        if self.categories:
            for level in reversed(category_levels(action.category)):
                if level in self.categories:
                    factor *= self.categories[level]
                    break
        return factor * self.kinds.get(action.kind, 1.0)


class LeverStore(VersionedDocument[Levers]):
    """The levers document in one Redis hash (``doc``, ``version``), changed atomically."""

    def __init__(self, redis: Any, *, key: str) -> None:
        super().__init__(redis, key=key, model=Levers, default=Levers())

    async def put(self, levers: Levers) -> Levers:
        """Replace all levers; returns them with their new version."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self.queue_write(pipe, levers)
            _, version = await pipe.execute()
        return self.with_version(levers, version)
