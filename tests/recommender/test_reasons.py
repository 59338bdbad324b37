"""Reasons say only what their evidence holds, in the request's language and voice."""

from __future__ import annotations

from domain.actions import Action
from domain.customer import Journey, JourneyStep
from intent.taxonomy import Intent
from recommender.catalog import CatalogIndex
from recommender.ranking.terms import Scored, ScoringContext, Weights, score_action
from recommender.reasons.explain import ReasonContext, query_words, reasons, session_page
from recommender.reasons.texts import CODES, TEMPLATES
from recommender.text import tokens

BOOK = Intent(
    name="buy_book",
    label={"en": "Wants to buy a book", "de": "Möchte ein Buch kaufen"},
    allowed_categories=["books"],
    clarify_prompt={"en": "Buy a book", "de": "Ein Buch kaufen"},
)
PHONE = Intent(
    name="mobile_plan",
    label={"en": "Interested in a mobile plan"},
    allowed_categories=["plans/mobile", "electronics/phones"],
    clarify_prompt={"en": "Mobile plans"},
)
APPLIANCE = Intent(
    name="buy_appliance",
    label={"en": "Wants to buy a home appliance"},
    allowed_categories=["home_appliances"],
    clarify_prompt={"en": "Buy a new appliance"},
)


def action(id_: str, category: str, title: str, **kw: object) -> Action:
    return Action.model_validate(
        {"id": id_, "kind": "product", "category": category, "title": {"en": title}, **kw}
    )


CRIME = action(
    "crime1",
    "books/fiction/crime",
    "The Quiet Detective",
    tags=["crime"],
    channels=["web"],
)
PHONE_ITEM = action("phone1", "electronics/phones", "Nova 14 smartphone", tags=["phone"])
CATALOG = CatalogIndex.build([CRIME, PHONE_ITEM], version=1)


def scored(a: Action, ctx: ScoringContext) -> Scored:
    return score_action(a, ctx, CATALOG, Weights())


def codes(s: Scored, ctx: ScoringContext, rc: ReasonContext) -> dict[str, object]:
    return {r.code: r for r in reasons(s, ctx, rc)}


def test_negated_and_short_words_never_match() -> None:
    words = query_words("a present for my brother, anything but a phone")
    assert tokens("phone") <= words.negated
    assert not tokens("phone") & {w for w, _ in words.matchable}
    words = query_words("Geschenk, aber kein Buch")
    assert tokens("Buch") <= words.negated
    words = query_words("un cadeau mais pas un livre, ni de polar")
    assert tokens("livre") <= words.negated and tokens("polar") <= words.negated
    # said both ways, the word was asked for
    words = query_words("laptop for work, no gaming laptop")
    assert tokens("gaming") <= words.negated and tokens("laptop") & dict(words.matchable).keys()
    assert not query_words("tv xl").matchable  # words under three letters
    # "nothing X", "nichts X", "rien de X" negate too
    for query, word in (
        ("a sci-fi novel, nothing military", "military"),
        ("ein Roman, nichts mit Krieg", "Krieg"),
        ("un roman, rien de violent", "violent"),
    ):
        words = query_words(query)
        assert tokens(word) <= words.negated, query
        assert not tokens(word) & dict(words.matchable).keys(), query


def test_french_elisions_are_split_off_their_word() -> None:
    # the elided article or pronoun is no word; the word it is glued to stands alone
    words = query_words("l'ordinateur qu'il veut, d'un bon prix")
    assert dict(words.matchable) == {
        "ordinateur": "ordinateur",
        "veut": "veut",
        "bon": "bon",
        "prix": "prix",
    }
    assert tokens("qu'il n'est l'été d\u2019hiver") == tokens("été hiver")
    assert dict(query_words("manteau d\u2019hiver").matchable)["hiver"] == "hiver"
    # English apostrophes stay in their word ("don't" is a negation cue)
    assert tokens("phone") <= query_words("don't want a phone").negated
    assert dict(query_words("men's shirt").matchable).keys() == tokens("men shirt")


