"""Time-decayed scores that Redis can update with a single atomic ``HINCRBYFLOAT``.

A score is a sum of weights that each halve every ``half_life`` seconds. Instead of
storing (score, last update) and rewriting both, a weight ``w`` added at time ``t`` is
stored as ``w * 2**((t - EPOCH) / half_life)``; the score at ``now`` is the stored sum
times ``2**(-(now - EPOCH) / half_life)``. Additions commute, so concurrent writers need
no read-modify-write. The stored magnitude grows by one bit per half-life since EPOCH,
which float64 represents for ~1,000 half-lives (decades at the default half-lives).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@dataclass(frozen=True)
class Decay:
    half_life_s: float

    def __post_init__(self) -> None:
        if self.half_life_s < 3600:
            raise ValueError("half-life must be at least one hour")

    def encode(self, weight: float, at: float) -> float:
        """The increment to store for ``weight`` observed at time ``at``."""
        return weight * math.pow(2.0, (at - EPOCH) / self.half_life_s)

    def factor(self, now: float) -> float:
        return math.pow(2.0, -(now - EPOCH) / self.half_life_s)

    def decode_all(
        self, stored: Mapping[str, str] | Mapping[bytes | str, bytes | str], now: float
    ) -> dict[str, float]:
        """Decayed scores from a Redis hash reply, dropping those that have faded away."""
        f = self.factor(now)
        out: dict[str, float] = {}
        for field, raw in stored.items():
            score = float(raw) * f
            if abs(score) >= 1e-3:
                key = field.decode() if isinstance(field, bytes) else field
                out[key] = score
        return out
