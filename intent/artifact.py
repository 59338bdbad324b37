"""Intent models as versioned artifacts (:mod:`artifacts.store`: skops, never pickle).

A model directory holds ``model.skops`` and ``metadata.json``. Beyond the generic checks
(trusted types, file matches metadata, scikit-learn major version), loading refuses a file
that holds anything but an :class:`IntentClassifier`, a model whose labels differ from its
metadata, and one whose embedding table is not installed.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from artifacts.store import (
    MODEL_FILE,
    ArtifactKind,
    ArtifactMetadata,
    ModelCompatibilityError,
    UntrustedModelError,
    dumps,
    load_trusted,
)
from intent.classifier import IntentClassifier
from intent.embeddings import EmbeddingMismatchError, EmbeddingUnavailableError

__all__ = [
    "INTENT_MODELS",
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


def _labels(model: IntentClassifier) -> list[str]:
    return [str(c) for c in model.classes_]


def _describe(model: IntentClassifier) -> dict[str, Any]:
    return {"labels": _labels(model), "threshold": float(model.threshold_)}


def _mismatch(model: IntentClassifier, meta: ModelMetadata) -> str | None:
    return None if _labels(model) == meta.labels else "model labels differ from metadata.json"


#: Intent models as a kind of artifact; the caller's ``metadata`` may also give ``n_train``.
INTENT_MODELS: ArtifactKind[IntentClassifier, ModelMetadata] = ArtifactKind(
    kind="intent",
    metadata_model=ModelMetadata,
    dumps=dumps_model,
    loads=loads_model,
    describe=_describe,
    mismatch=_mismatch,
    own_given=("n_train",),
)

save_model = INTENT_MODELS.save
load_metadata = INTENT_MODELS.load_metadata
load_model = INTENT_MODELS.load
