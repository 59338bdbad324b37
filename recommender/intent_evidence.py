"""The intent of a typed query from all the evidence: the classifier and the catalog.

The classifier (:mod:`intent.classifier`) knows how customers phrase what they want; the
catalog (:mod:`recommender.retrieval.evidence`) knows what the words of a query name: a
German title, a model number, a brand. Neither is enough alone ("Kaltes Kontobuch" is
nothing to the classifier; "help" is everything to the catalog), so both vote in one small
log-linear model over the intents and "out of scope"::

    logit(k)   = a * log P_classifier(k) + b * strength * log(P_catalog(k) + floor) + cues(k)
    logit(oos) = a * log P_classifier(oos) + b * strength * log(floor) + mean(cues)
    P(k)       = softmax(logit / T)

``a`` is lower for a one-word query (training utterances are sentences; on one word the
classifier is sure of more than it knows), ``strength`` is how much the catalog's vote is
worth for this query (0 when none of its words are catalog words). ``cues``
(:mod:`recommender.intent_cues`) are the query's trouble cue weighed by its likelihood
under each intent as the training data gives it, and the catalog's reading of the words
the query negates ("mais pas un livre"), taken from the intents they name. The classifier
reads the query with its misspelt words corrected to words it learned ("brokn" ->
"broken"; :mod:`recommender.intent_speller`: words of the catalog's languages are left
alone). The few
weights and thresholds were chosen by a grid search on the dev probes only (the probe
command in docs/intent.md measures them); the holdout probes were never used to choose
anything, and the probe report gives the calibration error of the combined confidence. The
cue weights (``trouble``, ``negation``) and ``word_prior`` were chosen on dev and on checks
of our own (docs/intent.md).

Then the decision, on the combined probability ``P(top)``:

* out of scope (the safe, flagged fallback answer): "out of scope" outweighs every intent,
  or ``P(top) < reject``, or the classifier knows none of the query's words, in the last
  two cases only when the catalog does not vouch for it (``strength < vouch``);
* ``P(top) >= gate`` and ``P(top)`` leads its best *rival* by ``margin``: the intent gates
  the answer (a hard category filter). A rival is an intent whose categories neither
  contain nor are contained in the top's: gift ideas admit every book, so "buy a book"
  against "gift ideas" changes little and is no rival. No gate either when the query is
  in doubt: one word on which the classifier and the catalog name different intents
  ("help": tech support to the classifier, billing help to the catalog), or one word on
  which the plain average of the two votes keeps a rival at ``pool_ratio`` of the top
  ("Waschmaschine": buying to both, but the catalog also knows its repairs), unless both
  intents admit every category the catalog mainly points at (the same answers either
  way); or a short query whose one known word training spreads over rivals (open_word);
* otherwise a clarifying question offers the intents within ``options`` of the top (and
  the intents in doubt), two to four, the likelier first; on a full title (catalog
  ``strength >= title``, two words or more or words the classifier never learned) only
  those that admit a category the catalog's vote points at (one left: it gates). When the
  options are nested (each pair: one's categories within the other's) and the likeliest
  is the narrowest, it gates: every option admits what it shows. A narrower option that
  is less likely never decides: the question is asked, its options in order of
  probability (the answer's blocks follow them, :mod:`recommender.ranking.arbitrate`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from intent.resolve import IntentDecision, PredictionLike, has_words, knows_words
from intent.taxonomy import Intent, Taxonomy
from intent.word_spread import shares, words_of
from recommender.intent_cues import merged, negated_logits, trouble_logits
from recommender.intent_speller import spelled
from recommender.lexicon import glosses
from recommender.query_preference import MAIN_CATEGORY
from recommender.query_preference import category_preference as category_preference
from recommender.query_preference import with_evidence as with_evidence
from recommender.reasons.query_words import query_words
from recommender.retrieval.evidence import NO_EVIDENCE, Evidence, catalog_evidence, prepared
from recommender.retrieval.expand import Expander
from recommender.state import LiveState
from recommender.text import tokens

OUT_OF_SCOPE = "oos"
#: probability given to an intent the classifier did not list (before renormalising)
_EPS = 1e-4


@dataclass(frozen=True)
class Combiner:
    """Weights of the combination and thresholds of the decision (dev probes only)."""

    classifier: float = 1.0
    #: classifier weight multiplier for a query of one content word
    one_word: float = 0.3
    catalog: float = 4.0
    floor: float = 0.1
    temperature: float = 0.7
    gate: float = 0.6
    options: float = 0.25
    reject: float = 0.1
    vouch: float = 0.2
    max_options: int = 4
    #: gate only when the top leads the best rival (an intent whose categories neither
    #: contain nor are contained in the top's) by at least this much. 0: on the dev probes
    #: every margin from 0.3 up held back more right gates than wrong ones (the wrong
    #: gates left are sure of themselves); kept as a setting for a stricter deployment
    margin: float = 0.0
    #: a query of at most ``pool_words`` content words is in doubt when, in the plain
    #: average of the classifier's and the catalog's votes, the best rival holds at least
    #: ``pool_ratio`` of the top's share (0: never)
    pool_ratio: float = 0.25
    pool_words: int = 1
    #: a query of at most ``word_query`` content words of which the classifier knows one is
    #: in doubt when that word's training utterances give a rival at least ``word_ratio``
    #: of its main intent's share (:mod:`intent.word_spread`; 0: never)
    word_ratio: float = 0.35
    word_query: int = 2
    #: pseudo-utterances added to each intent that says the word before its shares are
    #: compared (:func:`intent.word_spread.shares`: few utterances tell little)
    word_prior: float = 1.0
    #: a catalog vote at least this strong on a query of two or more words, or of words the
    #: classifier never learned, names the thing (a full title, a model): a clarifying
    #: question then offers only intents that admit a category it points at
    title: float = 0.9
    #: weight of the trouble cue's learned likelihood (:mod:`recommender.intent_cues`)
    trouble: float = 0.5
    #: weight of the catalog's reading of the negated words (:mod:`recommender.intent_cues`)
    negation: float = 2.0


DEFAULT_COMBINER = Combiner()


def classifier_distribution(p: PredictionLike, names: tuple[str, ...]) -> dict[str, float]:
    """The classifier's probabilities over ``names`` and ``"oos"``. The prediction lists its
    top few intents; the rest of the mass is out of scope and the unlisted intents, each of
    which gets no more than the last listed one."""
    listed = {name: prob for name, prob in p.alternatives if name in names}
    rest = max(0.0, 1.0 - sum(listed.values()))
    unlisted = [n for n in names if n not in listed]
    last = min(listed.values(), default=0.0)
    each = min(last, rest / (len(unlisted) + 1)) if unlisted else 0.0
    out = {n: listed.get(n, each) for n in names}
    out[OUT_OF_SCOPE] = max(rest - each * len(unlisted), 0.0)
    return out


def combine(
    p: PredictionLike,
    evidence: Evidence,
    names: tuple[str, ...],
    c: Combiner,
    cues: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """The combined distribution over ``names`` and ``"oos"`` (sums to 1); ``cues``: what
    the query's cues add to an intent's logit (:mod:`recommender.intent_cues`; an intent
    without an entry, and out of scope, get their mean)."""
    clf = classifier_distribution(p, names)
    a = c.classifier * (c.one_word if evidence.words <= 1 else 1.0)
    b = c.catalog * evidence.strength if evidence.matched else 0.0
    catalog = evidence.intents
    logits = {
        k: a * math.log(v + _EPS) + b * math.log(catalog.get(k, 0.0) + c.floor)
        for k, v in clf.items()
    }
    logits[OUT_OF_SCOPE] = a * math.log(clf[OUT_OF_SCOPE] + _EPS) + b * math.log(c.floor)
    if cues:
        mean = sum(cues.values()) / len(cues)
        for k in logits:
            logits[k] += cues.get(k, mean)
    top = max(logits.values())
    exp = {k: math.exp((v - top) / c.temperature) for k, v in logits.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}


def within(a: Intent, b: Intent) -> bool:
    """Every answer ``a`` admits, ``b`` admits too (books within gift ideas)."""
    if b.action_kinds and not (a.action_kinds and set(a.action_kinds) <= set(b.action_kinds)):
        return False
    return all(
        any(p == q or p.startswith(q + "/") for q in b.allowed_categories)
        for p in a.allowed_categories
    )


def nested(a: Intent, b: Intent) -> bool:
    """Choosing between ``a`` and ``b`` changes little: one's answers are the other's."""
    return within(a, b) or within(b, a)


def rival(ranked: Sequence[tuple[float, str]], top: Intent, taxonomy: Taxonomy) -> str | None:
    """The likeliest intent of ``ranked`` (probability, name; best first) that is a real
    alternative to ``top``: its categories neither contain nor are contained in top's."""
    for _, name in ranked:
        other = taxonomy.get(name)
        if other is not None and other.name != top.name and not nested(other, top):
            return name
    return None


