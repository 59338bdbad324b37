"""Intent model files: skops round trips and what loading refuses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from artifacts.store import ModelCompatibilityError, UntrustedModelError
from intent import artifact
from intent.artifact import (
    dumps_model,
    load_model,
    loads_model,
    save_model,
)
from intent.classifier import IntentClassifier
from tests.intent.intent_data import VOCAB


# ---------------------------------------------------------------------------- artifacts
def test_skops_roundtrip_file(tmp_path: Path, trained: IntentClassifier) -> None:
    meta = save_model(
        trained,
        tmp_path / "m",
        metadata={"metrics": {"in_scope_accuracy": 1.0}, "training_data_sha256": "ab" * 32},
    )
    assert (tmp_path / "m" / "model.skops").is_file()
    stored = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert stored["labels"] == sorted(VOCAB)
    assert stored["version"] == meta.version
    assert meta.version.startswith("intent-") and meta.version.endswith(meta.model_sha256[:8])
    assert stored["created_at"].endswith("Z")
    loaded, loaded_meta = load_model(tmp_path / "m")
    assert loaded_meta == meta
    texts = ["rain tomorrow", "invoice refund", "guitar opera"]
    np.testing.assert_allclose(loaded.predict_proba(texts), trained.predict_proba(texts))
    assert loaded.predict(texts) == trained.predict(texts)


def test_skops_roundtrip_bytes(trained: IntentClassifier) -> None:
    trained.predict_one("warm up the fast path cache")  # must not end up in the bytes
    data = dumps_model(trained)
    assert isinstance(data, bytes)
    loaded = loads_model(data)
    assert loaded.predict_one("my package never arrived") == trained.predict_one(
        "my package never arrived"
    )


def test_refuses_other_sklearn_major(tmp_path: Path, trained: IntentClassifier) -> None:
    save_model(trained, tmp_path / "m", metadata={})
    meta_path = tmp_path / "m" / "metadata.json"
    stored = json.loads(meta_path.read_text())
    stored["sklearn_version"] = "0.24.2"
    meta_path.write_text(json.dumps(stored))
    with pytest.raises(ModelCompatibilityError, match=r"scikit-learn 0\.24\.2"):
        load_model(tmp_path / "m")


def test_refuses_other_sklearn_major_in_bytes(trained: IntentClassifier) -> None:
    model = loads_model(dumps_model(trained))
    model.sklearn_version_ = "99.0.0"
    with pytest.raises(ModelCompatibilityError, match="major versions differ"):
        loads_model(dumps_model(model))


class _Stranger:
    def __init__(self) -> None:
        self.payload = [1, 2, 3]


def test_refuses_untrusted_types(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UntrustedModelError, match="untrusted"):
        loads_model(sio.dumps(_Stranger()))
    with pytest.raises(UntrustedModelError):
        loads_model(b"definitely not a zip file")
    # A model type itself is only accepted while it is on the trusted list.
    monkeypatch.setattr(artifact, "TRUSTED_TYPES", ("scipy.sparse._csr.csr_matrix",))
    with pytest.raises(UntrustedModelError, match="IntentClassifier"):
        loads_model(sio.dumps(IntentClassifier()))