def test_french_negation_after_an_elided_ne() -> None:
    # "n'... pas / jamais": the words after the cue are negated, not matched
    for query, word in (
        ("ce n'est pas un livre", "livre"),
        ("je n'aime jamais les polars", "polars"),
        ("ce n\u2019est pas un livre", "livre"),
    ):
        words = query_words(query)
        assert tokens(word) <= words.negated, query
        assert not tokens(word) & dict(words.matchable).keys(), query
    # "ne ... plus" says a fault or a change ("n'essore plus le linge", "je ne veux plus de
    # mon abonnement"), not a thing the customer does not want: it negates nothing
    words = query_words("je ne veux plus de mon abonnement mobile")
    assert not words.negated and tokens("abonnement") <= dict(words.matchable).keys()
    # "n'importe quel livre" ("any book") negates nothing either
    words = query_words("n'importe quel livre")
    assert not words.negated and tokens("livre") <= dict(words.matchable).keys()


def test_a_negated_event_leaves_the_thing_asked_about() -> None:
    # "never received my order": the delivery is denied, the order is what is asked about
    for query, word in (
        ("je n'ai jamais reçu ma commande", "commande"),
        ("I never received my order", "order"),
        ("la commande n'est jamais arrivée", "commande"),
        ("nie erhalten: meine Bestellung", "Bestellung"),
        ("I never got my parcel", "parcel"),
    ):
        words = query_words(query)
        assert not words.negated, query
        assert tokens(word) <= dict(words.matchable).keys(), query
    # a present-tense verb is as often a wish: the thing after it stays negated
    assert tokens("laptop") <= query_words("I did not get a laptop, I want a tablet").negated
    assert tokens("livre") <= query_words("je ne veux pas de livre").negated


def test_query_match_needs_a_real_content_word() -> None:
    query = "anything but a phone"
    ctx = ScoringContext(query=query, query_tokens=tokens(query))
    s = scored(PHONE_ITEM, ctx)
    assert s.details.get("context") == "query"  # the score term saw a shared token...
    rc = ReasonContext.build(
        language="en",
        voice="customer",
        query=query,
        intent=None,
        clarify_options=(),
        page_now=None,
    )
    assert "query_match" not in codes(s, ctx, rc)  # ...the reason does not claim it
    query = "a detective story"
    ctx = ScoringContext(query=query, query_tokens=tokens(query))
    rc = ReasonContext.build(
        language="en", voice="customer", query=query, intent=None, clarify_options=(), page_now=None
    )
    match = codes(scored(CRIME, ctx), ctx, rc)["query_match"]
    assert match.matched == ("detective",)  # type: ignore[attr-defined]
    assert match.text == 'matches what you asked for: "detective"'  # type: ignore[attr-defined]


def test_intent_reason_names_the_intent_that_admits_the_action() -> None:
    ctx = ScoringContext(
        intent_names=frozenset({"mobile_plan", "buy_book"}),
        intent_categories=("books", "plans/mobile", "electronics/phones"),
    )
    # clarify options: each action is labelled with the option it answers, not the first
    rc = ReasonContext(clarify_options=(APPLIANCE, PHONE, BOOK))
    book = codes(scored(CRIME, ctx), ctx, rc)["clarify_option"]
    assert book.intent == "buy_book"  # type: ignore[attr-defined]
    assert book.text == 'an answer to "Buy a book", if that is what you meant'  # type: ignore[attr-defined]
    phone = codes(scored(PHONE_ITEM, ctx), ctx, rc)["clarify_option"]
    assert phone.intent == "mobile_plan"  # type: ignore[attr-defined]
    # resolved: only the resolved intent, and only for actions it admits
    rc = ReasonContext(intent=BOOK)
    assert codes(scored(CRIME, ctx), ctx, rc)["intent"].intent == "buy_book"  # type: ignore[attr-defined]
    assert not {"intent", "clarify_option"} & codes(scored(PHONE_ITEM, ctx), ctx, rc).keys()
    # nothing resolved, nothing asked: no intent reason at all
    rc = ReasonContext()
    assert not {"intent", "clarify_option"} & codes(scored(CRIME, ctx), ctx, rc).keys()