def _one_word_doubt(p: PredictionLike, evidence: Evidence) -> tuple[str, ...]:
    """For a one-word query ("help", "Handy"), the intents the classifier and the catalog
    are torn between: their tops when they differ; empty when they agree."""
    if evidence.words > 1 or not evidence.matched or not p.alternatives:
        return ()
    catalog_top = max(evidence.intents.items(), key=lambda kv: (kv[1], kv[0]))[0]
    classifier_top = p.alternatives[0][0]
    return (classifier_top, catalog_top) if catalog_top != classifier_top else ()


def _pooled_doubt(
    clf: Mapping[str, float], evidence: Evidence, taxonomy: Taxonomy, c: Combiner
) -> tuple[str, ...]:
    """For a short query, the top and its rival when the plain average of the two votes
    keeps the rival close: the product of the votes is sure of a word like "contract"
    that both voters, read separately, leave open."""
    if c.pool_ratio <= 0 or evidence.words > c.pool_words:
        return ()
    weight = min(evidence.strength, 1.0) if evidence.matched else 0.0
    pooled = sorted(
        (
            ((clf.get(k, 0.0) + weight * evidence.intents.get(k, 0.0)) / (1 + weight), k)
            for k in taxonomy.names
        ),
        reverse=True,
    )
    best_p, best = pooled[0]
    top = taxonomy.get(best)
    other = rival(pooled, top, taxonomy) if top is not None else None
    if other is None or best_p <= 0:
        return ()
    share = dict((k, v) for v, k in pooled)[other]
    if share < c.pool_ratio * best_p or top is None:
        return ()
    rival_intent = taxonomy.get(other)
    if rival_intent is not None and both_admit(top, rival_intent, evidence):
        return ()  # "Air fryer": a gift or a purchase, the same fryers answer it
    return (best, other)


