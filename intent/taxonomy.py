"""The intent taxonomy: what a customer can want, and what each intent allows."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.actions import ActionKind, check_category
from domain.values import duplicated

IntentName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]

#: Label used in labelled-text files for out-of-scope utterances.
OUT_OF_SCOPE = "oos"


class Intent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: IntentName
    label: dict[str, str] = Field(description="Agent-facing label per language; 'en' required.")
    allowed_categories: list[str] = Field(
        min_length=1, description="Category path prefixes an answer may come from."
    )
    action_kinds: list[ActionKind] = Field(
        default=[], description="If set, only these kinds of action answer the intent."
    )
    clarify_prompt: dict[str, str] = Field(
        default={}, description="Short option text used in clarifying questions, per language."
    )

    @model_validator(mode="after")
    def _check(self) -> Intent:
        if self.name == OUT_OF_SCOPE:
            raise ValueError(f"'{OUT_OF_SCOPE}' is reserved for out-of-scope examples")
        if "en" not in self.label:
            raise ValueError("label needs an 'en' entry")
        for prefix in self.allowed_categories:
            check_category(prefix)
        return self

    def label_in(self, language: str | None) -> str:
        return self.label.get(language or "en") or self.label["en"]

    def allows(self, category: str, kind: str) -> bool:
        if self.action_kinds and kind not in self.action_kinds:
            return False
        return any(
            category == prefix or category.startswith(prefix + "/")
            for prefix in self.allowed_categories
        )


class Taxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    intents: list[Intent] = []

    @model_validator(mode="after")
    def _unique(self) -> Taxonomy:
        dupes = duplicated(i.name for i in self.intents)
        if dupes:
            raise ValueError(f"duplicate intent names: {', '.join(dupes)}")
        return self

    def get(self, name: str) -> Intent | None:
        return next((i for i in self.intents if i.name == name), None)

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.intents]
