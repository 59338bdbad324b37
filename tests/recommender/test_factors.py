"""Implicit ALS, its skops artifact and the Redis registry with hot reload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from artifacts.store import ModelCompatibilityError, UntrustedModelError
from recommender.learning.factors import ImplicitALS, _solve_side, preference_matrix
from recommender.learning.interactions import Interaction
from recommender.learning.ranker_artifact import (
    METADATA_FILE,
    MODEL_FILE,
    load_ranker,
    loads_ranker,
    save_ranker,
)
from recommender.learning.ranker_registry import RankerRegistry

ITEMS = [f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)]


def two_blocks(n_users: int = 40, seed: int = 0) -> sp.csr_matrix:
    """Half the users like only a* items, half only b* items (3 random ones each)."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for u in range(n_users):
        offset = 0 if u < n_users // 2 else 5
        for j in rng.choice(5, 3, replace=False):
            rows.append(u)
            cols.append(offset + int(j))
    return sp.csr_matrix((np.full(len(rows), 3.0), (rows, cols)), shape=(n_users, 10))


@pytest.fixture(scope="module")
def model() -> ImplicitALS:
    return ImplicitALS(n_factors=4, regularization=0.1, alpha=2.0, n_iter=10).fit(
        two_blocks(), item_ids=ITEMS
    )


def test_als_learns_the_blocks_and_folds_in_new_users(model: ImplicitALS) -> None:
    assert model.user_factors_.shape == (40, 4) and model.item_factors_.shape == (10, 4)
    known = model.item_factors_ @ model.user_factors_[0]
    assert known[:5].min() > known[5:].max()
    scores, sources = model.scores_for({"b1": 5.0, "b2": 1.0, "zz": 9.0})
    assert min(scores[f"b{i}"] for i in range(5)) > max(scores[f"a{i}"] for i in range(5))
    assert sources["b3"] in {"b1", "b2"}
    assert model.scores_for({"b1": -2.0}) == ({}, {})


def test_fold_in_is_the_closed_form_user_solve(model: ImplicitALS) -> None:
    R = two_blocks()
    row = R[7]
    weights = {int(j): float(v) for j, v in zip(row.indices, row.data, strict=True)}
    u, per_source, cols = model.fold_in(weights)
    sweep = _solve_side(R, model.item_factors_, model.regularization, model.alpha)
    assert np.allclose(u, sweep[7])
    assert np.allclose(per_source.sum(axis=1), u) and sorted(cols) == sorted(weights)


def test_preference_matrix_sums_weights_and_drops_negative_cells() -> None:
    log = [
        Interaction(1.0, "u1", "x", "view"),
        Interaction(2.0, "u1", "x", "purchase"),
        Interaction(3.0, "u1", "y", "view"),
        Interaction(4.0, "u1", "y", "decline"),
        Interaction(5.0, "u2", "y", "click"),
        Interaction(6.0, "u3", "y", "search"),
    ]
    matrix, users, items = preference_matrix(log)
    assert users == ["u1", "u2"] and items == ["x", "y"]
    assert matrix.toarray().tolist() == [[6.0, 0.0], [0.0, 2.0]]


def test_artifact_round_trip_and_refusals(model: ImplicitALS, tmp_path: Path) -> None:
    meta = save_ranker(model, tmp_path / "m", metadata={"n_events": 120, "note": "x"})
    assert meta.version.startswith("ranker-") and meta.n_items == 10 and meta.n_factors == 4
    assert meta.extra == {"note": "x"} and meta.n_events == 120
    loaded, meta2 = load_ranker(tmp_path / "m")
    assert meta2 == meta
    assert loaded.user_factors_.shape == (0, 4)  # users are folded in, never stored
    assert np.allclose(loaded.item_factors_, model.item_factors_)
    assert loaded.scores_for({"a1": 3.0})[0] == pytest.approx(model.scores_for({"a1": 3.0})[0])

    raw = json.loads((tmp_path / "m" / METADATA_FILE).read_text())
    raw["sklearn_version"] = "0.24.2"
    (tmp_path / "m" / METADATA_FILE).write_text(json.dumps(raw))
    with pytest.raises(ModelCompatibilityError, match="major versions differ"):
        load_ranker(tmp_path / "m")
    (tmp_path / "m" / MODEL_FILE).write_bytes(b"not a zip")
    with pytest.raises(UntrustedModelError):
        loads_ranker(b"not a zip")


def test_a_ranker_whose_shape_differs_from_its_metadata_is_refused(
    model: ImplicitALS, tmp_path: Path
) -> None:
    save_ranker(model, tmp_path / "m")
    raw = json.loads((tmp_path / "m" / METADATA_FILE).read_text())
    raw["n_items"] += 1
    (tmp_path / "m" / METADATA_FILE).write_text(json.dumps(raw))
    with pytest.raises(ModelCompatibilityError, match=r"factor shape differs from metadata\.json"):
        load_ranker(tmp_path / "m")


async def test_registry_activation_is_hot_reloaded(
    model: ImplicitALS, tmp_path: Path, client: Any
) -> None:
    services = client.app.state.services
    registry: RankerRegistry = services.rankers
    meta = save_ranker(model, tmp_path / "m")
    await registry.register_dir(tmp_path / "m")
    r = await client.get("/v1/ranker/models")
    assert r.status_code == 200, r.text
    assert r.json()["active"] is None and r.json()["models"][0]["version"] == meta.version

    r = await client.post(f"/v1/ranker/models/{meta.version}/activate")
    assert r.status_code == 200, r.text
    assert services.runtime.state.ranker_version == meta.version
    assert services.runtime.state.ranker.item_ids_ == ITEMS
    assert (await client.post("/v1/ranker/models/nope/activate")).status_code == 404

    r = await client.post("/v1/ranker/models/deactivate")
    assert r.status_code == 204
    assert services.runtime.state.ranker is None
