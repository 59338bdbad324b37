"""Training with automatic model selection on a held-out split of the training data.

``train`` never looks at any data but the examples it is given, and uses the same settings
for every data set:

1. A stratified split holds out ``validation_fraction`` of every intent (and of the
   out-of-scope examples) as the *selection split*.
2. ``PSEUDO_OOS_GROUPS`` disjoint groups of about ``PSEUDO_OOS_FRACTION`` of the in-scope
   intents are set aside as *pseudo out-of-scope* intents: the selection model of a group
   never sees them, so their utterances play the part of unseen out-of-scope requests.  This
   works whether or not the data contains ``"oos"`` examples, and it mimics what matters in
   production: requests for things the model was never taught.
3. For every candidate SVM regularisation ``C`` (a small grid for data sets of up to
   ``SEARCH_MAX_EXAMPLES`` examples, ``DEFAULT_C`` above that) the selection models are fitted;
   on their pooled held-out scores the temperature and the background-class parameters are
   fitted by minimising the log loss, and the rejection threshold is the highest one (= the
   highest out-of-scope recall) that gives up at most ``MAX_ACCURACY_LOSS`` of held-out in-scope
   accuracy -- or none at all when the data has no out-of-scope example.  The configuration
   with the best ``in-scope accuracy + OOS_WEIGHT * out-of-scope recall`` wins; the
   ambiguity rule is then tuned on the same predictions
   (:func:`intent.calibration.choose_ambiguity`).
4. The chosen configuration is refitted on all examples.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from intent.calibration import HeldOut, IntArray, choose_ambiguity, evaluate_candidate
from intent.classifier import IntentClassifier
from intent.data import LabelledText
from intent.embeddings import DEFAULT_EMBEDDING, embedding_available
from intent.taxonomy import OUT_OF_SCOPE

#: Candidate SVM regularisation strengths, searched when the data is small enough ...
C_GRID = (0.25, 0.5, 1.0, 2.0)
#: ... i.e. when it has at most this many examples; larger data sets use DEFAULT_C only, so
#: that training stays within a few minutes on two cores (the choice of C matters less the
#: more data there is, and the selection fit can then run concurrently with the final fit).
SEARCH_MAX_EXAMPLES = 6000
DEFAULT_C = 0.5
#: Share of in-scope intents held out as pseudo out-of-scope during selection ...
PSEUDO_OOS_FRACTION = 0.2
#: ... in this many disjoint groups, one selection model each (pooled: a steadier choice).
PSEUDO_OOS_GROUPS = 2


@dataclass
class TrainResult:
    model: IntentClassifier
    #: Metrics of the chosen configuration on the selection split.
    validation: dict[str, float]
    #: Chosen hyper-parameters (constructor arguments of the final model).
    params: dict[str, Any]
    #: Objective of every candidate configuration.
    candidates: list[dict[str, float]] = field(default_factory=list)
    n_train: int = 0
    seconds: float = 0.0


def stratified_split(
    labels: Sequence[str], fraction: float, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Indices ``(fit, held_out)``; each label with >= 2 examples gives ``round(fraction * n)``
    (at least one) examples to the held-out part."""
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    fit: list[int] = []
    held: list[int] = []
    for label in sorted(by_label):
        idx = np.array(by_label[label])
        rng.shuffle(idx)
        n_held = 0 if len(idx) < 2 else max(1, round(fraction * len(idx)))
        held.extend(idx[:n_held].tolist())
        fit.extend(idx[n_held:].tolist())
    return np.array(sorted(fit), dtype=np.int64), np.array(sorted(held), dtype=np.int64)


def _score_fold(
    C: float,
    embedding: str | None,
    texts: list[str],
    labels: list[str],
    fit_idx: IntArray,
    eval_idx: IntArray,
) -> HeldOut:
    model = IntentClassifier(C=C, embedding=embedding)
    model.fit([texts[i] for i in fit_idx], [labels[i] for i in fit_idx])
    eval_labels = [labels[i] for i in eval_idx]
    scores, oos_scores = model.decision_scores([texts[i] for i in eval_idx])
    index = {str(c): i for i, c in enumerate(model.classes_)}
    return HeldOut(
        scores=scores,
        oos_scores=oos_scores,
        target=np.array([index.get(label, -1) for label in eval_labels], dtype=np.int64),
        real_oos=np.array([label == OUT_OF_SCOPE for label in eval_labels], dtype=bool),
        has_oos_class=model.has_oos_class_,
    )


