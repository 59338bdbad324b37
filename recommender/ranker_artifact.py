"""Persisting latent-factor rankers with skops (never pickle / joblib).

A ranker directory holds ``model.skops`` and ``metadata.json``, like an intent model
(:mod:`intent.artifact`). Loading refuses files that reference types beyond skops' defaults
and :data:`TRUSTED_TYPES`, files that do not match their metadata, and models saved with
another major version of scikit-learn.
"""

from __future__ import annotations

import hashlib
import platform
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import skops
import skops.io as sio
from pydantic import BaseModel, ConfigDict, Field

from intent.artifact import (
    ModelCompatibilityError,
    UntrustedModelError,
    check_sklearn_version,
    load_trusted,
)
from recommender.factors import ImplicitALS

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"

TRUSTED_TYPES: tuple[str, ...] = ("recommender.factors.ImplicitALS",)

__all__ = [
    "METADATA_FILE",
    "MODEL_FILE",
    "ModelCompatibilityError",
    "RankerMetadata",
    "UntrustedModelError",
    "check_sklearn_version",
    "dumps_ranker",
    "load_metadata",
    "load_ranker",
    "loads_ranker",
    "save_ranker",
]


class RankerMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(description="ranker-<UTC timestamp>-<first 8 hex of model sha256>")
    created_at: datetime
    kind: str = "implicit_als"
    n_items: int
    n_factors: int
    metrics: dict[str, float] = {}
    params: dict[str, Any] = {}
    training_data_sha256: str | None = None
    n_users: int | None = None
    n_events: int | None = None
    training_seconds: float | None = None
    model_sha256: str
    sklearn_version: str
    skops_version: str
    python_version: str
    extra: dict[str, Any] = {}


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
    data: bytes = sio.dumps(clean, compression=zipfile.ZIP_DEFLATED)
    return data


def loads_ranker(data: bytes) -> ImplicitALS:
    model = load_trusted(data, TRUSTED_TYPES, "ranker")
    if not _fitted(model):
        raise UntrustedModelError(f"expected a fitted ImplicitALS, got {type(model).__name__}")
    assert isinstance(model, ImplicitALS)
    return model


def make_version(created_at: datetime, model_sha256: str) -> str:
    return f"ranker-{created_at.strftime('%Y%m%dT%H%M%SZ')}-{model_sha256[:8]}"


def _floats(values: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in values.items() if isinstance(v, int | float | np.number)}


def save_ranker(
    model: ImplicitALS, out_dir: str | Path, *, metadata: Mapping[str, Any] | None = None
) -> RankerMetadata:
    """Write ``model.skops`` and ``metadata.json`` to ``out_dir`` (created if needed).

    ``metadata`` may give ``metrics``, ``params``, ``training_data_sha256``, ``n_users``,
    ``n_events``, ``training_seconds``; other keys are kept under ``extra``.
    """
    given = dict(metadata or {})
    data = dumps_ranker(model)
    digest = hashlib.sha256(data).hexdigest()
    created_at = datetime.now(UTC).replace(microsecond=0)
    known = {"metrics", "params", "training_data_sha256", "n_users", "n_events"}
    known.add("training_seconds")
    meta = RankerMetadata(
        version=make_version(created_at, digest),
        created_at=created_at,
        n_items=int(model.item_factors_.shape[0]),
        n_factors=int(model.item_factors_.shape[1]),
        metrics=_floats(given.get("metrics") or {}),
        params=dict(given.get("params") or model.get_params()),
        training_data_sha256=given.get("training_data_sha256"),
        n_users=given.get("n_users"),
        n_events=given.get("n_events"),
        training_seconds=given.get("training_seconds"),
        model_sha256=digest,
        sklearn_version=sklearn.__version__,
        skops_version=skops.__version__,
        python_version=platform.python_version(),
        extra={k: v for k, v in given.items() if k not in known},
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MODEL_FILE).write_bytes(data)
    (out / METADATA_FILE).write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return meta


def load_metadata(model_dir: str | Path) -> RankerMetadata:
    path = Path(model_dir) / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    return RankerMetadata.model_validate_json(path.read_text(encoding="utf-8"))


def load_ranker(model_dir: str | Path) -> tuple[ImplicitALS, RankerMetadata]:
    meta = load_metadata(model_dir)
    check_sklearn_version(meta.sklearn_version)
    data = (Path(model_dir) / MODEL_FILE).read_bytes()
    if hashlib.sha256(data).hexdigest() != meta.model_sha256:
        raise ModelCompatibilityError(f"{model_dir}: {MODEL_FILE} does not match metadata.json")
    model = loads_ranker(data)
    if model.item_factors_.shape != (meta.n_items, meta.n_factors):
        raise ModelCompatibilityError(f"{model_dir}: factor shape differs from metadata.json")
    return model, meta
