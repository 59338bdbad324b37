"""A small model kind for the tests of the generic artifact store and registry: a fitted
scikit-learn scaler (a type skops trusts by default), with one field of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.preprocessing import StandardScaler

from artifacts.registry import ArtifactRegistry
from artifacts.store import ArtifactMetadata, dumps, load_trusted, new_metadata, write_dir


class ScalerMetadata(ArtifactMetadata):
    n_features: int
    n_rows: int | None = None


def scaler(scale: float = 1.0) -> StandardScaler:
    return StandardScaler().fit(np.arange(6.0).reshape(3, 2) * scale)


def loads(data: bytes) -> StandardScaler:
    model = load_trusted(data, (), "scaler")
    assert isinstance(model, StandardScaler)
    return model


def save(out: Path, scale: float = 1.0, given: dict[str, Any] | None = None) -> ScalerMetadata:
    data = dumps(scaler(scale))
    meta = new_metadata(
        ScalerMetadata,
        data,
        given,
        kind="scaler",
        default_params={"with_mean": True},
        own_given=("n_rows",),
        n_features=2,
    )
    return write_dir(out, data, meta)


def scaler_registry(
    redis: Any, what: str = "scaler"
) -> ArtifactRegistry[ScalerMetadata, StandardScaler]:
    return ArtifactRegistry(
        redis,
        index_key="t:{art}:models",
        blob_prefix="t:{art}:model:",
        active_key="t:{art}:active",
        metadata_model=ScalerMetadata,
        loads=loads,
        what=what,
    )
