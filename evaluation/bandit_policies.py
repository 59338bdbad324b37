"""The slate policies evaluated on the Open Bandit Dataset, and a run's settings.

:data:`CANDIDATES` is the pre-declared family (greedy, Thompson, softmax, epsilon-greedy);
:func:`slate_probabilities` turns one of them plus a context's posterior means into the
per-position action probabilities ``pi`` the estimators need. The protocol is described in
:mod:`evaluation.bandit`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

PolicyKind = Literal["greedy", "thompson", "softmax", "epsilon"]
FloatArray = NDArray[np.float64]
Context = tuple[tuple[str, str], ...]
Draw = Callable[[int], NDArray[np.float64]]


@dataclass(frozen=True)
class Candidate:
    """One slate policy of the pre-declared family (``param``: temperature or epsilon)."""

    name: str
    kind: PolicyKind
    param: float = 0.0

    def describe(self, features: str, n_mc: int) -> str:
        """One-line description for the report."""
        where = f"bucket (position, user_feature_{features})"
        text = {
            "greedy": f"the item of highest posterior mean click rate in {where}",
            "thompson": f"the item of highest draw from its Beta posterior in {where}",
            "softmax": (
                f"an item drawn with probability proportional to posterior_mean ** "
                f"(1/{self.param:g}) in {where}"
            ),
            "epsilon": (
                f"with probability {self.param:g} an item uniformly at random, otherwise "
                f"the item of highest posterior mean in {where}"
            ),
        }[self.kind]
        how = (
            "deterministic"
            if self.kind == "greedy"
            else f"pi = frequencies over {n_mc} seeded Monte Carlo slates per context"
        )
        return (
            f"{self.name}: per round, slots 1, 2, 3 are filled in order with {text} "
            f"(back-off: item -> item x position -> item x position x context), never "
            f"repeating an item; the item at the logged position is shown ({how})"
        )


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("greedy", "greedy"),
    Candidate("thompson", "thompson"),
    Candidate("softmax-0.1", "softmax", 0.1),
    Candidate("softmax-0.3", "softmax", 0.3),
    Candidate("softmax-1", "softmax", 1.0),
    Candidate("epsilon-0.1", "epsilon", 0.1),
    Candidate("epsilon-0.3", "epsilon", 0.3),
)
"""The pre-declared policy family searched by ``policy="auto"`` (fixed before any run)."""

BY_NAME: dict[str, Candidate] = {c.name: c for c in CANDIDATES}
POLICY_CHOICES: tuple[str, ...] = ("auto", *BY_NAME)

SELECTION_RULE = (
    "highest lower end of the validation DR 95% bootstrap interval "
    "(ties: higher DR, then earlier in the family)"
)


@dataclass(frozen=True)
class BanditConfig:
    """Settings of one evaluation run (defaults fixed before looking at the test part)."""

    campaign: str = "all"
    train_fraction: float = 0.5
    seed: int = 0
    n_boot: int = 1_000
    max_rows: int | None = None
    policy: str = "auto"
    validation_fraction: float = 0.5
    user_features: tuple[int, ...] = (0,)
    backoff_strength: float | None = None  # None: empirical-Bayes fit per depth
    n_mc: int = 2_000
    train_on: Literal["random", "both"] = "random"


def _fill_slates(scores: FloatArray) -> NDArray[np.int64]:
    """Slates ``(m, P)`` from scores ``(m, P, A)``: slot by slot, best unused item."""
    m, n_pos, n_act = scores.shape
    used = np.zeros((m, n_act), dtype=bool)
    slates = np.empty((m, n_pos), dtype=np.int64)
    rows = np.arange(m)
    for p in range(n_pos):
        pick = np.argmax(np.where(used, -np.inf, scores[:, p, :]), axis=1)
        slates[:, p] = pick
        used[rows, pick] = True
    return slates


def _marginals(slates: NDArray[np.int64], n_act: int) -> FloatArray:
    """Per-position frequency ``(P, A)`` of each item over the slates ``(m, P)``."""
    m, n_pos = slates.shape
    flat = (slates + n_act * np.arange(n_pos)).ravel()
    counts = np.bincount(flat, minlength=n_pos * n_act).reshape(n_pos, n_act)
    return np.asarray(counts / m, dtype=np.float64)


def _scores(
    cand: Candidate,
    means: FloatArray,
    draw: Draw | None,
    rng: np.random.Generator,
    n_mc: int,
) -> FloatArray:
    """Slot scores ``(m, P, A)``; ``draw(size)`` gives Thompson draws of that shape."""
    n_pos, n_act = means.shape
    if cand.kind == "greedy":
        return means[None]
    if cand.kind == "thompson":
        if draw is None:
            raise ValueError("thompson needs posterior draws")
        return np.asarray(draw(n_mc), dtype=np.float64)
    if cand.kind == "softmax":
        gumbel = rng.gumbel(size=(n_mc, n_pos, n_act))
        return np.log(np.maximum(means, 1e-300))[None] / cand.param + gumbel
    explore = rng.random((n_mc, n_pos)) < cand.param
    return np.where(explore[..., None], rng.random((n_mc, n_pos, n_act)), means[None])


def slate_probabilities(
    cand: Candidate,
    means: FloatArray,
    rng: np.random.Generator,
    n_mc: int,
    draw: Draw | None = None,
) -> FloatArray:
    """Per-position action probabilities ``(P, A)`` of ``cand`` for one context.

    Args:
        cand: the policy.
        means: posterior mean click rate of every item at every position, ``(P, A)``.
        rng: source of the Monte Carlo slates (softmax, epsilon).
        n_mc: number of slates drawn for a stochastic policy.
        draw: for Thompson, ``draw(size)`` returns posterior draws of shape ``(size, P, A)``.
    """
    slates = _fill_slates(_scores(cand, means, draw, rng, n_mc))
    return _marginals(slates, means.shape[1])


def check_config(cfg: BanditConfig) -> None:
    if not 0 < cfg.train_fraction < 1:
        raise ValueError("train_fraction must lie in (0, 1)")
    if not 0 < cfg.validation_fraction < 1:
        raise ValueError("validation_fraction must lie in (0, 1)")
    if cfg.policy not in POLICY_CHOICES:
        raise ValueError(f"unknown policy {cfg.policy!r}; choose from {POLICY_CHOICES}")
    if any(not 0 <= k < 4 for k in cfg.user_features):
        raise ValueError("user_features must be indices in 0..3")
    if cfg.n_mc < 1 or cfg.n_boot < 1:
        raise ValueError("n_mc and n_boot must be >= 1")
