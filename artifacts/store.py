"""Persisting a fitted model safely with skops (never pickle / joblib).

A model directory holds ``model.skops`` and ``metadata.json``. The metadata records the
version (``<kind>-<UTC timestamp>-<first 8 hex of the file's sha256>``), the file's sha256 and
the library versions it was saved with. Loading checks, before any object is built, that the
skops file references only trusted types (skops' defaults plus the caller's list), that it
matches its metadata, and that it was saved with the installed major version of scikit-learn.

What a model is, and what else its metadata holds, is the caller's business: it subclasses
:class:`ArtifactMetadata` and describes its kind of model once as an :class:`ArtifactKind`
(how to serialise and load one, which metadata fields it fills, what it must match).
"""

from __future__ import annotations

import hashlib
import numbers
import platform
import zipfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import skops
import skops.io as sio
from pydantic import BaseModel, ConfigDict, Field

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"

#: metadata fields every artifact fills from the caller's ``metadata`` mapping when given
COMMON_GIVEN: frozenset[str] = frozenset(
    {"metrics", "params", "training_data_sha256", "training_seconds"}
)


class ModelCompatibilityError(RuntimeError):
    """The stored model cannot be used with this installation."""


class UntrustedModelError(RuntimeError):
    """The stored model references types that are not on the trusted list."""


class ArtifactMetadata(BaseModel):
    """What every stored model says about itself (subclasses add their own fields)."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(description="<kind>-<UTC timestamp>-<first 8 hex of model sha256>")
    created_at: datetime
    metrics: dict[str, float] = {}
    params: dict[str, Any] = {}
    training_data_sha256: str | None = None
    training_seconds: float | None = None
    model_sha256: str
    sklearn_version: str
    skops_version: str
    python_version: str
    extra: dict[str, Any] = {}


M = TypeVar("M", bound=ArtifactMetadata)


class Estimator(Protocol):
    """A model that reports its constructor parameters (scikit-learn's convention)."""

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...


E = TypeVar("E", bound=Estimator)


def sklearn_version() -> str:
    """The installed scikit-learn's version (read without importing it)."""
    return installed_version("scikit-learn")


def _major(version: str) -> str:
    return version.split(".", 1)[0]


def check_sklearn_version(saved: str) -> None:
    installed = sklearn_version()
    if _major(saved) != _major(installed):
        raise ModelCompatibilityError(
            f"model was saved with scikit-learn {saved} but {installed} is installed; "
            f"major versions differ ({_major(saved)} vs {_major(installed)}), retrain the model"
        )


def dumps(obj: object) -> bytes:
    """Serialise ``obj`` to compressed skops bytes."""
    data: bytes = sio.dumps(obj, compression=zipfile.ZIP_DEFLATED)
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


def make_version(kind: str, created_at: datetime, model_sha256: str) -> str:
    return f"{kind}-{created_at.strftime('%Y%m%dT%H%M%SZ')}-{model_sha256[:8]}"


def _floats(values: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in values.items() if isinstance(v, numbers.Real)}


def new_metadata(
    model: type[M],
    data: bytes,
    given: Mapping[str, Any] | None,
    *,
    kind: str,
    default_params: Mapping[str, Any],
    own_given: Collection[str] = (),
    **fields: Any,
) -> M:
    """The metadata of the serialised model ``data``, created now.

    ``given`` may hold the :data:`COMMON_GIVEN` fields and the model's ``own_given`` ones
    (passed on as they are); any other keys are kept under ``extra``. ``fields`` are the
    model's own fields derived from the model itself.
    """
    given = dict(given or {})
    digest = hashlib.sha256(data).hexdigest()
    created_at = datetime.now(UTC).replace(microsecond=0)
    known = COMMON_GIVEN | set(own_given)
    return model(
        version=make_version(kind, created_at, digest),
        created_at=created_at,
        metrics=_floats(given.get("metrics") or {}),
        params=dict(given.get("params") or default_params),
        training_data_sha256=given.get("training_data_sha256"),
        training_seconds=given.get("training_seconds"),
        model_sha256=digest,
        sklearn_version=sklearn_version(),
        skops_version=skops.__version__,
        python_version=platform.python_version(),
        extra={k: v for k, v in given.items() if k not in known},
        **{name: given.get(name) for name in own_given},
        **fields,
    )


def write_dir(out_dir: str | Path, data: bytes, metadata: M) -> M:
    """Write ``model.skops`` and ``metadata.json`` to ``out_dir`` (created if needed); returns
    the metadata exactly as :func:`load_metadata` will read it back."""
    text = metadata.model_dump_json(indent=2)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MODEL_FILE).write_bytes(data)
    (out / METADATA_FILE).write_text(text + "\n", encoding="utf-8")
    return type(metadata).model_validate_json(text)


def load_metadata(model_dir: str | Path, model: type[M]) -> M:
    path = Path(model_dir) / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    return model.model_validate_json(path.read_text(encoding="utf-8"))


def read_dir(model_dir: str | Path, model: type[M], *, verify: bool = True) -> tuple[bytes, M]:
    """The model bytes and metadata of a directory written by :func:`write_dir`.

    Refuses a model saved with another scikit-learn major version; with ``verify``, also a
    file whose sha256 differs from the metadata's.
    """
    meta = load_metadata(model_dir, model)
    check_sklearn_version(meta.sklearn_version)
    data = (Path(model_dir) / MODEL_FILE).read_bytes()
    if verify and hashlib.sha256(data).hexdigest() != meta.model_sha256:
        raise ModelCompatibilityError(f"{model_dir}: {MODEL_FILE} does not match metadata.json")
    return data, meta


@dataclass(frozen=True)
class ArtifactKind(Generic[E, M]):
    """One kind of model stored as a directory: how a model is serialised and loaded, the
    metadata it is described by, and what a loaded model must match in that metadata."""

    #: the version's prefix (``<kind>-<UTC timestamp>-<sha256 prefix>``)
    kind: str
    metadata_model: type[M]
    dumps: Callable[[E], bytes]
    #: from skops bytes, refusing untrusted content
    loads: Callable[[bytes], E]
    #: the metadata fields derived from a fitted model
    describe: Callable[[E], Mapping[str, Any]]
    #: why a loaded model disagrees with its metadata (None: it agrees)
    mismatch: Callable[[E, M], str | None]
    #: the kind's own metadata fields that the caller's mapping may give (see new_metadata)
    own_given: tuple[str, ...] = ()

    def save(
        self, model: E, out_dir: str | Path, *, metadata: Mapping[str, Any] | None = None
    ) -> M:
        """Write ``model.skops`` and ``metadata.json`` to ``out_dir`` (created if needed).

        ``metadata`` may give the :data:`COMMON_GIVEN` fields and :attr:`own_given`; any
        other keys are kept under ``extra``.
        """
        data = self.dumps(model)
        meta = new_metadata(
            self.metadata_model,
            data,
            metadata,
            kind=self.kind,
            default_params=model.get_params(),
            own_given=self.own_given,
            **self.describe(model),
        )
        return write_dir(out_dir, data, meta)

    def load_metadata(self, model_dir: str | Path) -> M:
        return load_metadata(model_dir, self.metadata_model)

    def load(self, model_dir: str | Path) -> tuple[E, M]:
        """Load a directory written by :meth:`save`: the generic checks of :func:`read_dir`,
        then the kind's own (:attr:`mismatch`)."""
        data, meta = read_dir(model_dir, self.metadata_model)
        model = self.loads(data)
        problem = self.mismatch(model, meta)
        if problem is not None:
            raise ModelCompatibilityError(f"{model_dir}: {problem}")
        return model, meta
