"""Latent factors for implicit feedback: alternating least squares (Hu, Koren & Volinsky,
"Collaborative Filtering for Implicit Feedback Datasets", 2008), written with numpy.

The input is a users x items matrix of non-negative preference weights ``r`` (e.g. the
summed :class:`~domain.events.EventWeights` of a user's events on an item). Every cell
gets a confidence ``c = 1 + alpha * r`` that the user prefers the item (``p = 1`` where
``r > 0``) or not (``p = 0``, ``c = 1``); ALS minimises
``sum c (p - x_u . y_i)^2 + regularization * (|X|^2 + |Y|^2)`` by solving for all user
vectors, then all item vectors, in closed form. The solves are batched: the per-user
``k x k`` systems are built with one sparse-dense product and solved with one
``numpy.linalg.solve`` call per chunk.

At serving time only the item factors are needed: a user (known or new) is *folded in*
from their current item weights with the same closed-form solve, which also says how much
each of the user's items contributed to each score (the explanation).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from domain.events import EventWeights
from recommender.interactions import Interaction

Array = NDArray[np.float64]

#: rows solved per batched ``numpy.linalg.solve`` call (bounds memory: rows * k * k floats)
CHUNK = 4096


def _solve_side(R: sp.csr_matrix, Y: Array, regularization: float, alpha: float) -> Array:
    """Closed-form factors of every row of ``R`` given the other side's factors ``Y``."""
    n, k = R.shape[0], Y.shape[1]
    base = Y.T @ Y + regularization * np.eye(k)
    outer = (Y[:, :, None] * Y[:, None, :]).reshape(Y.shape[0], k * k)
    out = np.zeros((n, k))
    for start in range(0, n, CHUNK):
        block = R[start : start + CHUNK]
        weighted = alpha * block  # (c - 1) on observed cells
        A = (weighted @ outer).reshape(-1, k, k) + base
        observed = block.copy()
        observed.data = np.ones_like(observed.data)
        b = (observed + weighted) @ Y  # sum over observed cells of c * y
        out[start : start + CHUNK] = np.linalg.solve(A, b[:, :, None])[:, :, 0]
    return out