def main_categories(evidence: Evidence) -> list[str]:
    """The leaf categories holding at least ``MAIN_CATEGORY`` of the largest share."""
    if not evidence.categories:
        return []
    best = max(evidence.categories.values())
    return [k for k, v in evidence.categories.items() if v >= MAIN_CATEGORY * best]


def admits_main(intent: Intent, evidence: Evidence) -> bool:
    """``intent`` admits one of the categories the catalog's vote mainly points at."""
    return any(
        k == p or k.startswith(p + "/")
        for k in main_categories(evidence)
        for p in intent.allowed_categories
    )


def both_admit(a: Intent, b: Intent, evidence: Evidence) -> bool:
    """Both intents admit every category the catalog's vote mainly points at: choosing
    between them would not change the answer."""
    main = main_categories(evidence)
    if not main:
        return False
    return all(
        any(k == p or k.startswith(p + "/") for p in i.allowed_categories)
        for i in (a, b)
        for k in main
    )


def narrowest(options: Sequence[Intent]) -> Intent | None:
    """When every pair of ``options`` is nested, the one within all the others (the
    gate that admits only what every option admits); else None."""
    for candidate in options:
        if all(within(candidate, other) for other in options):
            return candidate
    return None


def decide(
    p: PredictionLike,
    evidence: Evidence,
    taxonomy: Taxonomy,
    c: Combiner = DEFAULT_COMBINER,
    *,
    known_words: int = -1,
    word_doubt: tuple[str, ...] = (),
    cues: Mapping[str, float] | None = None,
) -> IntentDecision:
    """The decision for a typed query from the classifier's prediction and the catalog;
    ``known_words``: how many of its words the classifier learned from (-1: unknown);
    ``word_doubt``: the intents the query's one known word is open between."""
    names = tuple(taxonomy.names)
    q = combine(p, evidence, names, c, cues)
    ranked = sorted(((v, k) for k, v in q.items() if k != OUT_OF_SCOPE), reverse=True)
    confidence, top = ranked[0]
    vouched = evidence.matched and evidence.strength >= c.vouch
    if (
        q[OUT_OF_SCOPE] >= confidence
        or (confidence < c.reject and not vouched)
        or (known_words == 0 and not vouched)
    ):
        return IntentDecision(confidence=confidence, out_of_scope=True, unresolved_query=True)
    found = taxonomy.get(top)
    doubt = (
        _one_word_doubt(p, evidence)
        or _pooled_doubt(classifier_distribution(p, names), evidence, taxonomy, c)
        or word_doubt
    )
    runner = rival(ranked, found, taxonomy) if found is not None else None
    lead = confidence - (q[runner] if runner is not None else 0.0)
    if confidence >= c.gate and lead >= c.margin and found is not None and not doubt:
        return IntentDecision(intent=found, confidence=confidence, source="model")
    picked = [
        (i, v)
        for v, k in ranked
        if (v >= c.options * confidence or k in doubt) and (i := taxonomy.get(k)) is not None
    ][: c.max_options]
    named = evidence.words > 1 or known_words == 0
    if evidence.matched and evidence.strength >= c.title and named:
        picked = [(i, v) for i, v in picked if admits_main(i, evidence)] or picked
        if len(picked) == 1:
            return IntentDecision(intent=picked[0][0], confidence=picked[0][1], source="model")
    if len(picked) >= 2:
        narrow = narrowest([i for i, _ in picked])
        if narrow is not None and narrow.name == picked[0][0].name:
            # nested options, the likeliest within all the others: every answer its gate
            # shows, every option admits
            return IntentDecision(intent=narrow, confidence=picked[0][1], source="model")
        return IntentDecision(
            confidence=confidence,
            clarify_options=tuple(i for i, _ in picked),
            clarify_probabilities=tuple(v for _, v in picked),
        )
    if found is not None:
        return IntentDecision(intent=found, confidence=confidence, source="model")
    return IntentDecision(confidence=confidence, unresolved_query=True)


