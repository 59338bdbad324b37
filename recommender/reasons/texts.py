"""Reason templates per language (en, de, fr) and voice (customer, agent).

Every reason has a stable code; its text comes from the template of that code in the
request's language and voice, with named slots (``{label}``, ``{words}``, ...) filled from
evidence. Languages without templates get English. Labels and titles are quoted as they
are, never lower-cased or spliced into a sentence of another language.
"""

from __future__ import annotations

from typing import Literal

Voice = Literal["customer", "agent"]
LANGUAGES = ("en", "de", "fr")

#: stable reason codes (the ``why[].code`` of the API)
CODES = (
    "intent",
    "clarify_option",
    "query_match",
    "page_now",
    "page_earlier",
    "channel",
    "viewed_item",
    "category_interest",
    "passed_similar",
    "value",
    "popularity",
    "open_intent",
    "fatigue",
    "similar_item",
    "similar_history",
    "explored",
    "general",
)

_EN_CUSTOMER = {
    "intent": 'fits what you asked for ("{label}")',
    "clarify_option": 'an answer to "{label}", if that is what you meant',
    "query_match": 'matches what you asked for: "{words}"',
    "page_now": "related to what you are looking at now",
    "page_earlier": "related to something you looked at before",
    "channel": "made for {channel}",
    "viewed_item": "you looked at this before",
    "category_interest": "you have shown interest in {topic}",
    "passed_similar": "you passed on similar items before, so it ranks lower",
    "value": "one of our best-value options",
    "popularity": "popular with other customers right now",
    "open_intent": 'you were looking for "{label}" last time',
    "fatigue": "shown to you recently, so it ranks lower",
    "similar_item": 'customers who chose "{source}" also chose this',
    "similar_history": "customers with a history like yours chose this",
    "explored": "we are trying this suggestion to learn what you like",
    "general": "a good general fit for this moment",
}

_EN_AGENT = {
    "intent": 'fits the customer\'s request: "{label}"',
    "clarify_option": 'answers the clarifying option "{label}"',
    "query_match": 'matches the customer\'s words: "{words}"',
    "page_now": "related to the item the customer is viewing now",
    "page_earlier": "related to an item the customer viewed earlier",
    "channel": "made for {channel}",
    "viewed_item": "the customer looked at this before",
    "category_interest": "customer showed interest in {topic}",
    "passed_similar": "the customer passed on similar items before, so it ranks lower",
    "value": "one of the best-value options",
    "popularity": "popular with other customers right now",
    "open_intent": 'left open on an earlier visit, last time: "{label}"',
    "fatigue": "shown to the customer recently, so it ranks lower",
    "similar_item": 'customers who chose "{source}" also chose this',
    "similar_history": "customers with a history like this customer's chose this",
    "explored": "shown to learn what the customer likes (exploration)",
    "general": "a good general fit for this moment",
}

_DE_CUSTOMER = {
    "intent": "passt zu Ihrem Anliegen („{label}“)",
    "clarify_option": "eine Antwort auf „{label}“, falls Sie das meinen",
    "query_match": "passt zu Ihrer Suche: „{words}“",
    "page_now": "passt zu dem, was Sie sich gerade ansehen",
    "page_earlier": "passt zu etwas, das Sie sich früher angesehen haben",
    "channel": "gemacht für {channel}",
    "viewed_item": "Sie haben sich das schon einmal angesehen",
    "category_interest": "Sie haben Interesse an Ähnlichem gezeigt",
    "passed_similar": "Sie haben Ähnliches schon abgelehnt, daher steht es weiter unten",
    "value": "eines unserer Angebote mit dem besten Preis-Leistungs-Verhältnis",
    "popularity": "gerade bei anderen Kunden beliebt",
    "open_intent": "Sie haben zuletzt nach „{label}“ gesucht",
    "fatigue": "Ihnen kürzlich schon gezeigt, daher steht es weiter unten",
    "similar_item": "Kunden, die „{source}“ gewählt haben, wählten auch dies",
    "similar_history": "Kunden mit einem Verlauf wie Ihrem haben das gewählt",
    "explored": "wir probieren diesen Vorschlag aus, um zu lernen, was Ihnen gefällt",
    "general": "passt gut zu diesem Moment",
}

