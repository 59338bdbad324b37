"""Small value types shared by every floor: ids, codes, channels, integers and money."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictFloat

Channel = Literal["web", "app", "contact_center", "store", "email", "chat"]
CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]

ACTION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"
ActionId = Annotated[str, Field(pattern=ACTION_ID_PATTERN)]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2}$")]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


def _integer(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a valid integer")
    return value


#: an integer as JSON Schema means it: 5 or 5.0, never true or "5". Put it after any
#: Field(...) constraints (``Annotated[int, Field(ge=1), INTEGER]``) so they stay in the schema
INTEGER = BeforeValidator(_integer)
JsonInt = Annotated[int, INTEGER]

#: the largest business value or price accepted (so sums of them stay far from overflowing)
MAX_MONEY = 1e12
Money = Annotated[
    StrictFloat,
    Field(ge=0, le=MAX_MONEY, allow_inf_nan=False, description="Finite, 0 to 1e12."),
]


def duplicated(values: Iterable[str]) -> list[str]:
    """The values that occur more than once, sorted (for "must be unique" messages)."""
    return sorted(value for value, n in Counter(values).items() if n > 1)
