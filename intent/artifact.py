"""Persisting intent models safely with skops (never pickle / joblib).

A model directory holds ``model.skops`` and ``metadata.json``.  Loading checks, before any
object is built, that the skops file only references types from :data:`TRUSTED_TYPES` (plus
skops' own defaults) and that the model was saved with the installed major version of
scikit-learn.
"""

from __future__ import annotations

import hashlib
import platform
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import skops
import skops.io as sio
from pydantic import BaseModel, ConfigDict, Field

from intent.classifier import IntentClassifier
from intent.embeddings import EmbeddingMismatchError, EmbeddingUnavailableError

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"

#: Types beyond skops' defaults that an intent model file may contain.  Anything else in a
#: file is refused.
TRUSTED_TYPES: tuple[str, ...] = (
    "intent.classifier.IntentClassifier",
    "scipy.sparse._csr.csr_matrix",
)


class ModelCompatibilityError(RuntimeError):
    """The stored model cannot be used with this installation."""


class UntrustedModelError(RuntimeError):
    """The stored model references types that are not on the trusted list."""


class ModelMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(description="intent-<UTC timestamp>-<first 8 hex of model sha256>")
    created_at: datetime
    labels: list[str] = Field(description="In-scope intents the model can predict.")
    threshold: float
    metrics: dict[str, float] = {}
    params: dict[str, Any] = {}
    training_data_sha256: str | None = None
    n_train: int | None = None
    training_seconds: float | None = None
    model_sha256: str
    sklearn_version: str
    skops_version: str
    python_version: str
    extra: dict[str, Any] = {}


def _major(version: str) -> str:
    return version.split(".", 1)[0]


def check_sklearn_version(saved: str) -> None:
    installed = sklearn.__version__
    if _major(saved) != _major(installed):
        raise ModelCompatibilityError(
            f"model was saved with scikit-learn {saved} but {installed} is installed; "
            f"major versions differ ({_major(saved)} vs {_major(installed)}), retrain the model"
        )


def dumps_model(model: IntentClassifier) -> bytes:
    """Serialise a fitted model to skops bytes (compressed)."""
    if not isinstance(model, IntentClassifier) or not hasattr(model, "coef_"):
        raise TypeError("dumps_model needs a fitted IntentClassifier")
    data: bytes = sio.dumps(model, compression=zipfile.ZIP_DEFLATED)
    return data


def load_trusted(data: bytes, trusted: Sequence[str], what: str = "model") -> Any:
    """Load skops bytes that reference only ``trusted`` types and were saved with this
    scikit-learn major version (read from the object's ``sklearn_version_``)."""
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # corrupt archive, not a skops file, ...
        raise UntrustedModelError(f"not a readable skops model: {exc}") from exc
    unexpected = sorted(set(untrusted) - set(trusted))
    if unexpected:
        raise UntrustedModelError(f"{what} file references untrusted types: {unexpected}")
    obj = sio.loads(data, trusted=list(trusted))
    saved = getattr(obj, "sklearn_version_", None)
    if isinstance(saved, str):
        check_sklearn_version(saved)
    return obj


def loads_model(data: bytes) -> IntentClassifier:
    """Load a model from :func:`dumps_model` bytes, refusing untrusted content."""
    model = load_trusted(data, TRUSTED_TYPES)
    if not isinstance(model, IntentClassifier):
        raise UntrustedModelError(f"expected an IntentClassifier, got {type(model).__name__}")
    try:
        return model.prepare()  # loads (and checks) its embedding table now, not mid-request
    except (EmbeddingUnavailableError, EmbeddingMismatchError) as exc:
        raise ModelCompatibilityError(str(exc)) from exc


def make_version(created_at: datetime, model_sha256: str) -> str:
    return f"intent-{created_at.strftime('%Y%m%dT%H%M%SZ')}-{model_sha256[:8]}"


def _as_float_dict(values: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in values.items() if isinstance(v, int | float | np.number)}


def save_model(
    model: IntentClassifier, out_dir: str | Path, *, metadata: Mapping[str, Any] | None = None
) -> ModelMetadata:
    """Write ``model.skops`` and ``metadata.json`` to ``out_dir`` (created if needed).

    ``metadata`` may give ``metrics``, ``params``, ``training_data_sha256``, ``n_train``,
    ``training_seconds``; any other keys are kept under ``extra``.
    """
    given = dict(metadata or {})
    data = dumps_model(model)
    digest = hashlib.sha256(data).hexdigest()
    created_at = datetime.now(UTC).replace(microsecond=0)
    known = {"metrics", "params", "training_data_sha256", "n_train", "training_seconds"}
    meta = ModelMetadata(
        version=make_version(created_at, digest),
        created_at=created_at,
        labels=[str(c) for c in model.classes_],
        threshold=float(model.threshold_),
        metrics=_as_float_dict(given.get("metrics") or {}),
        params=dict(given.get("params") or model.get_params()),
        training_data_sha256=given.get("training_data_sha256"),
        n_train=given.get("n_train"),
        training_seconds=given.get("training_seconds"),
        model_sha256=digest,
        sklearn_version=sklearn.__version__,
        skops_version=skops.__version__,
        python_version=platform.python_version(),
        extra={k: v for k, v in given.items() if k not in known},
    )
    text = meta.model_dump_json(indent=2)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MODEL_FILE).write_bytes(data)
    (out / METADATA_FILE).write_text(text + "\n", encoding="utf-8")
    return ModelMetadata.model_validate_json(text)  # exactly what load_model will return


def load_metadata(model_dir: str | Path) -> ModelMetadata:
    path = Path(model_dir) / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    return ModelMetadata.model_validate_json(path.read_text(encoding="utf-8"))


def load_model(model_dir: str | Path) -> tuple[IntentClassifier, ModelMetadata]:
    """Load a model directory written by :func:`save_model`."""
    meta = load_metadata(model_dir)
    check_sklearn_version(meta.sklearn_version)
    data = (Path(model_dir) / MODEL_FILE).read_bytes()
    if hashlib.sha256(data).hexdigest() != meta.model_sha256:
        raise ModelCompatibilityError(f"{model_dir}: {MODEL_FILE} does not match metadata.json")
    model = loads_model(data)
    if [str(c) for c in model.classes_] != meta.labels:
        raise ModelCompatibilityError(f"{model_dir}: model labels differ from metadata.json")
    return model, meta
