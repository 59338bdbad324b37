"""Unit tests of the intent model on small synthetic data (fast): data files, the model and
its decision rule, the CLI, the embedding block (model files: test_intent_artifact.py;
metrics: test_intent_metrics.py)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from artifacts.store import ModelCompatibilityError
from intent.artifact import (
    dumps_model,
    loads_model,
)
from intent.classifier import IntentClassifier
from intent.data import LabelledText, dump_jsonl, load_jsonl
from intent.decision import AMBIGUOUS, ANSWER, OUT, Prediction, decide
from intent.embeddings import DEFAULT_EMBEDDING, embedding_available, get_embedder
from intent.evaluate import (
    metrics_from_predictions,
)
from intent.taxonomy import OUT_OF_SCOPE
from intent.train import train
from tests.intent.intent_data import VOCAB, make_dataset, utterance
from waypoint.cli.intent import main as cli_main


# ---------------------------------------------------------------------------- data
def test_load_jsonl_roundtrip(tmp_path: Path) -> None:
    examples = make_dataset(per_intent=3, n_oos=2)
    path = tmp_path / "d.jsonl"
    dump_jsonl(examples, path)
    assert load_jsonl(path) == examples


@pytest.mark.parametrize(
    ("lines", "line_no", "message"),
    [
        (['{"text": "hi", "intent": "a"}', "{not json"], 2, "invalid JSON"),
        (['{"text": "hi", "intent": "a"}', "", '{"text": "hi"}'], 3, "'intent'"),
        (['["a list"]'], 1, "JSON object"),
        (['{"text": "", "intent": "a"}'], 1, "'text'"),
        (['{"text": "x", "intent": "a", "language": 5}'], 1, "'language'"),
    ],
)
def test_load_jsonl_errors_name_the_line(
    tmp_path: Path, lines: list[str], line_no: int, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"line {line_no}\b.*{message}"):
        load_jsonl(path)


# ---------------------------------------------------------------------------- model
def test_fit_predict(trained: IntentClassifier) -> None:
    assert list(trained.classes_) == sorted(VOCAB)
    assert OUT_OF_SCOPE not in trained.classes_
    pred = trained.predict_one("the forecast says rain and snow tomorrow")
    assert isinstance(pred, Prediction)
    assert pred.intent == "weather"
    assert not pred.out_of_scope and not pred.ambiguous
    assert pred.alternatives[0] == ("weather", pytest.approx(pred.confidence, abs=1e-6))
    assert len(pred.alternatives) == 4
    probs = [p for _, p in pred.alternatives]
    assert probs == sorted(probs, reverse=True)
    proba = trained.predict_proba(["refund my invoice", "track the parcel"])
    assert proba.shape == (2, 4)
    assert np.all(proba.sum(axis=1) <= 1.0 + 1e-9)
    assert [p.intent for p in trained.predict(["refund my invoice", "track my parcel"])] == [
        "billing",
        "delivery",
    ]


def test_predict_one_matches_batch_path(trained: IntentClassifier) -> None:
    texts = ["reset my password login", "Ünïcödé  text!!", "", "a b c", "rain rain rain"]
    batch = trained.predict_proba(texts)
    for text, row in zip(texts, batch, strict=True):
        one = trained.predict_one(text)
        best = int(np.argmax(row))
        assert one.alternatives[0][0] == trained.classes_[best]
        assert one.confidence == pytest.approx(row[best], abs=1e-5)


def test_predict_one_columns_word_by_word_equal_the_analyzer(trained: IntentClassifier) -> None:
    """The char block's columns, taken word by word (and remembered per word), are the
    columns, counts and order of the analyzer's n-grams over the whole text: the scores
    are the same numbers, bit for bit, the first time and when remembered."""
    from intent.classifier import _FastPath

    texts = [
        "reset my password login",
        "Ünïcödé  text!!",
        "",
        "a b c",
        "rain rain rain",
        "  résilier\tmon\u00a0contrat  ",
        "Geschirrspüler kaputt kalomiru7",
        "refund refund the the invoice",
    ]
    cache = trained._fast_path()
    plain = _FastPath(
        blocks=cache.blocks,
        by_word=[None for _ in cache.by_word],
        embedder=cache.embedder,
        embedding_offset=cache.embedding_offset,
        coef=cache.coef,
        oos_coef=cache.oos_coef,
    )
    assert cache.by_word[1] is not None  # the char_wb block goes word by word
    for _ in range(2):
        for text in texts:
            scores, oos = trained._scores_one(text)
            trained._cache = plain
            try:
                want, want_oos = trained._scores_one(text)
            finally:
                trained._cache = cache
            assert scores.tolist() == want.tolist()
            assert oos == want_oos
            analyzer, vocabulary = cache.blocks[0][:2]
            known = sum(1 for g in analyzer(text) if " " not in g and g in vocabulary)
            assert trained.known_words(text) == known


def test_rejection_gives_no_intent(trained: IntentClassifier) -> None:
    for text in ["tell me about the dinosaur galaxy opera", "volcano poetry football", "zzzz"]:
        pred = trained.predict_one(text)
        assert pred.intent is None
        assert pred.out_of_scope or pred.ambiguous
    assert trained.predict_one("volcano poetry football").out_of_scope


def test_training_without_oos_examples() -> None:
    data = [e for e in make_dataset(seed=1) if e.intent != OUT_OF_SCOPE]
    result = train(data, seed=1)
    model = result.model
    assert not model.has_oos_class_
    assert 0.0 <= model.threshold_ < 1.0
    assert model.predict_one("my parcel tracking says delivered").intent == "delivery"
    assert model.predict_one("galaxy dinosaur opera volcano").intent is None


def test_without_oos_examples_rejection_costs_no_in_scope_accuracy() -> None:
    # shared words make some held-out predictions wrong or unsure, and the selection split
    # is large enough (> 200 in-scope examples) for a half-point budget to give up answers
    rng = random.Random(3)
    shared = ["help", "question", "problem", "issue", "today", "account"]
    vocab = {
        **VOCAB,
        "music": ["song", "album", "playlist", "band", "lyrics", "concert", "guitar"],
        "travel": ["flight", "hotel", "trip", "visa", "airport", "booking", "luggage"],
    }
    data = [
        LabelledText(utterance(rng, words + shared), intent, "en")
        for intent, words in vocab.items()
        for _ in range(150)
    ]
    result = train(data, seed=3)
    v = result.validation
    assert v["in_scope_accuracy_no_rejection"] < 1.0  # the data is not trivially separable
    assert v["in_scope_accuracy"] == v["in_scope_accuracy_no_rejection"]
    assert "oos_recall_pseudo" in v  # pseudo out-of-scope intents were still held out


def test_fit_needs_two_intents() -> None:
    with pytest.raises(ValueError, match="two in-scope"):
        IntentClassifier().fit(["a", "b"], ["x", OUT_OF_SCOPE])


def test_decide_rule() -> None:
    kw = {"threshold": 0.6, "ambiguity_mass": 0.7, "ambiguity_floor": 0.25, "max_ambiguous": 4}
    top, kind, cands = decide(np.array([0.1, 0.8, 0.05, 0.05]), top_k=4, **kw)
    assert (top[0], kind, cands) == (1, ANSWER, [])
    top, kind, cands = decide(np.array([0.42, 0.4, 0.05, 0.03]), top_k=4, **kw)
    assert kind == AMBIGUOUS and cands == [0, 1]
    # Unsure, but the probability is not concentrated on a few intents: out of scope.
    top, kind, cands = decide(np.array([0.2, 0.15, 0.1, 0.05]), top_k=4, **kw)
    assert kind == OUT and cands == []
    # A close runner-up makes a confident-looking top intent ambiguous too.
    top, kind, cands = decide(np.array([0.62, 0.3, 0.05, 0.03]), top_k=4, **kw)
    assert kind == AMBIGUOUS and cands == [0, 1]
    # A tiny runner-up does not make an utterance ambiguous (floor relative to the top).
    top, kind, _ = decide(np.array([0.55, 0.12, 0.01, 0.0]), top_k=2, **kw)
    assert kind == OUT and len(top) == 2


def test_ambiguous_prediction() -> None:
    data = make_dataset(seed=2)
    model = IntentClassifier(
        temperature=4.0, oos_bias=-2.0, threshold=0.8, ambiguity_mass=0.6, ambiguity_floor=0.3
    ).fit([e.text for e in data], [e.intent for e in data])
    pred = model.predict_one("refund the charge on my invoice for the parcel tracking courier")
    assert pred.ambiguous and not pred.out_of_scope
    # The classification is kept (top guess, or None below the threshold); the service asks.
    assert pred.intent == (pred.alternatives[0][0] if pred.confidence >= 0.8 else None)
    assert set(pred.candidates) >= {"billing", "delivery"}
    assert 2 <= len(pred.candidates) <= 4


# ---------------------------------------------------------------------------- CLI
def test_cli_train_and_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train_file, test_file = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    dump_jsonl(make_dataset(seed=3), train_file)
    dump_jsonl(make_dataset(seed=4, per_intent=10, n_oos=10), test_file)
    out = tmp_path / "model"
    assert cli_main(["intent", "train", "--data", str(train_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "threshold" in printed and "elapsed" in printed
    args = ["intent", "eval", "--model", str(out), "--data", str(test_file)]
    assert cli_main([*args, "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n"] == 50 and metrics["in_scope_accuracy"] > 0.9
    assert cli_main(args) == 0
    assert "in-scope accuracy" in capsys.readouterr().out
    assert cli_main(["intent", "eval", "--model", str(tmp_path), "--data", str(test_file)]) == 2


def test_refit_resets_fast_path_and_rejects_single_string() -> None:
    data = make_dataset(seed=6)
    model = IntentClassifier().fit([e.text for e in data], [e.intent for e in data])
    assert model.predict_one("rain forecast").alternatives[0][0] == "weather"
    relabelled = ["billing" if e.intent == "weather" else e.intent for e in data]
    model.fit([e.text for e in data], relabelled)
    assert "weather" not in model.classes_
    assert model.predict_one("rain forecast").alternatives[0][0] == "billing"
    with pytest.raises(TypeError, match="single string"):
        model.predict("rain forecast")  # type: ignore[arg-type]


def test_two_intents_without_oos_get_a_sensible_threshold() -> None:
    data = [e for e in make_dataset(seed=7) if e.intent in ("weather", "billing")]
    model = train(data).model
    assert 0.0 < model.threshold_ <= 0.5
    assert model.predict_one("invoice refund").intent == "billing"


# ---------------------------------------------------------------------------- embeddings
needs_embedding = pytest.mark.skipif(
    not embedding_available(), reason="the embedding package (wordllama) is not installed"
)


@needs_embedding
def test_trained_model_uses_the_embedding_and_fast_path_matches_batch(
    trained: IntentClassifier,
) -> None:
    assert trained.embedding == DEFAULT_EMBEDDING
    assert trained.embedding_fingerprint_ == get_embedder(DEFAULT_EMBEDDING).fingerprint
    texts = ["my parcel has not arrived yet", "I was overcharged", "volcano poetry"]
    scores, oos = trained.decision_scores(texts)
    for row, text in enumerate(texts):
        one, one_oos = trained._scores_one(text)
        np.testing.assert_allclose(one, scores[row], rtol=1e-4, atol=1e-5)
        assert one_oos == pytest.approx(oos[row], rel=1e-4, abs=1e-5)


@needs_embedding
def test_embedding_carries_meaning_beyond_training_words() -> None:
    embedder = get_embedder(DEFAULT_EMBEDDING)
    cash, money, dino = embedder.embed(["withdraw cash", "take out money", "dinosaur bones"])
    assert float(cash @ money) > float(cash @ dino)
    assert float(np.linalg.norm(cash)) == pytest.approx(1.0, abs=1e-5)
    assert not embedder.embed_one("").any()  # nothing to pool: a zero vector, no error


@needs_embedding
def test_model_trained_on_other_vectors_is_refused(trained: IntentClassifier) -> None:
    model = loads_model(dumps_model(trained))
    model.embedding_fingerprint_ = f"{DEFAULT_EMBEDDING}:0000000000000000"
    with pytest.raises(ModelCompatibilityError, match="retrain"):
        loads_model(dumps_model(model))
    model.embedding = "no-such-embedding"
    with pytest.raises(ModelCompatibilityError, match="unknown embedding"):
        loads_model(dumps_model(model))


def test_ngram_only_model_needs_no_embedding(tmp_path: Path) -> None:
    data = make_dataset(seed=8)
    model = train(data, embedding=None).model
    assert model.embedding is None and model.embedding_fingerprint_ is None
    loaded = loads_model(dumps_model(model))
    assert loaded.predict_one("invoice refund").intent == "billing"
    train_file = tmp_path / "train.jsonl"
    dump_jsonl(data, train_file)
    args = ["intent", "train", "--data", str(train_file), "--out", str(tmp_path / "m")]
    assert cli_main([*args, "--no-embedding"]) == 0
    assert json.loads((tmp_path / "m" / "metadata.json").read_text())["params"]["embedding"] is None


def test_clarify_is_reported_apart_from_the_classification() -> None:
    examples = [LabelledText("x", "a"), LabelledText("y", "b"), LabelledText("z", "a")]
    predictions = [
        # ambiguous between a and b, top guess a is above the threshold: classified "a"
        Prediction("a", 0.5, (("a", 0.5), ("b", 0.4)), True, False, ("a", "b")),
        Prediction("b", 0.9, (("b", 0.9),), False, False),
        # ambiguous below the threshold: a rejection, and the question misses the true intent
        Prediction(None, 0.3, (("b", 0.3), ("c", 0.3)), True, False, ("b", "c")),
    ]
    m = metrics_from_predictions(examples, predictions)
    assert m["in_scope_accuracy"] == pytest.approx(2 / 3)
    assert m["in_scope_accuracy_clarify_as_miss"] == pytest.approx(1 / 3)
    assert m["ambiguous_rate"] == pytest.approx(2 / 3)
    assert m["clarify_offers_true_intent"] == pytest.approx(0.5)