class ImplicitALS(BaseEstimator):  # type: ignore[misc]
    """Implicit-feedback matrix factorisation, scikit-learn style.

    ``fit(X)`` takes a (sparse) users x items matrix of non-negative weights and sets
    ``user_factors_`` (n_users x n_factors), ``item_factors_`` (n_items x n_factors) and
    ``n_iter_``; ``item_ids_`` names the columns when ``item_ids`` is given.
    """

    def __init__(
        self,
        n_factors: int = 32,
        regularization: float = 10.0,
        alpha: float = 5.0,
        n_iter: int = 15,
        random_state: int | None = 0,
    ) -> None:
        self.n_factors = n_factors
        self.regularization = regularization
        self.alpha = alpha
        self.n_iter = n_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None, *, item_ids: Sequence[str] | None = None) -> ImplicitALS:
        R = sp.csr_matrix(X, dtype=np.float64)
        if R.nnz and R.data.min() < 0:
            raise ValueError("ImplicitALS needs non-negative preference weights")
        n_users, n_items = R.shape
        if item_ids is not None and len(item_ids) != n_items:
            raise ValueError(f"{len(item_ids)} item ids for {n_items} columns")
        rng = np.random.default_rng(self.random_state)
        scale = 0.01
        Y = rng.normal(0.0, scale, (n_items, self.n_factors))
        Rt = sp.csr_matrix(R.T)
        U = np.zeros((n_users, self.n_factors))
        for _ in range(self.n_iter):
            U = _solve_side(R, Y, self.regularization, self.alpha)
            Y = _solve_side(Rt, U, self.regularization, self.alpha)
        self.user_factors_ = U
        self.item_factors_ = Y
        self.item_ids_ = list(item_ids) if item_ids is not None else None
        self.n_iter_ = self.n_iter
        self.sklearn_version_ = sklearn.__version__
        return self

    def compact(self) -> ImplicitALS:
        """Drop the user factors (not needed to serve: users are folded in)."""
        self.user_factors_ = np.zeros((0, self.n_factors))
        return self

    # --- serving -----------------------------------------------------------------------

    def _index(self) -> dict[str, int]:
        index: dict[str, int] | None = getattr(self, "_index_cache", None)
        if index is None:
            ids = self.item_ids_ or []
            index = {item: i for i, item in enumerate(ids)}
            self._index_cache = index
        return index

    def fold_in(self, weights: Mapping[int, float]) -> tuple[Array, Array, NDArray[np.intp]]:
        """User vector from column -> weight (non-positive weights ignored).

        Returns the vector, the ``k x |S|`` matrix ``A^-1 c_S Y_S^T`` whose columns are the
        per-source contributions, and the source columns ``S``.
        """
        check_is_fitted(self, "item_factors_")
        Y = self.item_factors_
        cols = np.array([c for c, w in weights.items() if w > 0], dtype=np.intp)
        if cols.size == 0:
            return np.zeros(Y.shape[1]), np.zeros((Y.shape[1], 0)), cols
        r = np.array([weights[int(c)] for c in cols], dtype=np.float64)
        Ys = Y[cols]
        conf = 1.0 + self.alpha * r
        A = Y.T @ Y + (Ys.T * (conf - 1.0)) @ Ys + self.regularization * np.eye(Y.shape[1])
        per_source: Array = np.asarray(np.linalg.solve(A, Ys.T * conf), dtype=np.float64)
        user: Array = per_source.sum(axis=1)
        return user, per_source, cols

    def scores_for(
        self, item_weights: Mapping[str, float], *, explain_top: int = 200
    ) -> tuple[dict[str, float], dict[str, str]]:
        """Preference scores of every item for a user with these item weights, and for
        the ``explain_top`` best items the user's item that contributed most."""
        index = self._index()
        ids = self.item_ids_ or []
        cols = {index[i]: w for i, w in item_weights.items() if i in index}
        u, per_source, src = self.fold_in(cols)
        if src.size == 0:
            return {}, {}
        Y = self.item_factors_
        scores = Y @ u
        top = np.argsort(-scores)[:explain_top]
        contrib = Y[top] @ per_source  # |top| x |S|
        strongest = src[np.argmax(contrib, axis=1)]
        sources = {
            ids[int(j)]: ids[int(s)] for j, s in zip(top, strongest, strict=True) if scores[j] > 0
        }
        return {ids[j]: float(scores[j]) for j in range(len(ids))}, sources


def preference_matrix(
    interactions: Iterable[Interaction],
    weights: EventWeights | None = None,
    *,
    items: Sequence[str] | None = None,
) -> tuple[sp.csr_matrix, list[str], list[str]]:
    """Users x items matrix of summed event weights (negative sums clipped to 0).

    Returns the matrix, the user ids (rows) and the item ids (columns); ``items`` fixes the
    columns (events on other items are dropped).
    """
    weights = weights or EventWeights()
    sums: dict[tuple[str, str], float] = defaultdict(float)
    seen_items: set[str] = set()
    for it in interactions:
        w = weights.of(it.type)
        if w:
            sums[(it.user_id, it.item_id)] += w
            seen_items.add(it.item_id)
    cols = list(items) if items is not None else sorted(seen_items)
    col_index = {item: j for j, item in enumerate(cols)}
    users = sorted({u for (u, i), w in sums.items() if w > 0 and i in col_index})
    row_index = {user: r for r, user in enumerate(users)}
    rows, cs, vals = [], [], []
    for (u, i), w in sums.items():
        if w > 0 and i in col_index:
            rows.append(row_index[u])
            cs.append(col_index[i])
            vals.append(w)
    matrix = sp.csr_matrix((vals, (rows, cs)), shape=(len(users), len(cols)), dtype=np.float64)
    return matrix, users, cols
