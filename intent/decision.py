"""What an intent prediction is, and the rule that turns scores into one.

Probabilities.  For an utterance with in-scope SVM scores ``s_1..s_K`` (and, when the training
data contained out-of-scope examples, the score ``s_oos`` of the extra "oos" class), the model
uses the logits ``T * s_k`` for the in-scope intents and ``T * (oos_bias + oos_weight * s_oos)``
for a background class that stands for "out of scope".  A softmax over those K + 1 logits
gives ``P(intent k)`` and ``P(out of scope)``; :meth:`IntentClassifier.predict_proba` returns the
in-scope part (a row sums to ``1 - P(out of scope)``).

Decision.  Let ``p_1 >= p_2 >= ...`` be the in-scope probabilities.  The *candidates* are the
(at most ``max_ambiguous``) intents with ``p >= ambiguity_floor * p_1``.  If there are at least
two candidates and together they carry at least ``ambiguity_mass`` of the probability, the
utterance is *ambiguous*: the model is torn between a few intents that between them explain it,
and the service asks which one was meant (a dialogue decision taken on top of the
classification, see :class:`intent.resolve.ClarifyPolicy`).  Independently of that, the
classification is the top intent if ``p_1 >= threshold`` and *out of scope* otherwise: an
out-of-scope prediction has ``intent = None``; an ambiguous one keeps its top guess in
``intent`` (``None`` if below the threshold) so that benchmarks measure the classifier, not the
dialogue policy.

:class:`intent.classifier.IntentClassifier` computes the scores and applies this rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Prediction:
    """The model's answer for one utterance.

    ``intent`` is the top intent when its probability reaches the model's threshold and
    ``None`` otherwise.  ``out_of_scope`` marks an utterance the model rejects outright.
    ``ambiguous`` marks one torn between a few intents (offered in ``candidates``): the service
    asks which was meant rather than acting on ``intent``, which is then only the top guess (or
    ``None`` below the threshold).  ``confidence`` is the calibrated probability of the top
    in-scope intent, which is ``alternatives[0]`` (also when ``intent`` is ``None``).
    """

    intent: str | None
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    ambiguous: bool
    out_of_scope: bool
    #: Intents to offer in a clarifying question, best first (empty unless ``ambiguous``).
    candidates: tuple[str, ...] = ()


ANSWER, AMBIGUOUS, OUT = 0, 1, 2


def scores_to_proba(
    scores: FloatArray,
    oos_scores: FloatArray,
    temperature: float,
    oos_bias: float,
    oos_weight: float,
) -> tuple[FloatArray, FloatArray]:
    """Softmax over ``T * scores`` plus the background logit ``T * (bias + weight * s_oos)``."""
    logits = temperature * scores
    background = temperature * (oos_bias + oos_weight * oos_scores)
    top = np.maximum(logits.max(axis=1), background)
    exp = np.exp(logits - top[:, None])
    exp_bg = np.exp(background - top)
    total = exp.sum(axis=1) + exp_bg
    return exp / total[:, None], exp_bg / total


def decide(
    proba: FloatArray,
    *,
    threshold: float,
    ambiguity_mass: float,
    ambiguity_floor: float,
    max_ambiguous: int,
    top_k: int,
) -> tuple[list[int], int, list[int]]:
    """Apply the decision rule to one row of in-scope probabilities.

    Returns ``(indices of the top-k intents best first, kind, indices of the ambiguity
    candidates)`` with kind one of ``ANSWER``, ``AMBIGUOUS``, ``OUT``.
    """
    k = min(max(top_k, max_ambiguous, 1), proba.shape[0])
    part = np.argpartition(-proba, k - 1)[:k] if k < proba.shape[0] else np.arange(k)
    order = part[np.argsort(-proba[part], kind="stable")]
    top = [int(i) for i in order[: max(top_k, 1)]]
    p1 = float(proba[order[0]])
    floor = ambiguity_floor * p1
    candidates = [int(i) for i in order[:max_ambiguous] if proba[i] >= floor]
    if len(candidates) >= 2 and float(proba[candidates].sum()) >= ambiguity_mass:
        return top, AMBIGUOUS, candidates
    if p1 >= threshold:
        return top, ANSWER, []
    return top, OUT, []


def prediction(
    proba: FloatArray,
    classes: Sequence[Any] | NDArray[Any],
    top: list[int],
    kind: int,
    candidates: list[int],
    *,
    threshold: float,
) -> Prediction:
    """The :class:`Prediction` for one row of in-scope probabilities, given what
    :func:`decide` made of it (``classes``: the intent of each column)."""
    alternatives = tuple((str(classes[i]), round(float(proba[i]), 6)) for i in top)
    confidence = float(proba[top[0]])
    answered = kind == ANSWER or (kind == AMBIGUOUS and confidence >= threshold)
    return Prediction(
        intent=str(classes[top[0]]) if answered else None,
        confidence=confidence,
        alternatives=alternatives,
        ambiguous=kind == AMBIGUOUS,
        out_of_scope=kind == OUT,
        candidates=tuple(str(classes[i]) for i in candidates),
    )
