"""Reasons, written from the score terms that ranked an action, and only from evidence.

Each score term that contributed enough gets a reason, but a reason is said only when its
evidence holds for *this* action in *this* response:

- the intent reason names the intent that admits the action (``Intent.allows``), and only
  the intent the response resolved, or the clarifying option the action answers;
- "matches what you asked for" needs a content word of the query (three letters or more,
  not a stopword, not negated: "anything but a phone" never matches phones) that the
  action's own text mentions; the matched words are quoted;
- "what you are looking at now" needs a page from this request, or a view of that page
  in this session and channel; an older page only earns "something you looked at before".

Texts come from templates per language and voice (:mod:`recommender.reasons.texts`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from domain.customer import Journey
from intent.resolve import IntentDecision
from intent.taxonomy import Intent
from recommender.ranking.terms import Scored, ScoringContext
from recommender.reasons.query_words import QueryWords, query_words
from recommender.reasons.texts import Voice, channel_name, render, template_language
from recommender.schemas import ReasonOut, RecommendRequest
from recommender.text import tokens

#: contributions below this do not earn a reason of their own
MIN_CONTRIBUTION = 0.08
MAX_REASONS = 3


def session_page(
    request_item: str | None,
    journey: Journey,
    *,
    channel: str,
    session_id: str | None,
    now: float,
    window_s: float,
) -> str | None:
    """The page item the customer is on *now*, if this session shows it.

    The request's own page counts. The journey's last page counts only when its view is
    recorded in the journey steps within ``window_s`` of ``now``, in the request's channel,
    and (when both are known) in the request's session.
    """
    if request_item:
        return request_item
    item = journey.page_item
    if not item:
        return None
    if session_id and journey.session_id and session_id != journey.session_id:
        return None
    for step in journey.steps:
        if (
            step.type == "view"
            and step.item_id == item
            and now - step.ts <= window_s
            and step.channel in (None, channel)
        ):
            return item
    return None


@dataclass(frozen=True)
class ReasonContext:
    """What reasons may rely on beyond the score terms: language, voice and evidence."""

    language: str = "en"
    voice: Voice = "customer"
    #: the intent the response resolved (None: none resolved)
    intent: Intent | None = None
    #: the clarifying options the response offers, in their order
    clarify_options: tuple[Intent, ...] = ()
    words: QueryWords = field(default_factory=QueryWords)
    #: page item with evidence from this request or session (see :func:`session_page`)
    page_now: str | None = None
    #: every intent by name (labels of open intents)
    intents: Mapping[str, Intent] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        language: str,
        voice: Voice,
        query: str | None,
        intent: Intent | None,
        clarify_options: Sequence[Intent],
        page_now: str | None,
        intents: Iterable[Intent] = (),
    ) -> ReasonContext:
        return cls(
            language=language,
            voice=voice,
            intent=intent,
            clarify_options=tuple(clarify_options),
            words=query_words(query),
            page_now=page_now,
            intents={i.name: i for i in intents},
        )

    def label(self, intent: Intent) -> str:
        """The customer-phrased option text for customers, the agent label for agents."""
        if self.voice == "customer" and intent.clarify_prompt:
            lang = template_language(self.language)
            prompt = intent.clarify_prompt.get(lang) or intent.clarify_prompt.get("en")
            if prompt:
                return prompt
        return intent.label_in(self.language)


def reason_context(
    req: RecommendRequest,
    journey: Journey,
    decision: IntentDecision,
    intents: Iterable[Intent],
    now: float,
    session_window_s: float,
) -> ReasonContext:
    """The reason context of one decision: the request's language, voice and query, what
    the decision resolved, and the page with evidence from this session."""
    page = session_page(
        req.context.page.item_id if req.context.page else None,
        journey,
        channel=req.context.channel,
        session_id=req.session_id,
        now=now,
        window_s=session_window_s,
    )
    return ReasonContext.build(
        language=req.context.language,
        voice=req.voice,
        query=req.query,
        intent=decision.intent,
        clarify_options=decision.clarify_options,
        page_now=page,
        intents=intents,
    )


@dataclass(frozen=True)
class Reason:
    """One reason: a stable code, its text, and the evidence it rests on."""

    code: str
    text: str
    #: the score term it explains (None for exploration or the general fallback)
    term: str | None = None
    #: the intent that admits the action (codes intent, clarify_option, open_intent)
    intent: str | None = None
    #: query words the action's text mentions (code query_match), as typed
    matched: tuple[str, ...] = ()
    #: the page item it relates to (code page_now)
    item: str | None = None

    def out(self) -> ReasonOut:
        return ReasonOut(
            code=self.code,
            text=self.text,
            term=self.term,
            intent=self.intent,
            matched=list(self.matched),
            item=self.item,
        )


def _say(
    rc: ReasonContext,
    code: str,
    term: str | None,
    slots: Mapping[str, str] | None = None,
    *,
    intent: str | None = None,
    matched: tuple[str, ...] = (),
    item: str | None = None,
) -> Reason:
    text = render(code, rc.language, rc.voice, **(slots or {}))
    return Reason(code=code, text=text, term=term, intent=intent, matched=matched, item=item)


def _leaf(category: str) -> str:
    return category.rsplit("/", 1)[-1].replace("_", " ")


def _affinity(s: Scored, ctx: ScoringContext, rc: ReasonContext) -> Reason | None:
    if s.terms["affinity"] < 0:
        return _say(rc, "passed_similar", "affinity")
    if s.details.get("affinity") == "item":
        return _say(rc, "viewed_item", "affinity")
    cat = s.action.category
    return _say(rc, "category_interest", "affinity", {"topic": _leaf(cat), "category": cat})


class Titled(Protocol):
    """An action as reasons read it (a full catalog entry or a worker's slim copy)."""

    @property
    def category(self) -> str: ...

    def title_in(self, language: str | None) -> str: ...


#: (id of the action object, language) -> (that object, its words): catalog entries are
#: replaced, never changed, so the object itself tells whether an entry still holds
_ITEM_WORDS: dict[tuple[int, str], tuple[object, frozenset[str]]] = {}
#: entries before the cache starts again empty
_ITEM_WORDS_MAX = 8_192


def item_words(action: Titled, language: str) -> frozenset[str]:
    """Words the customer can see the action say: its title in their language, its tags
    (when the object carries them) and its category; not the titles in other languages
    (remembered per action object and language)."""
    key = (id(action), language)
    found = _ITEM_WORDS.get(key)
    if found is not None and found[0] is action:
        return found[1]
    words = _item_words(action, language)
    if len(_ITEM_WORDS) >= _ITEM_WORDS_MAX:
        _ITEM_WORDS.clear()
    _ITEM_WORDS[key] = (action, words)
    return words


def _item_words(action: Titled, language: str) -> frozenset[str]:
    words = set(tokens(action.title_in(language)))
    for tag in getattr(action, "tags", ()):
        words |= tokens(tag.replace("_", " "))
    words |= tokens(action.category.replace("/", " ").replace("_", " "))
    return frozenset(words)


def matched_words(s: Scored, rc: ReasonContext) -> tuple[str, ...]:
    """Query words (as typed) that the action's own text mentions."""
    if not rc.words.matchable:
        return ()
    item = item_words(s.action, rc.language)
    return tuple(typed for folded, typed in rc.words.matchable if folded in item)


def _shares_page(category: str, page_category: str | None) -> bool:
    return bool(page_category) and category.split("/")[0] == (page_category or "").split("/")[0]


def _context(s: Scored, ctx: ScoringContext, rc: ReasonContext) -> Reason | None:
    detail = s.details.get("context")
    if detail == "query":
        words = matched_words(s, rc)
        if words:
            return _say(rc, "query_match", "context", {"words": " ".join(words)}, matched=words)
    if detail in ("query", "page") and _shares_page(s.action.category, ctx.page_category):
        if rc.page_now is not None:
            return _say(rc, "page_now", "context", item=rc.page_now)
        return _say(rc, "page_earlier", "context")
    if s.action.channels and ctx.channel in s.action.channels:
        name = channel_name(ctx.channel, rc.language)
        return _say(rc, "channel", "context", {"channel": name})
    return None


def admitting_intent(s: Scored, rc: ReasonContext) -> tuple[str, Intent] | None:
    """``(code, intent)``: the resolved intent or clarifying option that admits the action."""
    kind = s.action.kind
    if rc.intent is not None:
        return ("intent", rc.intent) if rc.intent.allows(s.action.category, kind) else None
    for option in rc.clarify_options:
        if option.allows(s.action.category, kind):
            return "clarify_option", option
    return None


def _intent(s: Scored, ctx: ScoringContext, rc: ReasonContext) -> Reason | None:
    found = admitting_intent(s, rc)
    if found is None:
        return None
    code, intent = found
    return _say(rc, code, "intent", {"label": rc.label(intent)}, intent=intent.name)


def _value(s: Scored, ctx: ScoringContext, rc: ReasonContext) -> Reason | None:
    return _say(rc, "value", "value")


def _popularity(s: Scored, ctx: ScoringContext, rc: ReasonContext) -> Reason | None:
    return _say(rc, "popularity", "popularity")


def _open_intent(s: Scored, ctx: ScoringContext, rc: ReasonContext) -> Reason | None:
    name = s.details.get("open_intent", "")
    intent = rc.intents.get(name)
    if intent is None or not intent.allows(s.action.category, s.action.kind):
        return None
    return _say(rc, "open_intent", "open_intent", {"label": rc.label(intent)}, intent=name)


def _fatigue(s: Scored, ctx: ScoringContext, rc: ReasonContext) -> Reason | None:
    return _say(rc, "fatigue", "fatigue")


def _similar(s: Scored, ctx: ScoringContext, rc: ReasonContext) -> Reason | None:
    source = s.details.get("similar")
    if source:
        return _say(rc, "similar_item", "similar", {"source": source})
    return _say(rc, "similar_history", "similar")


WRITERS: dict[str, Callable[[Scored, ScoringContext, ReasonContext], Reason | None]] = {
    "affinity": _affinity,
    "context": _context,
    "intent": _intent,
    "value": _value,
    "popularity": _popularity,
    "open_intent": _open_intent,
    "fatigue": _fatigue,
    "similar": _similar,
}


def reasons(s: Scored, ctx: ScoringContext, rc: ReasonContext) -> list[Reason]:
    """Reasons for the terms that contributed most (by absolute contribution).

    Positive contributions explain why the action is here; a large negative one is
    mentioned too, so an agent knows why an obvious pick sits low. A term whose evidence
    does not hold for this action says nothing. There is always at least one reason: the
    largest contribution with evidence, whatever its size, else a general one.
    """
    ranked = sorted(s.contributions.items(), key=lambda kv: -abs(kv[1]))
    out: list[Reason] = []
    for name, c in ranked:
        if len(out) == MAX_REASONS or abs(c) < MIN_CONTRIBUTION:
            break
        writer = WRITERS.get(name)
        reason = writer(s, ctx, rc) if writer is not None else None
        if reason is not None:
            out.append(reason)
    if not out:
        for name, c in ranked:
            writer = WRITERS.get(name)
            if c != 0 and writer is not None and (reason := writer(s, ctx, rc)) is not None:
                out.append(reason)
                break
    return out or [_say(rc, "general", None)]


def explored(rc: ReasonContext) -> Reason:
    """The reason of an action shown to learn (exploration), not for its rank."""
    return _say(rc, "explored", None)
