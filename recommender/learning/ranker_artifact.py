"""Latent-factor rankers as versioned artifacts (:mod:`artifacts.store`: skops, never pickle).

A ranker directory holds ``model.skops`` and ``metadata.json``, like an intent model. Beyond
the generic checks (trusted types, file matches metadata, scikit-learn major version), loading
refuses a file that holds anything but a fitted :class:`ImplicitALS`, and one whose factor
shape differs from its metadata.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from artifacts.store import (
    METADATA_FILE,
    MODEL_FILE,
    ArtifactKind,
    ArtifactMetadata,
    UntrustedModelError,
    dumps,
    load_trusted,
)
from recommender.learning.factors import ImplicitALS

TRUSTED_TYPES: tuple[str, ...] = ("recommender.learning.factors.ImplicitALS",)

__all__ = [
    "METADATA_FILE",
    "MODEL_FILE",
    "RANKERS",
    "RankerMetadata",
    "dumps_ranker",
    "load_metadata",
    "load_ranker",
    "loads_ranker",
    "save_ranker",
]


class RankerMetadata(ArtifactMetadata):
    version: str = Field(description="ranker-<UTC timestamp>-<first 8 hex of model sha256>")
    kind: str = "implicit_als"
    n_items: int
    n_factors: int
    n_users: int | None = None
    n_events: int | None = None


def _fitted(model: object) -> bool:
    return isinstance(model, ImplicitALS) and hasattr(model, "item_factors_")


def dumps_ranker(model: ImplicitALS) -> bytes:
    """Serialise a fitted ranker (without user factors) to skops bytes."""
    if not _fitted(model) or model.item_ids_ is None:
        raise TypeError("dumps_ranker needs an ImplicitALS fitted with item_ids")
    state = {k: v for k, v in vars(model).items() if k != "_index_cache"}
    clean = ImplicitALS(**model.get_params())
    clean.__dict__.update(state)
    clean.compact()
    return dumps(clean)


def loads_ranker(data: bytes) -> ImplicitALS:
    model = load_trusted(data, TRUSTED_TYPES, "ranker")
    if not _fitted(model):
        raise UntrustedModelError(f"expected a fitted ImplicitALS, got {type(model).__name__}")
    assert isinstance(model, ImplicitALS)
    return model


def _describe(model: ImplicitALS) -> dict[str, Any]:
    n_items, n_factors = model.item_factors_.shape
    return {"n_items": int(n_items), "n_factors": int(n_factors)}


def _mismatch(model: ImplicitALS, meta: RankerMetadata) -> str | None:
    if model.item_factors_.shape == (meta.n_items, meta.n_factors):
        return None
    return "factor shape differs from metadata.json"


#: Rankers as a kind of artifact; the caller's ``metadata`` may also give ``n_users`` and
#: ``n_events``.
RANKERS: ArtifactKind[ImplicitALS, RankerMetadata] = ArtifactKind(
    kind="ranker",
    metadata_model=RankerMetadata,
    dumps=dumps_ranker,
    loads=loads_ranker,
    describe=_describe,
    mismatch=_mismatch,
    own_given=("n_users", "n_events"),
)

save_ranker = RANKERS.save
load_metadata = RANKERS.load_metadata
load_ranker = RANKERS.load