def _set_decision_params(model: IntentClassifier, params: dict[str, Any]) -> None:
    """Install selected calibration / decision parameters on an already fitted model."""
    model.set_params(**params)
    model.temperature_ = float(params["temperature"])
    model.oos_bias_ = float(params["oos_bias"])
    model.oos_weight_ = float(params["oos_weight"]) if model.has_oos_class_ else 0.0
    model.threshold_ = float(params["threshold"])
    model.ambiguity_mass_ = float(params["ambiguity_mass"])
    model.ambiguity_floor_ = float(params["ambiguity_floor"])


def train(
    examples: list[LabelledText],
    *,
    seed: int = 0,
    validation_fraction: float = 0.15,
    n_jobs: int = 2,
    embedding: str | None = "auto",
) -> TrainResult:
    """Select hyper-parameters on a held-out split of ``examples``, then refit on all of them.

    ``embedding``: the static sentence embedding to add to the n-gram features (see
    :mod:`intent.embeddings`); ``"auto"`` uses the default one when its package is installed,
    ``None`` trains on n-grams only.
    """
    started = time.perf_counter()
    if embedding == "auto":
        embedding = DEFAULT_EMBEDDING if embedding_available() else None
    texts = [e.text for e in examples]
    labels = [e.intent for e in examples]
    intents = sorted({label for label in labels if label != OUT_OF_SCOPE})
    if len(intents) < 2:
        raise ValueError("training data needs at least two in-scope intents")
    rng = np.random.default_rng(seed)
    fit_idx, eval_idx = stratified_split(labels, validation_fraction, rng)

    # Pseudo-oos intents: disjoint groups of about PSEUDO_OOS_FRACTION of the intents; the
    # selection model of a group never sees its intents, and all their examples are scored.
    n_pseudo = 0
    if len(intents) >= 3:
        n_pseudo = min(max(1, round(PSEUDO_OOS_FRACTION * len(intents))), len(intents) - 2)
    shuffled = [str(x) for x in rng.permutation(intents)]
    n_groups = max(1, min(PSEUDO_OOS_GROUPS, len(intents) // max(n_pseudo, 1))) if n_pseudo else 1
    groups = [set(shuffled[g * n_pseudo : (g + 1) * n_pseudo]) for g in range(n_groups)]
    held_out = set(eval_idx.tolist())
    splits = []
    for pseudo in groups:
        sel_fit = np.array([i for i in fit_idx if labels[i] not in pseudo], dtype=np.int64)
        sel_eval = np.array(
            sorted(held_out | {i for i, lab in enumerate(labels) if lab in pseudo}),
            dtype=np.int64,
        )
        splits.append((sel_fit, sel_eval))

    search = len(examples) <= SEARCH_MAX_EXAMPLES
    c_values = C_GRID if search else (DEFAULT_C,)
    jobs = [(c, g) for c in c_values for g in range(len(splits))]
    with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
        final_fit = None
        if not search:
            # C is fixed: fit the final model while the selection models are evaluated.
            final_fit = pool.submit(
                IntentClassifier(C=DEFAULT_C, embedding=embedding).fit, texts, labels
            )
        scored = list(
            pool.map(
                lambda job: _score_fold(job[0], embedding, texts, labels, *splits[job[1]]), jobs
            )
        )
        candidates = [
            evaluate_candidate(
                {"C": c}, [fold for (jc, _), fold in zip(jobs, scored, strict=True) if jc == c]
            )
            for c in c_values
        ]
        chosen = max(candidates, key=lambda c: c.objective)
        mass, floor, ambiguity_metrics = choose_ambiguity(
            chosen.proba, chosen.target, chosen.threshold, chosen.weights
        )
        temperature, oos_bias, oos_weight = chosen.calibration
        params: dict[str, Any] = {
            "C": chosen.params["C"],
            "embedding": embedding,
            "temperature": temperature,
            "oos_bias": oos_bias,
            "oos_weight": oos_weight,
            "threshold": chosen.threshold,
            "ambiguity_mass": mass,
            "ambiguity_floor": floor,
        }
        if final_fit is not None:
            model = final_fit.result()
            _set_decision_params(model, params)
        else:
            model = IntentClassifier(**params).fit(texts, labels)
    validation = dict(chosen.metrics)
    if "in_scope_accuracy" in validation:
        validation["in_scope_accuracy_before_ambiguity"] = validation["in_scope_accuracy"]
    validation.update(ambiguity_metrics)  # final in-scope accuracy / oos recall of the rule
    validation["n_selection"] = float(sum(len(e) for _, e in splits))
    validation["n_pseudo_oos_intents"] = float(n_pseudo)
    validation["n_pseudo_oos_groups"] = float(len(groups) if n_pseudo else 0)
    return TrainResult(
        model=model,
        validation=validation,
        params=params,
        candidates=[{**c.params, **c.metrics} for c in candidates],
        n_train=len(examples),
        seconds=time.perf_counter() - started,
    )
