"""Intent models as versioned artifacts (:mod:`artifacts.store`: skops, never pickle).

A model directory holds ``model.skops`` and ``metadata.json``. Beyond the generic checks
(trusted types, file matches metadata, scikit-learn major version), loading refuses a file
that holds anything but an :class:`IntentClassifier`, a model whose labels differ from its
metadata, and one whose embedding table is not installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from artifacts.store import (
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
from intent.classifier import IntentClassifier
from intent.embeddings import EmbeddingMismatchError, EmbeddingUnavailableError

__all__ = [
    "MODEL_FILE",
    "TRUSTED_TYPES",
    "ModelMetadata",
    "dumps_model",
    "load_metadata",
    "load_model",
    "loads_model",
    "save_model",
]

#: Types beyond skops' defaults that an intent model file may contain.  Anything else in a
#: file is refused.
TRUSTED_TYPES: tuple[str, ...] = (
    "intent.classifier.IntentClassifier",
    "scipy.sparse._csr.csr_matrix",
)


class ModelMetadata(ArtifactMetadata):
    version: str = Field(description="intent-<UTC timestamp>-<first 8 hex of model sha256>")
    labels: list[str] = Field(description="In-scope intents the model can predict.")
    threshold: float
    n_train: int | None = None


def dumps_model(model: IntentClassifier) -> bytes:
    """Serialise a fitted model to skops bytes (compressed)."""
    if not isinstance(model, IntentClassifier) or not hasattr(model, "coef_"):
        raise TypeError("dumps_model needs a fitted IntentClassifier")
    return dumps(model)


def loads_model(data: bytes) -> IntentClassifier:
    """Load a model from :func:`dumps_model` bytes, refusing untrusted content."""
    model = load_trusted(data, TRUSTED_TYPES)
    if not isinstance(model, IntentClassifier):
        raise UntrustedModelError(f"expected an IntentClassifier, got {type(model).__name__}")
    try:
        return model.prepare()  # loads (and checks) its embedding table now, not mid-request
    except (EmbeddingUnavailableError, EmbeddingMismatchError) as exc:
        raise ModelCompatibilityError(str(exc)) from exc


def save_model(
    model: IntentClassifier, out_dir: str | Path, *, metadata: Mapping[str, Any] | None = None
) -> ModelMetadata:
    """Write ``model.skops`` and ``metadata.json`` to ``out_dir`` (created if needed).

    ``metadata`` may give ``metrics``, ``params``, ``training_data_sha256``, ``n_train``,
    ``training_seconds``; any other keys are kept under ``extra``.
    """
    data = dumps_model(model)
    meta = new_metadata(
        ModelMetadata,
        data,
        metadata,
        kind="intent",
        default_params=model.get_params(),
        own_given=("n_train",),
        labels=[str(c) for c in model.classes_],
        threshold=float(model.threshold_),
    )
    return write_dir(out_dir, data, meta)


def load_metadata(model_dir: str | Path) -> ModelMetadata:
    return load_artifact_metadata(model_dir, ModelMetadata)


def load_model(model_dir: str | Path) -> tuple[IntentClassifier, ModelMetadata]:
    """Load a model directory written by :func:`save_model`."""
    data, meta = read_dir(model_dir, ModelMetadata)
    model = loads_model(data)
    if [str(c) for c in model.classes_] != meta.labels:
        raise ModelCompatibilityError(f"{model_dir}: model labels differ from metadata.json")
    return model, meta
