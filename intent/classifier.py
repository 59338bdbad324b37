"""Intent classifier: sparse word + character n-gram features (plus, when the embedding
package is installed, a mean-pooled static sentence embedding: :mod:`intent.embeddings`), a
linear multi-class SVM, temperature-scaled probabilities with an explicit "none of these"
(background) class, and a confidence / ambiguity rule on top (both: :mod:`intent.decision`).

The estimator follows scikit-learn conventions: ``__init__`` only stores parameters, ``fit``
learns everything and every learned attribute ends in ``_``.  Choosing the calibration and
decision parameters (``temperature``, ``oos_bias``, ``oos_weight``, ``threshold``,
``ambiguity_mass``, ``ambiguity_floor``) is the job of :func:`intent.train.train`, which
selects them on held-out data and passes them in; ``fit`` itself only learns the linear model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from intent.decision import FloatArray, Prediction, decide, prediction, scores_to_proba
from intent.embeddings import StaticEmbedder, get_embedder
from intent.taxonomy import OUT_OF_SCOPE
from intent.word_spread import count_spread

#: Number of alternatives reported with every prediction.
TOP_K = 4


class IntentClassifier:
    """Linear intent classifier with calibrated confidence and out-of-scope rejection.

    Parameters
    ----------
    C:
        Regularisation of the linear SVM (larger = less regularised).
    multi_class:
        ``"crammer_singer"`` (one joint multi-class SVM; default, more accurate) or ``"ovr"``.
    word_ngram_range, char_ngram_range:
        n-gram ranges of the word and ``char_wb`` TF-IDF blocks (both sublinear tf, l2-normed).
    char_min_df:
        Minimum document frequency of a character n-gram.
    char_weight:
        Multiplier of the character block relative to the word block.
    embedding:
        Name of a static sentence embedding (:mod:`intent.embeddings`) appended as a dense
        block, or ``None`` for n-grams only.
    embedding_weight:
        Multiplier of the (unit-length) embedding block.
    temperature, oos_bias, oos_weight:
        Calibration of the softmax over in-scope scores plus the background logit.
    threshold:
        Minimum top-intent probability to answer with an intent.
    ambiguity_mass, ambiguity_floor, max_ambiguous:
        Ambiguity rule (see module docstring).
    top_k:
        Number of alternatives reported per prediction.
    """

    def __init__(
        self,
        *,
        C: float = 0.5,
        multi_class: str = "crammer_singer",
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (2, 5),
        char_min_df: int = 2,
        char_weight: float = 1.0,
        embedding: str | None = None,
        embedding_weight: float = 1.0,
        temperature: float = 8.0,
        oos_bias: float = -0.5,
        oos_weight: float = 1.0,
        threshold: float = 0.5,
        ambiguity_mass: float = 0.8,
        ambiguity_floor: float = 0.5,
        max_ambiguous: int = 4,
        top_k: int = TOP_K,
    ) -> None:
        self.C = C
        self.multi_class = multi_class
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.char_min_df = char_min_df
        self.char_weight = char_weight
        self.embedding = embedding
        self.embedding_weight = embedding_weight
        self.temperature = temperature
        self.oos_bias = oos_bias
        self.oos_weight = oos_weight
        self.threshold = threshold
        self.ambiguity_mass = ambiguity_mass
        self.ambiguity_floor = ambiguity_floor
        self.max_ambiguous = max_ambiguous
        self.top_k = top_k

    # ------------------------------------------------------------------ scikit-learn plumbing
    _PARAM_NAMES = (
        "C",
        "multi_class",
        "word_ngram_range",
        "char_ngram_range",
        "char_min_df",
        "char_weight",
        "embedding",
        "embedding_weight",
        "temperature",
        "oos_bias",
        "oos_weight",
        "threshold",
        "ambiguity_mass",
        "ambiguity_floor",
        "max_ambiguous",
        "top_k",
    )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._PARAM_NAMES}

    def set_params(self, **params: Any) -> IntentClassifier:
        for name, value in params.items():
            if name not in self._PARAM_NAMES:
                raise ValueError(f"unknown parameter {name!r}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"IntentClassifier({args})"

    # ------------------------------------------------------------------ fitting
    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> IntentClassifier:
        """Learn features and the linear model.  ``labels`` may contain ``"oos"``."""
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        y = np.asarray(list(labels), dtype=object)
        in_scope = sorted({str(label) for label in y if label != OUT_OF_SCOPE})
        if len(in_scope) < 2:
            raise ValueError("need examples of at least two in-scope intents")
        texts = _as_texts(texts)
        self.__dict__.pop("_cache", None)  # a refit invalidates the fast-path cache
        embedder = get_embedder(self.embedding) if self.embedding is not None else None
        self.embedding_fingerprint_ = embedder.fingerprint if embedder is not None else None
        self.word_spread_ = count_spread(texts, [str(label) for label in y])
        self.word_vectorizer_ = TfidfVectorizer(
            ngram_range=self.word_ngram_range,
            sublinear_tf=True,
            token_pattern=r"(?u)\b\w+\b",
            strip_accents="unicode",
            dtype=np.float32,
        )
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb",
            strip_accents="unicode",
            ngram_range=self.char_ngram_range,
            sublinear_tf=True,
            # Tiny data sets keep every n-gram (pruning could leave nothing).
            min_df=self.char_min_df if len(texts) >= 100 else 1,
            dtype=np.float32,
        )
        word = self.word_vectorizer_.fit_transform(texts)
        char = self.char_vectorizer_.fit_transform(texts)
        blocks = [word, char * self.char_weight]
        if embedder is not None:
            blocks.append(self._embedding_block(embedder, texts))
        features = sp.hstack(blocks, format="csr")

        # Fixed random_state: liblinear shuffles the data; the same input gives the same model.
        svm = LinearSVC(
            C=self.C, multi_class=self.multi_class, tol=1e-3, max_iter=2000, random_state=0
        )
        svm.fit(features, y.astype(str))
        svm_classes = [str(c) for c in svm.classes_]
        coef = np.asarray(svm.coef_, dtype=np.float64)
        intercept = np.asarray(svm.intercept_, dtype=np.float64)
        if coef.shape[0] == 1:  # binary problem: liblinear returns one row (positive class)
            coef = np.vstack([-coef, coef])
            intercept = np.concatenate([-intercept, intercept])

        in_rows = [svm_classes.index(c) for c in in_scope]
        self.classes_ = np.asarray(in_scope, dtype=object)
        self.n_word_features_ = int(word.shape[1])
        # Scores are computed as features @ coef_.T; keep the weights compact and fast.
        self.coef_ = _compact(coef[in_rows].T)
        self.intercept_ = intercept[in_rows]
        self.has_oos_class_ = OUT_OF_SCOPE in svm_classes
        if self.has_oos_class_:
            row = svm_classes.index(OUT_OF_SCOPE)
            self.oos_coef_: sp.csr_matrix | None = _compact(coef[row : row + 1].T)
            self.oos_intercept_ = float(intercept[row])
        else:
            self.oos_coef_ = None
            self.oos_intercept_ = 0.0
        self.sklearn_version_ = str(sklearn.__version__)
        self.temperature_ = float(self.temperature)
        self.oos_bias_ = float(self.oos_bias)
        self.oos_weight_ = float(self.oos_weight) if self.has_oos_class_ else 0.0
        self.threshold_ = float(self.threshold)
        self.ambiguity_mass_ = float(self.ambiguity_mass)
        self.ambiguity_floor_ = float(self.ambiguity_floor)
        return self

    # ------------------------------------------------------------------ scoring
    def _embedder(self) -> StaticEmbedder | None:
        """The embedder this model was trained with (checked against its fingerprint)."""
        name: str | None = getattr(self, "embedding", None)  # absent in older model files
        fingerprint: str | None = getattr(self, "embedding_fingerprint_", None)
        if name is None or fingerprint is None:
            return None
        return get_embedder(name, fingerprint)

    def _embedding_block(self, embedder: StaticEmbedder, texts: Sequence[str]) -> sp.csr_matrix:
        return sp.csr_matrix(embedder.embed(texts) * np.float32(self.embedding_weight))

    def _features(self, texts: Sequence[str]) -> sp.csr_matrix:
        word = self.word_vectorizer_.transform(texts)
        char = self.char_vectorizer_.transform(texts)
        if self.char_weight != 1.0:
            char = char * self.char_weight
        blocks = [word, char]
        embedder = self._embedder()
        if embedder is not None:
            blocks.append(self._embedding_block(embedder, texts))
        return sp.hstack(blocks, format="csr")

    def prepare(self) -> IntentClassifier:
        """Load what predictions need (the embedding table, the fast-path cache) now rather
        than on the first request; raises if the installed embedding does not match."""
        self._check_fitted()
        self._fast_path()
        return self

    def decision_scores(self, texts: Sequence[str]) -> tuple[FloatArray, FloatArray]:
        """Raw SVM scores: ``(in-scope scores (n, K), oos scores (n,))`` (zeros if no oos class)."""
        self._check_fitted()
        x = self._features(_as_texts(texts))
        scores = np.asarray((x @ self.coef_).toarray(), dtype=np.float64) + self.intercept_
        if self.oos_coef_ is not None:
            oos = np.asarray((x @ self.oos_coef_).toarray(), dtype=np.float64).ravel()
            oos += self.oos_intercept_
        else:
            oos = np.zeros(scores.shape[0])
        return scores, oos

    def probabilities_from_scores(
        self, scores: FloatArray, oos_scores: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Calibrated ``(in-scope probabilities (n, K), P(out of scope) (n,))``."""
        return scores_to_proba(
            scores, oos_scores, self.temperature_, self.oos_bias_, self.oos_weight_
        )

    def predict_proba_with_oos(self, texts: Sequence[str]) -> tuple[FloatArray, FloatArray]:
        return self.probabilities_from_scores(*self.decision_scores(texts))

    def predict_proba(self, texts: Sequence[str]) -> FloatArray:
        """In-scope probabilities over ``classes_``; each row sums to ``1 - P(out of scope)``."""
        return self.predict_proba_with_oos(texts)[0]

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        proba, _ = self.predict_proba_with_oos(texts)
        return [self._decide(row) for row in proba]

    def predict_one(self, text: str) -> Prediction:
        """Single-utterance fast path (no scikit-learn validation overhead, same numbers)."""
        scores, oos = self._scores_one(text)
        proba, _ = self.probabilities_from_scores(scores[None, :], np.array([oos]))
        return self._decide(proba[0])

    def known_words(self, text: str) -> int:
        """How many of the words of ``text`` (the word block's single words) the model
        learned from: 0 for text made only of words it never saw."""
        self._check_fitted()
        cache = self._fast_path()
        found = cache.known.get(text)
        if found is None:
            analyzer, vocabulary = cache.blocks[0][:2]
            found = sum(1 for gram in analyzer(text) if " " not in gram and gram in vocabulary)
            _remember(cache.known, text, found)
        return found

    def words(self) -> frozenset[str]:
        """The single words of the word block (lower case, accents stripped)."""
        self._check_fitted()
        vocabulary = self._fast_path().blocks[0][1]
        return frozenset(w for w in vocabulary if " " not in w)

    def _scores_one(self, text: str) -> tuple[FloatArray, float]:
        self._check_fitted()
        cache = self._fast_path()
        indices: list[int] = []
        values: list[float] = []
        for block, (analyzer, vocabulary, idf, offset, weight) in enumerate(cache.blocks):
            words = cache.by_word[block]
            counts: dict[int, int] = {}
            if words is None:
                for gram in analyzer(text):
                    j = vocabulary.get(gram)
                    if j is not None:
                        counts[j] = counts.get(j, 0) + 1
            else:
                # the same columns in the same order as the analyzer's n-grams of the whole
                # text: a char_wb analyzer's n-grams are its words' n-grams, word by word
                for word_counts in words.of(text):
                    for j, n in word_counts.items():
                        counts[j] = counts.get(j, 0) + n
            if not counts:
                continue
            cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            vals = (np.log(tf) + 1.0) * idf[cols]
            vals *= weight / np.sqrt(float(vals @ vals))
            indices.extend((cols + offset).tolist())
            values.extend(vals.tolist())
        scores = self.intercept_.copy()
        oos = self.oos_intercept_
        if indices:
            idx = np.asarray(indices, dtype=np.int64)
            val = np.asarray(values, dtype=np.float64)
            scores += val @ cache.coef[idx]
            if cache.oos_coef is not None:
                oos += float(val @ cache.oos_coef[idx])
        if cache.embedder is not None:
            vector = cache.embedder.embed_one(text).astype(np.float64) * self.embedding_weight
            start = cache.embedding_offset
            rows = slice(start, start + cache.embedder.dim)
            scores += vector @ cache.coef[rows]
            if cache.oos_coef is not None:
                oos += float(vector @ cache.oos_coef[rows])
        return scores, oos

    def _fast_path(self) -> _FastPath:
        cache: _FastPath | None = getattr(self, "_cache", None)
        if cache is None:
            blocks = []
            offset = 0
            for vectorizer, weight in (
                (self.word_vectorizer_, 1.0),
                (self.char_vectorizer_, self.char_weight),
            ):
                blocks.append(
                    (
                        vectorizer.build_analyzer(),
                        vectorizer.vocabulary_,
                        np.asarray(vectorizer.idf_, dtype=np.float64),
                        offset,
                        float(weight),
                    )
                )
                offset += len(vectorizer.vocabulary_)
            oos_coef = None
            if self.oos_coef_ is not None:
                oos_coef = np.asarray(self.oos_coef_.toarray(), dtype=np.float64).ravel()
            cache = _FastPath(
                blocks=blocks,
                by_word=[
                    _WordColumns.of_vectorizer(v)
                    for v in (self.word_vectorizer_, self.char_vectorizer_)
                ],
                embedder=self._embedder(),
                embedding_offset=offset,
                coef=np.ascontiguousarray(self.coef_.toarray(), dtype=np.float32),
                oos_coef=oos_coef,
            )
            self._cache = cache
        return cache

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_cache", None)  # derived, rebuilt on first use; never persisted
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _decide(self, proba: FloatArray) -> Prediction:
        decision = decide(
            proba,
            threshold=self.threshold_,
            ambiguity_mass=self.ambiguity_mass_,
            ambiguity_floor=self.ambiguity_floor_,
            max_ambiguous=self.max_ambiguous,
            top_k=self.top_k,
        )
        return prediction(proba, self.classes_, *decision, threshold=self.threshold_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise RuntimeError("IntentClassifier is not fitted; call fit() first")


# ---------------------------------------------------------------------- shared helpers
@dataclass
class _FastPath:
    """Per-process cache for :meth:`IntentClassifier.predict_one` (not persisted)."""

    blocks: list[tuple[Any, dict[str, int], FloatArray, int, float]]
    #: per block, its columns word by word (a char_wb block), else None (the analyzer)
    by_word: list[_WordColumns | None]
    embedder: StaticEmbedder | None
    embedding_offset: int  # first column of the embedding block
    coef: NDArray[np.float32]
    oos_coef: FloatArray | None
    #: text -> :meth:`IntentClassifier.known_words` (bounded)
    known: dict[str, int] = field(default_factory=dict)


#: entries of a fast path's per-word and per-text memos before they start afresh
MEMO_ENTRIES = 20_000


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= MEMO_ENTRIES:
        memo.clear()
    memo[key] = value


class _WordColumns:
    """The vocabulary columns of a ``char_wb`` vectorizer's n-grams, remembered per word.

    Such an analyzer preprocesses the whole text (accents, case), splits it on whitespace
    and makes each word's n-grams on their own, so a text's n-grams are its words' n-grams
    one word after the other. A query repeats words seen before (only a typo or a name is
    new), so each word's columns are looked up once: ``of(text)`` gives, word by word, the
    column counts in the order the analyzer's n-grams first meet them -- the same columns,
    counts and order as the analyzer's output over the whole text.
    """

    def __init__(self, vectorizer: Any) -> None:
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.decode = vectorizer.decode
        self.preprocess = vectorizer.build_preprocessor()
        self.white_spaces = vectorizer._white_spaces
        self.ngrams = vectorizer._char_wb_ngrams
        self.words: dict[str, dict[int, int]] = {}

    @classmethod
    def of_vectorizer(cls, vectorizer: Any) -> _WordColumns | None:
        """For a ``char_wb`` vectorizer of scikit-learn's own analyzer, else None."""
        if vectorizer.analyzer != "char_wb" or not hasattr(vectorizer, "_char_wb_ngrams"):
            return None
        return cls(vectorizer)

    def of(self, text: str) -> list[dict[int, int]]:
        doc = self.preprocess(self.decode(text))
        return [self._word(w) for w in self.white_spaces.sub(" ", doc).split()]

    def _word(self, word: str) -> dict[int, int]:
        found = self.words.get(word)
        if found is None:
            vocabulary = self.vocabulary
            found = {}
            for gram in self.ngrams(word):
                j = vocabulary.get(gram)
                if j is not None:
                    found[j] = found.get(j, 0) + 1
            _remember(self.words, word, found)
        return found


def _as_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("expected a sequence of texts, got a single string (use predict_one)")
    return [str(t) for t in texts]


def _compact(matrix: FloatArray) -> sp.csr_matrix:
    """float32 CSR copy of a weight matrix, dropping exact zeros."""
    return sp.csr_matrix(matrix.astype(np.float32))
