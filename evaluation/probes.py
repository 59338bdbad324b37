"""The probe suite: hand-written unseen queries and what a true answer to each looks like.

A probe is one query (en/de/fr) with its kind (paraphrase, typo, title, brand, mixed,
negation, nonsense, oos, ambiguous), the intents that would be right, the category prefixes
an answer may come from, optionally the sub-category it names, and the words it negates.
This module holds the pure parts: loading, the overlap check against the training
utterances, the check of each reason against evidence, and the metrics. The driver that
asks the real app is :mod:`evaluation.probe_run`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from intent.taxonomy import Taxonomy
from recommender.text import STOPWORDS, tokens

PROBES_FILE = Path(__file__).resolve().parent / "probes" / "probes.jsonl"
#: a third split written later by another hand, kept in its own file: measured before and
#: after a change, never used to choose one (only a check that the change generalises)
FRESH_FILE = PROBES_FILE.with_name("fresh.jsonl")
SPLITS = ("dev", "holdout", "fresh")

Kind = Literal[
    "paraphrase", "typo", "title", "brand", "mixed", "negation", "nonsense", "oos", "ambiguous"
]
#: kinds with one right intent (or a few equally right ones): scored for intent accuracy
SINGLE_INTENT_KINDS = frozenset({"paraphrase", "typo", "title", "brand", "negation"})
#: kinds that nothing in the taxonomy answers
OUT_OF_SCOPE_KINDS = frozenset({"nonsense", "oos"})

#: the figures the issue asks for (reported next to the measured ones, not asserted)
TARGETS: dict[str, str] = {
    "context_violation_rate": "<= 0.01 (0 when the intent was right)",
    "false_reasons": "0",
    "intent_accuracy": ">= 0.92 on unseen single-intent probes",
    "clarify_rate_ambiguous": ">= 0.50",
    "out_of_scope_rate": ">= 0.60",
    "sub_hit_at_3": ">= 0.90",
    "stability_top3": ">= 0.80 after a burst of other traffic",
}


class Probe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    query: str = Field(min_length=1, max_length=1000)
    language: Literal["en", "de", "fr"]
    kind: Kind
    intents: list[str] = Field(description="Right intents (any one counts); empty: none.")
    allowed: list[str] = Field(description="Category prefixes an answer may come from.")
    sub: str | None = Field(default=None, description="Sub-category the query names.")
    negated: list[str] = Field(default=[], description="Words the query negates.")
    split: Literal["dev", "holdout", "fresh"]


def load_probes(
    path: Path = PROBES_FILE, split: str = "all", *, fresh: Path | None = FRESH_FILE
) -> list[Probe]:
    """The probes of ``split`` ("all": every split) from ``path`` and the ``fresh`` file."""
    files = [path] + ([fresh] if fresh is not None and fresh.exists() else [])
    probes = [
        Probe.model_validate_json(line)
        for file in files
        for line in file.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return probes if split == "all" else [p for p in probes if p.split == split]


def normalise(text: str) -> str:
    """Lower case, accents and punctuation dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.findall(r"\w+", text))


def training_overlap(probes: Iterable[Probe], utterances: Iterable[str]) -> list[str]:
    """Probes that equal a training utterance after normalisation, or that have exactly
    its content words (same folded tokens): a probe must be unseen."""
    texts = list(utterances)
    seen_text = {normalise(t) for t in texts}
    seen_tokens = {tok for t in texts if (tok := tokens(t))}
    return [
        p.query
        for p in probes
        if normalise(p.query) in seen_text or (tokens(p.query) or None) in seen_tokens
    ]


def under(category: str, prefixes: Iterable[str]) -> bool:
    return any(category == p or category.startswith(p + "/") for p in prefixes)


# ----------------------------------------------------------------- reason checks


@dataclass(frozen=True)
class Claim:
    """A reason reduced to what it claims (from ``why``, else parsed from the text)."""

    code: str
    text: str
    intent: str | None = None
    #: the matched query words (None: a text-only reason that does not say)
    matched: tuple[str, ...] | None = None
    #: read from ``why`` (True) or parsed from an older server's English text (False)
    structured: bool = True


_LEGACY = (
    ("fits your request", "intent"),
    ("matches what you asked for", "query_match"),
    ("related to what you are looking at now", "page_now"),
)


def claims(action: Mapping[str, Any], taxonomy: Taxonomy, language: str) -> list[Claim]:
    """What each reason of ``action`` claims. Answers without ``why`` (older servers) are
    read from their English texts."""
    why = action.get("why")
    if why:
        return [
            Claim(
                code=w["code"],
                text=w["text"],
                intent=w.get("intent"),
                matched=tuple(w.get("matched") or ()),
            )
            for w in why
        ]
    labels = {i.label_in(language).lower(): i.name for i in taxonomy.intents}
    out: list[Claim] = []
    for text in action.get("reasons", []):
        code = next((c for prefix, c in _LEGACY if text.startswith(prefix)), "other")
        intent = None
        if code == "intent" and ": " in text:
            intent = labels.get(text.split(": ", 1)[1], "?")
        out.append(Claim(code=code, text=text, intent=intent, matched=None, structured=False))
    return out


