"""Loader for the Open Bandit Dataset (OBD) sample: standard-library csv + numpy.

Expected layout (see ``PROVENANCE.md`` next to the data)::

    <obd>/{random,bts}/{all,men,women}/{all,men,women}.csv
    <obd>/{random,bts}/{all,men,women}/item_context.csv

Each log row is one impression on ZOZOTOWN: ``timestamp, item_id, position (1..3),
click (0/1), propensity_score`` (probability that the logging policy put that item at
that position), four hashed user features and one user-item affinity column per item.
The first, unnamed column is a row index and is ignored.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["CAMPAIGNS", "POLICIES", "OBDLog", "load_obd", "resolve_obd_dir"]

POLICIES = ("random", "bts")
CAMPAIGNS = ("all", "men", "women")
N_USER_FEATURES = 4


@dataclass(frozen=True)
class OBDLog:
    """One OBD log (one logging policy, one campaign) as numpy arrays, in file order.

    Attributes:
        policy: ``"random"`` or ``"bts"``.
        campaign: ``"all"``, ``"men"`` or ``"women"``.
        n_actions: number of items in the campaign (rows of ``item_context.csv``).
        timestamp: seconds since the Unix epoch (UTC), shape ``(n,)``; non-decreasing.
        action: item id in ``[0, n_actions)``, shape ``(n,)``.
        position: slot of the impression, 1-based as in the file, shape ``(n,)``.
        reward: click (0/1), shape ``(n,)``.
        pscore: logging propensity of (item, position), shape ``(n,)``.
        user_features: hashed user features as strings, shape ``(n, 4)``.
        affinity: user-item affinity features, shape ``(n, n_affinity)``.
        item_features: the ``item_context.csv`` feature columns as strings,
            shape ``(n_actions, n_item_features)``; row ``j`` is item ``j``.
    """

    policy: str
    campaign: str
    n_actions: int
    timestamp: NDArray[np.float64]
    action: NDArray[np.int64]
    position: NDArray[np.int64]
    reward: NDArray[np.int64]
    pscore: NDArray[np.float64]
    user_features: NDArray[np.str_]
    affinity: NDArray[np.float64]
    item_features: NDArray[np.str_]

    def __len__(self) -> int:
        return int(self.action.shape[0])

    @property
    def n_positions(self) -> int:
        """Number of slots (the largest position seen)."""
        return int(self.position.max()) if len(self) else 0

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_] | slice) -> OBDLog:
        """Subset of the rounds (a slice, integer index or boolean mask)."""
        return OBDLog(
            policy=self.policy,
            campaign=self.campaign,
            n_actions=self.n_actions,
            timestamp=self.timestamp[index],
            action=self.action[index],
            position=self.position[index],
            reward=self.reward[index],
            pscore=self.pscore[index],
            user_features=self.user_features[index],
            affinity=self.affinity[index],
            item_features=self.item_features,
        )


def resolve_obd_dir(path: str | Path) -> Path:
    """Accept either the OBD directory itself or a data directory containing ``obd/``."""
    p = Path(path).expanduser()
    for candidate in (p, p / "obd"):
        if (candidate / "random").is_dir() or (candidate / "bts").is_dir():
            return candidate
    raise FileNotFoundError(
        f"no Open Bandit Dataset under {p} (expected {p}/random/<campaign>/<campaign>.csv "
        f"or {p}/obd/random/...)"
    )


def _parse_timestamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def load_obd(
    data_dir: str | Path,
    policy: str = "random",
    campaign: str = "all",
    *,
    max_rows: int | None = None,
) -> OBDLog:
    """Read one OBD log.

    Args:
        data_dir: the OBD directory (or a directory holding ``obd/``).
        policy: logging policy, ``"random"`` or ``"bts"``.
        campaign: ``"all"``, ``"men"`` or ``"women"``.
        max_rows: read only the first ``max_rows`` rows (the earliest ones).
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if campaign not in CAMPAIGNS:
        raise ValueError(f"campaign must be one of {CAMPAIGNS}, got {campaign!r}")
    root = resolve_obd_dir(data_dir) / policy / campaign
    log_path = root / f"{campaign}.csv"

    timestamps: list[float] = []
    actions: list[int] = []
    positions: list[int] = []
    clicks: list[int] = []
    pscores: list[float] = []
    users: list[list[str]] = []
    affinities: list[list[float]] = []
    with log_path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        col = {name: i for i, name in enumerate(header)}
        required = ["timestamp", "item_id", "position", "click", "propensity_score"]
        missing = [c for c in required if c not in col]
        if missing:
            raise ValueError(f"{log_path}: missing columns {missing}")
        user_cols = [col[f"user_feature_{k}"] for k in range(N_USER_FEATURES)]
        aff_cols = sorted(
            (i for name, i in col.items() if name.startswith("user-item_affinity_")),
            key=lambda i: int(header[i].rsplit("_", 1)[1]),
        )
        i_ts, i_item, i_pos = col["timestamp"], col["item_id"], col["position"]
        i_click, i_ps = col["click"], col["propensity_score"]
        for row_no, row in enumerate(reader):
            if max_rows is not None and row_no >= max_rows:
                break
            timestamps.append(_parse_timestamp(row[i_ts]))
            actions.append(int(row[i_item]))
            positions.append(int(row[i_pos]))
            clicks.append(int(row[i_click]))
            pscores.append(float(row[i_ps]))
            users.append([row[i] for i in user_cols])
            affinities.append([float(row[i]) for i in aff_cols])

    item_rows: list[list[str]] = []
    with (root / "item_context.csv").open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        id_col = header.index("item_id")
        feat_cols = [i for i, name in enumerate(header) if name.startswith("item_feature_")]
        for row in reader:
            item_rows.append([row[id_col], *(row[i] for i in feat_cols)])
    item_rows.sort(key=lambda r: int(r[0]))
    if [int(r[0]) for r in item_rows] != list(range(len(item_rows))):
        raise ValueError(f"{root / 'item_context.csv'}: item ids are not 0..N-1")
    n_actions = len(item_rows)

    n = len(actions)
    action = np.asarray(actions, dtype=np.int64)
    log = OBDLog(
        policy=policy,
        campaign=campaign,
        n_actions=n_actions,
        timestamp=np.asarray(timestamps, dtype=np.float64),
        action=action,
        position=np.asarray(positions, dtype=np.int64),
        reward=np.asarray(clicks, dtype=np.int64),
        pscore=np.asarray(pscores, dtype=np.float64),
        user_features=np.asarray(users, dtype=np.str_).reshape(n, N_USER_FEATURES),
        affinity=np.asarray(affinities, dtype=np.float64).reshape(n, len(aff_cols)),
        item_features=np.asarray([r[1:] for r in item_rows], dtype=np.str_),
    )
    if n and (action.min() < 0 or action.max() >= n_actions):
        raise ValueError(f"{log_path}: item_id outside 0..{n_actions - 1}")
    if n and np.any(np.diff(log.timestamp) < 0):
        raise ValueError(f"{log_path}: rows are not in time order")
    return log
