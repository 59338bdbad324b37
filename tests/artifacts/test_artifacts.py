"""The generic versioned-artifact store (files) and model registry (real Redis)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from artifacts.store import (
    METADATA_FILE,
    MODEL_FILE,
    ModelCompatibilityError,
    UntrustedModelError,
    dumps,
    load_metadata,
    load_trusted,
    read_dir,
)
from domain.errors import Invalid, NotFound
from tests.artifacts.scaler_artifacts import ScalerMetadata, loads, save, scaler, scaler_registry


def _dir(path: Path) -> Path:
    save(path)
    return path


class ScalerBox:
    """A type skops does not trust by default."""


# --------------------------------------------------------------------------- files


def test_metadata_names_the_version_by_kind_time_and_file_hash(tmp_path: Path) -> None:
    meta = save(tmp_path, given={"metrics": {"mae": 0.5, "note": "x"}, "n_rows": 3, "who": "me"})
    digest = hashlib.sha256((tmp_path / MODEL_FILE).read_bytes()).hexdigest()
    assert meta.model_sha256 == digest
    assert meta.version.startswith("scaler-") and meta.version.endswith(digest[:8])
    assert meta.metrics == {"mae": 0.5}  # only numbers are metrics
    assert meta.params == {"with_mean": True}
    assert meta.n_rows == 3 and meta.n_features == 2
    assert meta.extra == {"who": "me"}
    assert load_metadata(tmp_path, ScalerMetadata) == meta


def test_read_dir_gives_back_the_bytes_written(tmp_path: Path) -> None:
    meta = save(tmp_path)
    data, read = read_dir(tmp_path, ScalerMetadata)
    assert read == meta
    np.testing.assert_allclose(loads(data).mean_, scaler().mean_)


def test_a_file_that_does_not_match_its_metadata_is_refused(tmp_path: Path) -> None:
    save(tmp_path / "a")
    save(tmp_path / "b", scale=2.0)
    (tmp_path / "a" / MODEL_FILE).write_bytes((tmp_path / "b" / MODEL_FILE).read_bytes())
    with pytest.raises(ModelCompatibilityError, match="does not match"):
        read_dir(tmp_path / "a", ScalerMetadata)
    # unverified reads (a registry storing a directory) still check the library version only
    read_dir(tmp_path / "a", ScalerMetadata, verify=False)


def test_another_sklearn_major_version_is_refused(tmp_path: Path) -> None:
    save(tmp_path)
    path = tmp_path / METADATA_FILE
    raw = json.loads(path.read_text())
    raw["sklearn_version"] = "0.24.2"
    path.write_text(json.dumps(raw))
    with pytest.raises(ModelCompatibilityError, match="major versions differ"):
        read_dir(tmp_path, ScalerMetadata)


def test_untrusted_or_unreadable_files_are_refused() -> None:
    with pytest.raises(UntrustedModelError, match="not a readable"):
        load_trusted(b"not a zip", ())
    with pytest.raises(UntrustedModelError, match="untrusted types"):
        load_trusted(dumps(ScalerBox()), (), "box")


def test_a_missing_metadata_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=METADATA_FILE):
        load_metadata(tmp_path, ScalerMetadata)


# --------------------------------------------------------------------------- registry


async def test_registry_stores_lists_and_loads_versions(redis: Any, tmp_path: Path) -> None:
    registry = scaler_registry(redis)
    first = await registry.store_dir(_dir(tmp_path / "1"), load_first=True)
    second_meta = save(tmp_path / "2", scale=3.0)
    second_meta = second_meta.model_copy(update={"created_at": first.created_at.replace(year=2099)})
    blob = (tmp_path / "2" / MODEL_FILE).read_bytes()
    assert await registry.put_blob(blob, second_meta) == second_meta.version

    assert [m.version for m in await registry.list()] == [second_meta.version, first.version]
    assert await registry.metadata(first.version) == first
    loaded = await registry.load(second_meta.version)
    np.testing.assert_allclose(loaded.mean_, scaler(3.0).mean_)


async def test_registry_activation(redis: Any, tmp_path: Path) -> None:
    registry = scaler_registry(redis)
    meta = await registry.store_dir(_dir(tmp_path), load_first=False)
    assert await registry.active_version() is None

    def refuse(m: ScalerMetadata) -> None:
        raise Invalid(f"not {m.version}")

    with pytest.raises(Invalid):
        await registry.set_active(meta.version, refuse)
    assert await registry.active_version() is None

    assert await registry.set_active(meta.version, lambda m: None) == meta
    assert await registry.active_version() == meta.version
    await registry.deactivate()
    assert await registry.active_version() is None


async def test_registry_unknown_versions_are_not_found(redis: Any, tmp_path: Path) -> None:
    registry = scaler_registry(redis)
    with pytest.raises(NotFound, match="no scaler with version 'nope'"):
        await registry.metadata("nope")
    with pytest.raises(NotFound):
        await registry.set_active("nope")
    with pytest.raises(NotFound, match="scaler 'nope' has no stored file"):
        await registry.load("nope")
    assert await registry.active_version() is None


async def test_an_unreadable_file_is_never_stored_when_loaded_first(
    redis: Any, tmp_path: Path
) -> None:
    registry = scaler_registry(redis)
    save(tmp_path)
    (tmp_path / MODEL_FILE).write_bytes(b"not a zip")
    with pytest.raises(UntrustedModelError):
        await registry.store_dir(tmp_path, load_first=True)
    assert await registry.list() == []