_DE_AGENT = {
    "intent": "passt zum Anliegen des Kunden: „{label}“",
    "clarify_option": "beantwortet die Rückfrage-Option „{label}“",
    "query_match": "passt zu den Worten des Kunden: „{words}“",
    "page_now": "passt zum Artikel, den der Kunde gerade ansieht",
    "page_earlier": "passt zu einem Artikel, den der Kunde früher angesehen hat",
    "channel": "gemacht für {channel}",
    "viewed_item": "der Kunde hat sich das schon einmal angesehen",
    "category_interest": "Kunde hat Interesse an dieser Kategorie gezeigt ({category})",
    "passed_similar": "der Kunde hat Ähnliches abgelehnt, daher steht es weiter unten",
    "value": "eines der Angebote mit dem besten Preis-Leistungs-Verhältnis",
    "popularity": "gerade bei anderen Kunden beliebt",
    "open_intent": "beim letzten Besuch offen geblieben: „{label}“",
    "fatigue": "dem Kunden kürzlich gezeigt, daher steht es weiter unten",
    "similar_item": "Kunden, die „{source}“ gewählt haben, wählten auch dies",
    "similar_history": "Kunden mit einem ähnlichen Verlauf haben das gewählt",
    "explored": "zum Lernen gezeigt, was dem Kunden gefällt (Exploration)",
    "general": "passt gut zu diesem Moment",
}

_FR_CUSTOMER = {
    "intent": "correspond à votre demande (« {label} »)",
    "clarify_option": "une réponse à « {label} », si c'est ce que vous cherchez",
    "query_match": "correspond à votre recherche : « {words} »",
    "page_now": "en lien avec ce que vous regardez en ce moment",
    "page_earlier": "en lien avec un article que vous avez consulté auparavant",
    "channel": "conçu pour {channel}",
    "viewed_item": "vous avez déjà regardé cet article",
    "category_interest": "vous vous êtes intéressé à des articles similaires",
    "passed_similar": "vous avez déjà écarté des articles similaires, il est donc plus bas",
    "value": "une de nos offres les plus avantageuses",
    "popularity": "populaire en ce moment auprès des autres clients",
    "open_intent": "vous cherchiez « {label} » la dernière fois",
    "fatigue": "déjà proposé récemment, il est donc plus bas",
    "similar_item": "les clients qui ont choisi « {source} » ont aussi choisi ceci",
    "similar_history": "des clients au parcours proche du vôtre ont choisi ceci",
    "explored": "nous testons cette suggestion pour mieux connaître vos goûts",
    "general": "un bon choix pour ce moment",
}

_FR_AGENT = {
    "intent": "correspond à la demande du client : « {label} »",
    "clarify_option": "répond à l'option de clarification « {label} »",
    "query_match": "correspond aux mots du client : « {words} »",
    "page_now": "en lien avec l'article que le client consulte en ce moment",
    "page_earlier": "en lien avec un article que le client a consulté auparavant",
    "channel": "conçu pour {channel}",
    "viewed_item": "le client a déjà regardé cet article",
    "category_interest": "le client s'est intéressé à cette catégorie ({category})",
    "passed_similar": "le client a déjà écarté des articles similaires, il est donc plus bas",
    "value": "une des offres les plus avantageuses",
    "popularity": "populaire en ce moment auprès des autres clients",
    "open_intent": "resté sans suite la dernière fois : « {label} »",
    "fatigue": "déjà proposé récemment au client, il est donc plus bas",
    "similar_item": "les clients qui ont choisi « {source} » ont aussi choisi ceci",
    "similar_history": "des clients au parcours similaire ont choisi ceci",
    "explored": "montré pour apprendre les goûts du client (exploration)",
    "general": "un bon choix pour ce moment",
}

TEMPLATES: dict[tuple[str, Voice], dict[str, str]] = {
    ("en", "customer"): _EN_CUSTOMER,
    ("en", "agent"): _EN_AGENT,
    ("de", "customer"): _DE_CUSTOMER,
    ("de", "agent"): _DE_AGENT,
    ("fr", "customer"): _FR_CUSTOMER,
    ("fr", "agent"): _FR_AGENT,
}

CHANNEL_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "web": "the website",
        "app": "the app",
        "contact_center": "calls with an agent",
        "store": "the store",
        "email": "email",
        "chat": "chat",
    },
    "de": {
        "web": "die Website",
        "app": "die App",
        "contact_center": "Gespräche mit einem Berater",
        "store": "die Filiale",
        "email": "E-Mail",
        "chat": "den Chat",
    },
    "fr": {
        "web": "le site web",
        "app": "l'application",
        "contact_center": "les appels avec un conseiller",
        "store": "le magasin",
        "email": "l'e-mail",
        "chat": "le chat",
    },
}


def template_language(language: str) -> str:
    return language if language in LANGUAGES else "en"


def render(code: str, language: str, voice: Voice, **slots: str) -> str:
    """The text of reason ``code`` in ``language`` and ``voice`` with its slots filled."""
    lang = template_language(language)
    return TEMPLATES[(lang, voice)][code].format(**slots)


def channel_name(channel: str, language: str) -> str:
    return CHANNEL_NAMES[template_language(language)].get(channel, channel)