@dataclass(frozen=True)
class QueryVotes:
    """What the decision reads about a typed query: the classifier's prediction (of the
    query with its misspelt words corrected), the catalog's evidence, how many of its words
    the classifier learned (-1: unknown), the intents its one open word is torn between,
    and the cues' logits."""

    prediction: PredictionLike
    evidence: Evidence
    known_words: int
    word_doubt: tuple[str, ...]
    cues: Mapping[str, float]


def query_votes(query: str, state: LiveState, combiner: Combiner = DEFAULT_COMBINER) -> QueryVotes:
    """The votes on ``query`` (the live model and catalog of ``state``; a model needed)."""
    # the words the catalog may match (not the negated ones), but every word said counts
    # for how long the query is
    said = query_words(query)
    expander = prepared(state.catalog, state.taxonomy).expander if len(state.catalog) else None
    words = glossed(frozenset(folded for folded, _ in said.matchable), query, expander)
    evidence = catalog_evidence(state.catalog, state.taxonomy, words)
    evidence = replace(evidence, words=len(tokens(query)))
    model = state.model
    if model is None:
        raise ValueError("query_votes needs a live intent model")
    known = model.known_words(query) if knows_words(model) else -1
    prediction = model.predict_one(spelled(query, model, state.catalog))
    doubt = open_word(query, model, state, combiner)
    negated = catalog_evidence(
        state.catalog, state.taxonomy, glossed(said.negated, query, expander)
    )
    cues = merged(
        trouble_logits(query, getattr(model, "word_spread_", None), combiner.trouble),
        negated_logits(negated, combiner.negation, combiner.floor),
    )
    return QueryVotes(prediction, evidence, known, doubt, cues)


