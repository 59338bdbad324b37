"""Latent-factor rankers as versioned artifacts (:mod:`artifacts.store`: skops, never pickle).

A ranker directory holds ``model.skops`` and ``metadata.json``, like an intent model. Beyond
the generic checks (trusted types, file matches metadata, scikit-learn major version), loading
refuses a file that holds anything but a fitted :class:`ImplicitALS`, and one whose factor
shape differs from its metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from artifacts.store import (
    METADATA_FILE,
    MODEL_FILE,
    ArtifactMetadata,
    ModelCompatibilityError,
    UntrustedModelError,
    dumps,
    load_trusted,
    new_metadata,
    read_dir,
    write_dir,
)
from artifacts.store import load_metadata as load_artifact_metadata
from recommender.factors import ImplicitALS

TRUSTED_TYPES: tuple[str, ...] = ("recommender.factors.ImplicitALS",)

__all__ = [
    "METADATA_FILE",
    "MODEL_FILE",
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


def save_ranker(
    model: ImplicitALS, out_dir: str | Path, *, metadata: Mapping[str, Any] | None = None
) -> RankerMetadata:
    """Write ``model.skops`` and ``metadata.json`` to ``out_dir`` (created if needed).

    ``metadata`` may give ``metrics``, ``params``, ``training_data_sha256``, ``n_users``,
    ``n_events``, ``training_seconds``; other keys are kept under ``extra``.
    """
    data = dumps_ranker(model)
    meta = new_metadata(
        RankerMetadata,
        data,
        metadata,
        kind="ranker",
        default_params=model.get_params(),
        own_given=("n_users", "n_events"),
        n_items=int(model.item_factors_.shape[0]),
        n_factors=int(model.item_factors_.shape[1]),
    )
    return write_dir(out_dir, data, meta)


def load_metadata(model_dir: str | Path) -> RankerMetadata:
    return load_artifact_metadata(model_dir, RankerMetadata)


def load_ranker(model_dir: str | Path) -> tuple[ImplicitALS, RankerMetadata]:
    data, meta = read_dir(model_dir, RankerMetadata)
    model = loads_ranker(data)
    if model.item_factors_.shape != (meta.n_items, meta.n_factors):
        raise ModelCompatibilityError(f"{model_dir}: factor shape differs from metadata.json")
    return model, meta