def content_matches(probe: Probe, item_tokens: frozenset[str]) -> set[str]:
    """Folded query words (3+ letters, not stopwords, not negated) the item mentions."""
    negated = {t for w in probe.negated for t in tokens(w)}
    words = {
        t
        for w in re.findall(r"[^\W\d_]+", probe.query.lower())
        if len(w) >= 3 and w not in STOPWORDS
        for t in tokens(w)
    }
    return (words - negated) & item_tokens


def false_claims(
    answer: Mapping[str, Any],
    probe: Probe,
    taxonomy: Taxonomy,
    item_tokens: Mapping[str, frozenset[str]],
    *,
    page_sent: bool = False,
) -> list[dict[str, str]]:
    """Reasons of ``answer`` whose evidence does not hold, each as ``{action, code, text}``.

    - an intent reason must name the intent the answer resolved (or, with no intent
      resolved, one of its clarifying options), and that intent must admit the action;
    - a query match must rest on a real content word of the query that the action's
      text mentions (not a stopword, not a word under 3 letters, not a negated word);
    - "looking at now" needs a page in this request or session (probes send none).
    """
    resolved = (answer.get("intent") or {}).get("name")
    options = [o["intent"] for o in (answer.get("clarify") or {}).get("options", [])]
    bad: list[dict[str, str]] = []
    for action in answer.get("actions", []):
        for c in claims(action, taxonomy, probe.language):
            if _is_false(c, action, probe, taxonomy, item_tokens, resolved, options, page_sent):
                bad.append({"action": action["id"], "code": c.code, "text": c.text})
    return bad


def _is_false(
    c: Claim,
    action: Mapping[str, Any],
    probe: Probe,
    taxonomy: Taxonomy,
    item_tokens: Mapping[str, frozenset[str]],
    resolved: str | None,
    options: Sequence[str],
    page_sent: bool,
) -> bool:
    if c.code in ("intent", "clarify_option"):
        if c.code == "intent" and c.structured and c.intent != resolved:
            return True  # structured: "intent" names the resolved one only
        if c.code == "clarify_option" and (resolved is not None or c.intent not in options):
            return True
        named = taxonomy.get(c.intent) if c.intent else None
        if named is None or not (c.intent == resolved or c.intent in options):
            return True
        return not named.allows(action["category"], action["kind"])
    if c.code == "query_match":
        real = content_matches(probe, item_tokens.get(action["id"], frozenset()))
        if c.matched is None:  # a text-only answer: any real match will do
            return not real
        claimed = {t for w in c.matched for t in tokens(w) if len(w) >= 3}
        return not claimed or not claimed <= real
    if c.code == "page_now":
        return not page_sent
    return False


# ----------------------------------------------------------------- metrics


@dataclass
class Outcome:
    """One probe answered for one user."""

    probe: Probe
    answer: Mapping[str, Any]
    false: list[dict[str, str]] = field(default_factory=list)

    @property
    def intent(self) -> str | None:
        return (self.answer.get("intent") or {}).get("name")

    @property
    def categories(self) -> list[str]:
        return [a["category"] for a in self.answer.get("actions", [])]

    def top(self, n: int) -> list[str]:
        return [a["id"] for a in self.answer.get("actions", [])[:n]]