def weigh_query(
    query: str | None,
    explicit: str | None,
    decision: IntentDecision,
    state: LiveState,
    combiner: Combiner = DEFAULT_COMBINER,
) -> tuple[IntentDecision, Evidence]:
    """The decision for a typed query (no explicit intent) from the classifier and the
    catalog, and the catalog's evidence; other decisions are returned as they are."""
    if explicit is not None or not query or state.model is None or not has_words(query):
        return decision, NO_EVIDENCE
    if not state.taxonomy.intents:
        return decision, NO_EVIDENCE
    votes = query_votes(query, state, combiner)
    decision = decide(
        votes.prediction,
        votes.evidence,
        state.taxonomy,
        combiner,
        known_words=votes.known_words,
        word_doubt=votes.word_doubt,
        cues=votes.cues,
    )
    return decision, votes.evidence


def glossed(words: frozenset[str], query: str, expander: Expander | None) -> frozenset[str]:
    """``words`` (folded words of ``query``) with each word the catalog does not know but
    the lexicon glosses read as its concept words (:mod:`recommender.lexicon`: "Damen" as
    "women", "Jugendliche" as "teen"); the words the catalog knows it reads itself."""
    found = glosses(query)
    if not found or not words:
        return words
    out: set[str] = set()
    for word in words:
        concepts = found.get(word)
        if not concepts or (expander is not None and expander.known(word)):
            out.add(word)
        else:
            out.update(t for c in concepts for t in tokens(c.replace("_", " ")))
    for said, concepts in found.items():
        if said.isdigit():  # an age ("er ist 15"): the age group the catalog names
            out.update(t for c in concepts for t in tokens(c.replace("_", " ")))
    return frozenset(out)


def open_word(query: str, model: object, state: LiveState, c: Combiner) -> tuple[str, ...]:
    """The main intent and likeliest rival of a short query's one open known word
    ("contract"); empty when another word is a name only the catalog knows ("Kessmann")."""
    spread = getattr(model, "word_spread_", None)
    if not spread or c.word_ratio <= 0 or not knows_words(model):
        return ()
    words = query_words(query)
    said = list(words.matchable) + [(w, w) for w in sorted(words.negated)]
    if not said or len(said) > c.word_query:
        return ()
    known = [typed for _, typed in said if model.known_words(typed) > 0]
    if sum(model.known_words(w) > 0 for w in words_of(query)) > c.word_query:
        return ()  # "I need a new dishwasher": the other words say what is wanted
    expander = prepared(state.catalog, state.taxonomy).expander
    named = any(model.known_words(typed) == 0 and expander.expand(folded) for folded, typed in said)
    if len(known) != 1 or named:
        return ()
    ranked = shares(spread, known[0], c.word_prior)
    main = state.taxonomy.get(ranked[0][0]) if ranked else None
    if main is None:
        return ()
    for name, share in ranked[1:]:
        other = state.taxonomy.get(name)
        if share < c.word_ratio * ranked[0][1]:
            break
        if other is not None and not nested(other, main):
            return (main.name, other.name)
    return ()
