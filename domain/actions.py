"""Catalog entries ("actions"): what Waypoint can show or do, with their rules and caps."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from domain.values import (
    INTEGER,
    ActionId,
    Channel,
    CountryCode,
    LanguageCode,
    Money,
)

ActionKind = Literal["product", "offer", "content", "service", "retention", "social", "agent"]
ACTION_KINDS: tuple[str, ...] = ActionKind.__args__  # type: ignore[attr-defined]

T = TypeVar("T")

CATEGORY_PATTERN = r"^[a-z0-9_]+(/[a-z0-9_]+)*$"
_CATEGORY = re.compile(CATEGORY_PATTERN)


RuleOp = Literal["eq", "ne", "in", "not_in", "contains", "not_contains", "gte", "lte", "exists"]


class Rule(BaseModel):
    """One eligibility condition on the profile or the live context.

    ``field`` is a dotted path such as ``profile.segments`` or ``context.device``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: Annotated[str, Field(pattern=r"^(profile|context)\.[a-z_][a-z0-9_.]*$")]
    op: RuleOp
    value: Any = None


class Cap(BaseModel):
    """At most ``max_impressions`` impressions of the action per user per ``per_seconds``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_impressions: Annotated[int, Field(ge=1, le=10_000), INTEGER]
    per_seconds: Annotated[int, Field(ge=1, le=366 * 86_400), INTEGER]


def category_levels(category: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b", "a/b/c"]``."""
    parts = category.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def check_category(value: str) -> str:
    if not _CATEGORY.match(value):
        raise ValueError(
            "category must be a lower-case path of [a-z0-9_] segments joined by '/', "
            f"e.g. 'books/fiction/crime' (got {value!r})"
        )
    return value


class Action(BaseModel):
    """A catalog entry: something Waypoint can show or do for a customer."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: ActionId
    kind: ActionKind
    title: dict[LanguageCode, Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        json_schema_extra={"minProperties": 1}
    )
    description: dict[LanguageCode, Annotated[str, Field(max_length=2000)]] = {}
    category: str = Field(json_schema_extra={"pattern": CATEGORY_PATTERN})
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    channels: list[Channel] = Field(default=[], description="Empty means every channel.")
    regions: list[CountryCode] = Field(default=[], description="Empty means every country.")
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    value: Annotated[Money, Field(description="Business value of an accept/purchase.")] = 0.0
    price: Money | None = None
    eligibility: list[Rule] = []
    cap: Cap | None = None
    explore: StrictBool = Field(
        default=True, description="False for regulated offers: never explored."
    )

    _check_category = field_validator("category")(classmethod(lambda cls, v: check_category(v)))

    @model_validator(mode="after")
    def _check(self) -> Action:
        if not self.title:
            raise ValueError("title needs at least one language, e.g. {'en': '...'}")
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.title)

    @property
    def top_category(self) -> str:
        return self.category.split("/", 1)[0]

    def title_in(self, language: str | None) -> str:
        if language and language in self.title:
            return self.title[language]
        return self.title.get("en") or next(iter(self.title.values()))


#: values many actions hold equal copies of (lists of title languages, channels and
#: regions; caps; eligibility rule sets), each kept once: a worker holding 100,000 actions
#: then holds a handful of each instead of one per action (bounded: past the bound, new
#: values are not shared)
_SHARED: dict[object, Any] = {}
_MAX_SHARED = 8192


def _shared(key: object, value: T) -> T:
    found: T | None = _SHARED.get(key)
    if found is not None:
        return found
    if len(_SHARED) < _MAX_SHARED:
        _SHARED[key] = value
    return value


def shared_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple per distinct list of names, the names interned."""
    if not names:
        return ()
    key = ("names", names)
    found: tuple[str, ...] | None = _SHARED.get(key)
    if found is not None:
        return found
    return _shared(key, tuple(sys.intern(name) for name in names))


def shared_cap(cap: Cap | None) -> Cap | None:
    return None if cap is None else _shared(("cap", cap.max_impressions, cap.per_seconds), cap)


def shared_rules(rules: Sequence[Rule]) -> tuple[Rule, ...]:
    """One tuple per distinct rule set (equal as JSON: a rule's value may be a list)."""
    if not rules:
        return ()
    return _shared(("rules", tuple(r.model_dump_json() for r in rules)), tuple(rules))


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """What a worker keeps in memory of an action: the fields a decision, an event and an
    answer read. Descriptions, tags, validity and the like live in the catalog's columns
    and indexes (:mod:`recommender.catalog`), and the full entry in Redis."""

    id: str
    kind: str
    category: str
    #: the title languages, in the entry's order (one shared tuple per language list:
    #: a catalog has few), and the title in each
    title_languages: tuple[str, ...]
    title_texts: tuple[str, ...]
    value: float = 0.0
    price: float | None = None
    explore: bool = True
    cap: Cap | None = None
    channels: tuple[str, ...] = ()
    eligibility: tuple[Rule, ...] = ()
    #: interned: the same few tags recur across a catalog
    tags: tuple[str, ...] = ()

    @classmethod
    def of(cls, action: Action) -> CatalogItem:
        return cls(
            id=action.id,
            kind=sys.intern(action.kind),
            category=sys.intern(action.category),
            title_languages=shared_names(tuple(action.title)),
            title_texts=tuple(action.title.values()),
            value=action.value,
            price=action.price,
            explore=action.explore,
            cap=shared_cap(action.cap),
            channels=shared_names(tuple(action.channels)),
            eligibility=shared_rules(action.eligibility),
            tags=tuple(sys.intern(t) for t in action.tags),
        )

    @property
    def titles(self) -> tuple[tuple[str, str], ...]:
        """``(language, title)`` pairs, in the entry's order."""
        return tuple(zip(self.title_languages, self.title_texts, strict=True))

    @property
    def title(self) -> dict[str, str]:
        return dict(zip(self.title_languages, self.title_texts, strict=True))

    @property
    def top_category(self) -> str:
        return self.category.split("/", 1)[0]

    def title_in(self, language: str | None) -> str:
        first = self.title_texts[0]
        english = None
        for lang, text in zip(self.title_languages, self.title_texts, strict=True):
            if lang == language:
                return text
            if lang == "en":
                english = text
        return english or first