def _rate(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None


def calibration_error(pairs: Sequence[tuple[float, bool]], bins: int = 10) -> float | None:
    """Expected calibration error: the mean gap between stated confidence and accuracy
    over equal-width confidence bins, weighted by how many answers fall in each."""
    if not pairs:
        return None
    grouped: dict[int, list[tuple[float, bool]]] = {}
    for confidence, right in pairs:
        grouped.setdefault(min(int(confidence * bins), bins - 1), []).append((confidence, right))
    gap = sum(abs(sum(c for c, _ in g) - sum(r for _, r in g)) for g in grouped.values())
    return round(gap / len(pairs), 4)


def metrics(outcomes: Sequence[Outcome], top_k: int = 10) -> dict[str, Any]:
    """The suite's figures over ``outcomes`` (one run: fresh or history users)."""
    constrained = [o for o in outcomes if o.probe.allowed]
    violating = [
        o for o in constrained if any(not under(c, o.probe.allowed) for c in o.categories[:top_k])
    ]
    right = [o for o in constrained if o.intent in o.probe.intents]
    single = [o for o in outcomes if o.probe.kind in SINGLE_INTENT_KINDS]
    ambiguous = [o for o in outcomes if o.probe.kind == "ambiguous"]
    oos = [o for o in outcomes if o.probe.kind in OUT_OF_SCOPE_KINDS]
    named = [o for o in outcomes if o.probe.sub]
    false = [f for o in outcomes for f in o.false]
    by_code: dict[str, int] = {}
    for f in false:
        by_code[f["code"]] = by_code.get(f["code"], 0) + 1
    by_language = {
        lang: _rate(
            sum(o.intent in o.probe.intents for o in single if o.probe.language == lang),
            sum(o.probe.language == lang for o in single),
        )
        for lang in ("en", "de", "fr")
    }
    return {
        "probes": len(outcomes),
        "context_violation_rate": _rate(len(violating), len(constrained)),
        "context_violations": len(violating),
        "context_violation_rate_intent_right": _rate(
            sum(o in violating for o in right), len(right)
        ),
        # violations by how the answer treated the query (a clarifying question's blocks
        # from an option the probe does not allow count, as the issue counts them)
        "context_violations_by_answer": dict(
            sorted(Counter(answer_kind(o.answer) for o in violating).items())
        ),
        "false_reasons": len(false),
        "false_reasons_by_code": by_code,
        "false_reason_examples": false[:5],
        "intent_accuracy": _rate(sum(o.intent in o.probe.intents for o in single), len(single)),
        "intent_accuracy_by_language": by_language,
        # confidence of every named intent against whether it was right (single-intent)
        "intent_ece": calibration_error(
            [
                (
                    float((o.answer.get("intent") or {}).get("confidence", 0.0)),
                    o.intent in o.probe.intents,
                )
                for o in single
                if o.intent is not None
            ]
        ),
        "clarify_rate_ambiguous": _rate(
            sum(bool(o.answer.get("clarify")) for o in ambiguous), len(ambiguous)
        ),
        "out_of_scope_rate": _rate(sum(bool(o.answer.get("out_of_scope")) for o in oos), len(oos)),
        "out_of_scope_answered_with_intent": _rate(
            sum(o.intent is not None for o in oos), len(oos)
        ),
        "sub_hit_at_3": _rate(
            sum(any(under(c, [o.probe.sub or ""]) for c in o.categories[:3]) for o in named),
            len(named),
        ),
    }


def answer_kind(answer: Mapping[str, Any]) -> str:
    """How an answer treated its query: "intent", "clarify", "out_of_scope" or "none"."""
    if answer.get("clarify"):
        return "clarify"
    if (answer.get("intent") or {}).get("name"):
        return "intent"
    return "out_of_scope" if answer.get("out_of_scope") else "none"


def misses(outcomes: Sequence[Outcome], top_k: int = 10) -> list[dict[str, Any]]:
    """Every probe answered wrongly in some respect, with what the answer did: for reading
    the dev split's errors (the holdout and fresh splits are for the figures only)."""
    out: list[dict[str, Any]] = []
    for o in outcomes:
        p = o.probe
        wrong: list[str] = []
        if p.allowed and any(not under(c, p.allowed) for c in o.categories[:top_k]):
            wrong.append("violation")
        if p.kind in SINGLE_INTENT_KINDS and o.intent not in p.intents:
            wrong.append("intent")
        if p.kind == "ambiguous" and not o.answer.get("clarify"):
            wrong.append("no_clarify")
        if p.kind in OUT_OF_SCOPE_KINDS and not o.answer.get("out_of_scope"):
            wrong.append("not_oos")
        if p.sub and not any(under(c, [p.sub]) for c in o.categories[:3]):
            wrong.append("sub")
        if wrong:
            options = [x["intent"] for x in (o.answer.get("clarify") or {}).get("options", [])]
            out.append(
                {
                    "id": p.id,
                    "query": p.query,
                    "wrong": wrong,
                    "expected": p.intents,
                    "answer": answer_kind(o.answer),
                    "intent": o.intent,
                    "options": options,
                    "top": o.categories[:top_k],
                }
            )
    return out


def stability(before: Sequence[Outcome], after: Sequence[Outcome]) -> dict[str, Any]:
    """Share of probes whose top 3 is the same set (and the same order) on re-asking."""
    pairs = list(zip(before, after, strict=True))
    same_set = sum(set(a.top(3)) == set(b.top(3)) for a, b in pairs)
    same_order = sum(a.top(3) == b.top(3) for a, b in pairs)
    return {
        "stability_top3": _rate(same_set, len(pairs)),
        "stability_top3_ordered": _rate(same_order, len(pairs)),
    }


def load_utterances(path: Path) -> list[str]:
    return [
        json.loads(line)["text"]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
