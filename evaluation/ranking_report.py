"""The metrics of the history-ranking evaluation, and its report (JSON and text).

The protocol and the run are :mod:`evaluation.ranking`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

# --- metrics --------------------------------------------------------------------------------


def hit_rate_at_k(ranks: Sequence[float] | NDArray[Any], k: int) -> float:
    """Share of users whose held-out item ranks (1-based; inf = not ranked) in the top k."""
    r = np.asarray(ranks, dtype=np.float64)
    if r.size == 0:
        return 0.0
    return float(np.mean(r <= k))


def ndcg_at_k(ranks: Sequence[float] | NDArray[Any], k: int) -> float:
    """Mean NDCG@k with one relevant item per user: 1/log2(rank + 1) within the top k."""
    r = np.asarray(ranks, dtype=np.float64)
    if r.size == 0:
        return 0.0
    gains = np.zeros_like(r)
    hit = r <= k
    gains[hit] = 1.0 / np.log2(r[hit] + 1.0)
    return float(np.mean(gains))


def rank_of(target: str, ranked: Sequence[str]) -> float:
    """1-based position of ``target`` in ``ranked``, inf when absent."""
    try:
        return float(ranked.index(target) + 1)
    except ValueError:
        return math.inf


def top_k(scores: Mapping[str, float], candidates: Iterable[str], k: int) -> list[str]:
    """The k best candidates by score (missing = -inf), ties broken by id."""
    return sorted(candidates, key=lambda i: (-scores.get(i, -math.inf), i))[:k]


@dataclass
class ModelResult:
    hr: float
    ndcg: float
    seconds: float
    #: standard errors of the two means over test users
    hr_se: float = 0.0
    ndcg_se: float = 0.0
    #: per test user (same order for every model): hit (0/1) and NDCG gain
    hits: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    gains: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))


def paired_difference(a: NDArray[np.float64], b: NDArray[np.float64]) -> tuple[float, float]:
    """Mean of ``a - b`` over the same users and its standard error."""
    d = a - b
    if d.size < 2:
        return float(d.mean()) if d.size else 0.0, 0.0
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size))


@dataclass
class RankingReport:
    events: str
    n_events: int
    n_users: int
    n_items: int
    n_train_events: int
    n_test_users: int
    cut: float
    k: int
    results: dict[str, ModelResult]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        k = self.k
        return {
            "events": self.events,
            "n_events": self.n_events,
            "n_users": self.n_users,
            "n_items": self.n_items,
            "n_train_events": self.n_train_events,
            "n_test_users": self.n_test_users,
            "cut": datetime.fromtimestamp(self.cut, UTC).isoformat(),
            "k": k,
            "models": {
                name: {
                    f"hr@{k}": round(r.hr, 4),
                    f"ndcg@{k}": round(r.ndcg, 4),
                    f"hr@{k}_se": round(r.hr_se, 4),
                    f"ndcg@{k}_se": round(r.ndcg_se, 4),
                    "seconds": round(r.seconds, 2),
                }
                for name, r in self.results.items()
            },
            "versus_als": self.versus("als"),
            "seconds": round(self.seconds, 2),
        }

    def versus(self, reference: str) -> dict[str, dict[str, float]]:
        """Paired differences (model - reference) of HR and NDCG over the same test users."""
        ref = self.results.get(reference)
        if ref is None:
            return {}
        out: dict[str, dict[str, float]] = {}
        for name, r in self.results.items():
            if name == reference:
                continue
            hr, hr_se = paired_difference(r.hits, ref.hits)
            nd, nd_se = paired_difference(r.gains, ref.gains)
            out[name] = {
                f"hr@{self.k}_diff": round(hr, 4),
                f"hr@{self.k}_diff_se": round(hr_se, 4),
                f"ndcg@{self.k}_diff": round(nd, 4),
                f"ndcg@{self.k}_diff_se": round(nd_se, 4),
            }
        return out


def format_report(report: RankingReport) -> str:
    k = report.k
    lines = [
        f"events: {report.events} ({report.n_events} item events, {report.n_users} users, "
        f"{report.n_items} items)",
        f"time split at {datetime.fromtimestamp(report.cut, UTC):%Y-%m-%d %H:%M} UTC: "
        f"{report.n_train_events} training events, {report.n_test_users} test users "
        "(one held-out item each)",
        "",
        f"{'model':<14} {'HR@' + str(k):>8} {'(se)':>8} {'NDCG@' + str(k):>9} {'(se)':>8} "
        f"{'seconds':>8}",
    ]
    for name, r in report.results.items():
        lines.append(
            f"{name:<14} {r.hr:>8.4f} {r.hr_se:>8.4f} {r.ndcg:>9.4f} {r.ndcg_se:>8.4f} "
            f"{r.seconds:>8.2f}"
        )
    versus = report.versus("als")
    if versus:
        lines += ["", "paired difference to als over the same users (difference +- se):"]
        for name, d in versus.items():
            lines.append(
                f"{name:<14} HR@{k} {d[f'hr@{k}_diff']:+.4f} +- {d[f'hr@{k}_diff_se']:.4f}   "
                f"NDCG@{k} {d[f'ndcg@{k}_diff']:+.4f} +- {d[f'ndcg@{k}_diff_se']:.4f}"
            )
    return "\n".join(lines)