def test_looking_at_now_needs_evidence_from_this_session() -> None:
    ctx = ScoringContext(page_category="books/fiction/crime")
    s = scored(CRIME, ctx)
    assert s.details["context"] == "page"
    assert "page_now" in codes(s, ctx, ReasonContext(page_now="crime2"))
    assert "page_earlier" in codes(s, ctx, ReasonContext(page_now=None))
    now = 1_000_000.0
    old = Journey(
        page_item="crime2",
        steps=[JourneyStep(ts=now - 20 * 86400, type="view", channel="web", item_id="crime2")],
    )
    assert session_page(None, old, channel="web", session_id=None, now=now, window_s=1800) is None
    live = Journey(
        page_item="crime2",
        session_id="s1",
        steps=[JourneyStep(ts=now - 60, type="view", channel="web", item_id="crime2")],
    )
    kw = {"now": now, "window_s": 1800}
    assert session_page(None, live, channel="web", session_id="s1", **kw) == "crime2"  # type: ignore[arg-type]
    assert session_page(None, live, channel="app", session_id="s1", **kw) is None  # type: ignore[arg-type]
    assert session_page(None, live, channel="web", session_id="s2", **kw) is None  # type: ignore[arg-type]
    assert session_page("x1", Journey(), channel="web", session_id=None, **kw) == "x1"  # type: ignore[arg-type]


def test_language_and_voice_come_from_templates() -> None:
    ctx = ScoringContext(
        category_affinity={"books/fiction/crime": 5.0, "books": 3.0},
        intent_names=frozenset({"buy_book"}),
        intent_categories=("books",),
    )
    s = scored(CRIME, ctx)
    agent = {r.code: r.text for r in reasons(s, ctx, ReasonContext(intent=BOOK, voice="agent"))}
    assert agent["category_interest"] == "customer showed interest in crime"
    assert agent["intent"] == 'fits the customer\'s request: "Wants to buy a book"'
    de = {r.code: r.text for r in reasons(s, ctx, ReasonContext(intent=BOOK, language="de"))}
    assert de["intent"] == "passt zu Ihrem Anliegen („Ein Buch kaufen“)"
    assert de["category_interest"] == "Sie haben Interesse an Ähnlichem gezeigt"
    # an unknown language falls back to English
    it = {r.code: r.text for r in reasons(s, ctx, ReasonContext(intent=BOOK, language="it"))}
    assert it["intent"] == 'fits what you asked for ("Buy a book")'


def test_every_template_set_has_every_code() -> None:
    for table in TEMPLATES.values():
        assert set(table) == set(CODES)


def test_negated_words_do_not_rank() -> None:
    # "kein Handy, ein Tablet": the phone is what the customer does not want; neither it
    # nor the cue is a ranking token, and the text read for meaning leaves both out
    for query, gone, kept in (
        ("anything but a phone", "phone", ""),
        ("ein Tablet, kein Handy", "Handy", "Tablet"),
        ("un casque mais pas un téléphone", "téléphone", "casque"),
        ("headphones, not a phone", "phone", "headphones"),
    ):
        words = query_words(query)
        ranking = words.ranking_tokens(query)
        assert not tokens(gone) & ranking, query
        assert not tokens(gone) & tokens(words.unnegated), query
        assert tokens(kept) <= ranking, query
        assert not ranking & {"not", "kein", "pas", "anything"}, query
    # a query that negates nothing is read as typed
    assert query_words("a crime novel").unnegated == "a crime novel"
    assert query_words("a crime novel").ranking_tokens("a crime novel") == tokens("a crime novel")
    # an elision outside the negation stays glued to its word
    assert "l'écran" in query_words("pas l'ordinateur mais l'écran").unnegated
