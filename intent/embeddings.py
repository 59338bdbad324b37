"""Static sentence embeddings: a pretrained token-embedding table, mean-pooled.

The intent model's sparse n-gram features only know the words seen in training; a customer
who says "cash" where the examples said "money" is helped by a feature space in which the
two are close.  A static table (one vector per sub-word token) gives that for the cost of a
tokenizer call and a mean: about 0.1 ms an utterance, no neural network at prediction time.

The table ships inside a pip package (``wordllama``, MIT licence: the 256-dimensional
``l2_supercat`` token embeddings distilled from a large language model, with its sub-word
tokenizer).  Only its data files are used, read here with ``tokenizers`` and
``safetensors``; nothing is downloaded at run time.  A fitted model stores the embedder's
*name and fingerprint*, never the table, and refuses to load when the installed table
differs (:class:`EmbeddingMismatchError`): the weights the model learned only make sense
on the vectors it was trained with.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "DEFAULT_EMBEDDING",
    "EmbeddingMismatchError",
    "EmbeddingUnavailableError",
    "StaticEmbedder",
    "embedding_available",
    "get_embedder",
]

#: Name of the embedder a new intent model uses when its package is installed.
DEFAULT_EMBEDDING = "wordllama-l2-supercat-256"
#: texts whose vectors :meth:`StaticEmbedder.embed_one` remembers before it starts afresh
RECENT_TEXTS = 1_024


class EmbeddingUnavailableError(RuntimeError):
    """The package carrying the embedding table is not installed."""


class EmbeddingMismatchError(RuntimeError):
    """The installed embedding table is not the one a model was trained with."""


@dataclass(frozen=True)
class _Source:
    package: str
    weights: str  # path inside the package
    tokenizer: str  # path inside the package
    tensor: str  # tensor name in the safetensors file


_SOURCES: dict[str, _Source] = {
    DEFAULT_EMBEDDING: _Source(
        package="wordllama",
        weights="weights/l2_supercat_256.safetensors",
        tokenizer="tokenizers/l2_supercat_tokenizer_config.json",
        tensor="embedding.weight",
    ),
}


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def embedding_available(name: str = DEFAULT_EMBEDDING) -> bool:
    """Whether the data files of embedder ``name`` are installed."""
    source = _SOURCES.get(name)
    if source is None:
        return False
    root = _package_dir(source.package)
    return (
        root is not None
        and (root / source.weights).is_file()
        and (root / source.tokenizer).is_file()
    )


class StaticEmbedder:
    """Mean-pooled, L2-normalised token embeddings of texts (thread-safe, read-only)."""

    def __init__(self, name: str, table: NDArray[np.float32], tokenizer: object) -> None:
        self.name = name
        self.table = table
        self.dim = int(table.shape[1])
        self._tokenizer = tokenizer
        self._recent: dict[str, NDArray[np.float32]] = {}
        digest = hashlib.sha256(table.tobytes()).hexdigest()
        #: Identifies the exact vectors (stored with every model trained on them).
        self.fingerprint = f"{name}:{digest[:16]}"

    @classmethod
    def load(cls, name: str = DEFAULT_EMBEDDING) -> StaticEmbedder:
        source = _SOURCES.get(name)
        if source is None:
            raise EmbeddingUnavailableError(
                f"unknown embedding {name!r}; known: {sorted(_SOURCES)}"
            )
        root = _package_dir(source.package)
        if root is None or not embedding_available(name):
            raise EmbeddingUnavailableError(
                f"embedding {name!r} needs the {source.package!r} package "
                f"(pip install {source.package})"
            )
        # Imported here: both come with the embedding package, not with Waypoint's core.
        from safetensors import safe_open
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(root / source.tokenizer))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        with safe_open(str(root / source.weights), framework="np") as handle:
            table = np.ascontiguousarray(handle.get_tensor(source.tensor), dtype=np.float32)
        return cls(name, table, tokenizer)

    def _pool(self, ids: Sequence[int]) -> NDArray[np.float32]:
        valid = [i for i in ids if 0 <= i < self.table.shape[0]]
        if not valid:
            return np.zeros(self.dim, dtype=np.float32)
        vector: NDArray[np.float32] = self.table[valid].mean(axis=0)
        norm = float(np.linalg.norm(vector))
        return vector / np.float32(norm) if norm > 0 else vector

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """``(len(texts), dim)`` unit vectors (zeros for a text with no known token)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(  # type: ignore[attr-defined]
            [t.lower() for t in texts], add_special_tokens=False
        )
        for row, encoding in enumerate(encodings):
            out[row] = self._pool(encoding.ids)
        return out

    def embed_one(self, text: str) -> NDArray[np.float32]:
        """The unit vector of one text (read-only: remembered for the texts last asked,
        as a request embeds the same query for the intent model and for the catalog)."""
        lowered = text.lower()
        found = self._recent.get(lowered)
        if found is None:
            encoding = self._tokenizer.encode(  # type: ignore[attr-defined]
                lowered, add_special_tokens=False
            )
            found = self._pool(encoding.ids)
            found.flags.writeable = False
            if len(self._recent) >= RECENT_TEXTS:
                self._recent.clear()
            self._recent[lowered] = found
        return found


_LOADED: dict[str, StaticEmbedder] = {}
_LOCK = threading.Lock()


def get_embedder(name: str, fingerprint: str | None = None) -> StaticEmbedder:
    """The process-wide embedder ``name`` (loaded once), checked against ``fingerprint``."""
    with _LOCK:
        embedder = _LOADED.get(name)
        if embedder is None:
            embedder = _LOADED[name] = StaticEmbedder.load(name)
    if fingerprint is not None and embedder.fingerprint != fingerprint:
        raise EmbeddingMismatchError(
            f"the model was trained on embedding {fingerprint} but {embedder.fingerprint} is "
            "installed; install the matching package version or retrain the model"
        )
    return embedder
