"""Set operations on small integer arrays (catalog positions, category ids) by one sort.

numpy 2's ``np.unique`` hashes its input before sorting it; on the few hundred or few
thousand values a request handles that costs several times a plain sort, on every call.
These give the same answers as ``np.unique`` (sorted unique values; inverse indices into
them)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int32]


def _firsts(ordered: NDArray[np.integer]) -> NDArray[np.bool_]:
    first = np.empty(len(ordered), np.bool_)
    if len(ordered):
        first[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return first


def sorted_unique(values: NDArray[np.integer]) -> NDArray[np.integer]:
    """``np.unique(values)``: the distinct values, ascending."""
    ordered = np.sort(values)
    out: NDArray[np.integer] = ordered[_firsts(ordered)]
    return out


def unique_inverse(
    values: NDArray[np.integer],
) -> tuple[NDArray[np.integer], NDArray[np.intp]]:
    """``np.unique(values, return_inverse=True)``: the distinct values, ascending, and for
    each value its index among them."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = _firsts(ordered)
    inverse = np.empty(len(values), np.intp)
    inverse[order] = np.cumsum(first) - 1
    out: NDArray[np.integer] = ordered[first]
    return out, inverse
