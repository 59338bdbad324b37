"""A small multilingual lexicon of the shop's domain words, read with the query's language.

The catalog tags its actions in English ("women", "teen", "fantasy") and the static
embedding (:mod:`intent.embeddings`) was trained mostly on English text, so a German or
French query often says what it means in words neither knows: "Damen", "Herrenhemd",
"Jugendliche", "Kleid", "adolescents", "homme". And a few words mean something else in
English than in the language they were typed in: a German or French "Roman" is a novel,
not a romance (the embedding reads it as romance), a German "Rock" a skirt, a German
"Handy" a mobile phone, a German "Kind" a child.

:data:`CONCEPTS` maps English concept words (the catalog's tags and leaf words, and a few
plain English words the embedding reads well) to the everyday words for them in English,
German and French, grouped by the catalog's taxonomy (books, fashion, age groups,
appliances, electronics). :data:`FALSE_FRIENDS` holds the words whose sense depends on the
language: they are glossed only when the query reads as that language (:func:`language`,
from its function words and letters), and then they stand for their gloss alone.

German compounds are read by their parts: a word that starts or ends with a lexicon word
("Damenbluse", "Abendkleid", "Jugendroman") gets that word's gloss.

:func:`glosses` gives, per folded query word, the concept words it stands for;
:func:`reading` the text the embedding reads (false friends replaced by their gloss, the
glosses of the other words appended). Both are pure functions of the query text.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping

from recommender.text import STOPWORDS, _fold

#: concept -> words for it (English synonyms the catalog does not use, German, French);
#: one word may name several concepts ("Damenschuhe": women and shoes)
CONCEPTS: dict[str, tuple[str, ...]] = {
    # --- books
    "fiction": ("belletristik", "erzählung", "erzählungen", "fiktion"),
    "book": ("buch", "bücher", "lektüre", "lesestoff", "livre", "livres", "bouquin", "lecture"),
    "fantasy": (
        "magie",
        "zauberer",
        "zauberin",
        "hexe",
        "hexen",
        "drache",
        "drachen",
        "elfen",
        "zauber",
        "magic",
        "wizard",
        "wizards",
        "witch",
        "dragon",
        "elves",
        "magique",
        "sorcier",
        "sorciers",
        "sorcière",
        "dragon",
        "dragons",
        "elfes",
        "fantastique",
    ),
    "scifi": (
        "raumfahrt",
        "raumschiff",
        "raumschiffe",
        "weltraum",
        "außerirdische",
        "zukunft",
        "zeitreise",
        "zeitreisen",
        "spaceship",
        "aliens",
        "futuristic",
        "espace",
        "vaisseau",
        "extraterrestres",
        "futur",
    ),
    "space": ("weltall", "weltraum", "planet", "planeten", "planète", "planètes"),
    "crime": (
        "kriminalroman",
        "kommissar",
        "ermittler",
        "mord",
        "mordfall",
        "verbrechen",
        "detektiv",
        "mystery",
        "murder",
        "detective",
        "enquête",
        "enquêteur",
        "meurtre",
        "crime",
        "policier",
        "inspecteur",
    ),
    "romance": (
        "liebesroman",
        "liebesgeschichte",
        "liebe",
        "romantisch",
        "romantic",
        "amour",
        "sentimental",
        "romantique",
    ),
    "teen": (
        "jugendliche",
        "jugendlichen",
        "jugendlicher",
        "jugend",
        "jugendbuch",
        "teenager",
        "teenagerin",
        "teenagers",
        "teens",
        "teenage",
        "adolescent",
        "adolescents",
        "adolescente",
        "ado",
        "ados",
        "lycée",
        "lycéen",
        "lycéenne",
        "collégien",
        "collégienne",
    ),
    "children": (
        "kinder",
        "kind",
        "kinderbuch",
        "kleinkind",
        "kleinkinder",
        "baby",
        "toddler",
        "toddlers",
        "enfant",
        "enfants",
        "bébé",
        "tout-petits",
    ),
    "picture_book": ("bilderbuch", "bilderbücher", "vorlesebuch", "vorlesen", "illustré"),
    "cooking": (
        "kochbuch",
        "kochen",
        "rezepte",
        "rezept",
        "backen",
        "gerichte",
        "küche",
        "recipes",
        "recipe",
        "cookbook",
        "recettes",
        "cuisine",
        "cuisiner",
        "pâtisserie",
    ),
    "travel": (
        "reise",
        "reisen",
        "reiseführer",
        "urlaub",
        "wandern",
        "voyage",
        "voyages",
        "randonnée",
        "visiter",
    ),
    "business": (
        "wirtschaft",
        "unternehmen",
        "gründer",
        "führung",
        "management",
        "entreprise",
        "gestion",
        "négociation",
        "économie",
        "leadership",
        "startup",
        "startups",
    ),
    "nonfiction": ("sachbuch", "sachbücher", "ratgeber", "nonfiction", "non-fiction"),
    "paperback": ("taschenbuch", "taschenbücher", "poche"),
    # --- fashion
    "women": (
        "woman",
        "womens",
        "ladies",
        "lady",
        "female",
        "damen",
        "dame",
        "frau",
        "frauen",
        "femme",
        "femmes",
        "dames",
        "kleid",
        "kleider",
        "bluse",
        "rock",
        "robe",
        "jupe",
        "chemisier",
    ),
    "men": (
        "man",
        "mens",
        "gentlemen",
        "male",
        "herren",
        "herr",
        "mann",
        "männer",
        "homme",
        "hommes",
        "anzug",
        "sakko",
        "krawatte",
        "cravate",
    ),
    "kids": ("kinder", "kind", "junge", "mädchen", "enfant", "enfants", "garçon", "fille"),
    "dress": ("kleid", "kleider", "robe", "robes"),
    "blouse": ("bluse", "blusen", "chemisier"),
    "shirt": ("hemd", "hemden", "chemise", "chemises"),
    "trousers": ("hose", "hosen", "pantalon", "pantalons", "pants"),
    "jacket": (
        "jacke",
        "jacken",
        "sakko",
        "blazer",
        "veste",
        "vestes",
        "blouson",
        "anorak",
    ),
    "coat": ("mantel", "mäntel", "manteau", "manteaux"),
    "knitwear": ("pullover", "pulli", "strickjacke", "gilet", "tricot"),
    "shoes": (
        "schuhe",
        "schuh",
        "turnschuhe",
        "sandalen",
        "stiefel",
        "chaussures",
        "chaussure",
        "sandales",
        "bottes",
        "bottines",
        "footwear",
        "sandals",
    ),
    "sneakers": ("turnschuhe", "sportschuhe", "baskets", "trainers"),
    "boots": ("stiefel", "stiefeletten", "bottes", "bottines"),
    "accessories": (
        "gürtel",
        "schal",
        "mütze",
        "handschuhe",
        "sonnenbrille",
        "tasche",
        "ceinture",
        "écharpe",
        "bonnet",
        "gants",
        "lunettes",
        "sac",
        "scarf",
        "gloves",
        "sunglasses",
    ),
    "clothes": ("kleidung", "klamotten", "vêtements", "vêtement", "habits", "clothing", "outfit"),
    # --- appliances
    "fridge": ("kühlschrank", "gefrierschrank", "frigo", "réfrigérateur", "congélateur", "freezer"),
    "dishwasher": ("spülmaschine", "geschirrspüler", "lave-vaisselle"),
    "washing_machine": ("waschmaschine", "lave-linge", "washer"),
    "dryer": ("trockner", "wäschetrockner", "sèche-linge"),
    "vacuum_cleaner": ("staubsauger", "aspirateur", "hoover"),
    "oven": ("backofen", "herd", "cuisinière"),
    "small_appliance": ("toaster", "grille-pain", "mixeur", "standmixer", "entsafter"),
    "blender": ("mixeur", "standmixer"),
    "coffee_machine": ("kaffeemaschine", "kaffeevollautomat", "cafetière", "espresso"),
    # --- electronics
    "phone": ("handy", "smartphone", "téléphone"),
    "laptop": ("notebook", "laptop", "ordinateur"),
    "tv": ("fernseher", "fernsehen", "télé", "téléviseur", "television"),
    "headphones": ("kopfhörer", "casque", "écouteurs", "earphones"),
    "camera": ("kamera", "fotoapparat"),
    "tablet": ("tablette", "tablet"),
}

#: words whose sense depends on the language they are typed in: language -> word -> gloss
FALSE_FRIENDS: dict[str, dict[str, tuple[str, ...]]] = {
    "de": {
        "roman": ("novel", "fiction"),
        "romane": ("novel", "fiction"),
        "rock": ("skirt", "women"),
        "handy": ("phone",),
        "kind": ("child", "children"),
        "mode": ("fashion", "clothes"),
        "art": ("kind",),
        "gift": ("poison",),
    },
    "fr": {
        "roman": ("novel", "fiction"),
        "romans": ("novel", "fiction"),
        "mode": ("fashion", "clothes"),
        "portable": ("phone", "laptop"),
        "four": ("oven",),
        "costume": ("suit", "men"),
        "robe": ("dress", "women"),
    },
}
#: words only the named language's false friends may gloss (no language-free reading)
_AMBIGUOUS = frozenset(w for table in FALSE_FRIENDS.values() for w in table) | {"robe", "man"}

#: function words that tell a query's language (a query of none of them: unknown)
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "a",
            "an",
            "for",
            "with",
            "my",
            "i",
            "is",
            "of",
            "to",
            "and",
            "on",
            "in",
            "about",
            "that",
            "this",
            "me",
            "it",
            "some",
            "any",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "den",
            "dem",
            "des",
            "ein",
            "eine",
            "einen",
            "einem",
            "einer",
            "und",
            "ich",
            "für",
            "mit",
            "über",
            "von",
            "zu",
            "ist",
            "nicht",
            "mein",
            "meine",
            "meinen",
            "meiner",
            "er",
            "sie",
            "es",
            "gern",
            "gerne",
            "bitte",
            "auf",
            "im",
            "am",
            "zum",
            "zur",
            "hätte",
            "möchte",
            "suche",
            "brauche",
            "kaufen",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "un",
            "une",
            "des",
            "pour",
            "avec",
            "je",
            "de",
            "du",
            "mon",
            "ma",
            "mes",
            "est",
            "pas",
            "sur",
            "dans",
            "au",
            "aux",
            "en",
            "il",
            "elle",
            "qui",
            "que",
            "voudrais",
            "cherche",
            "veux",
            "acheter",
        ]
    ),
}
#: an age said with a number ("er ist 15", "14 ans", "aged 13", "a 3-year-old")
_AGE = re.compile(
    r"(?:\b(?:ist|is|est|hat|wird|turns|turning|aged|age|âge|alter)\s+(\d{1,2})\b)"
    r"|(?:\b(\d{1,2})[\s-]*(?:jahre|jährige\w*|jahr|ans|an|years?|yrs?|yo)\b)",
    re.IGNORECASE,
)
#: ages (up to and including the bound) -> the age group the catalog names
AGE_GROUPS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (5, ("children", "picture_book")),
    (11, ("children", "kids")),
    (17, ("teen", "young_adult")),
)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)
#: a compound part must have this many letters
_PART = 4


def _plain(word: str) -> str:
    """Lower case, accents stripped."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _build() -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """word (plain and folded) -> concepts; the plain words long enough to be compound
    parts."""
    table: dict[str, list[str]] = {}
    for concept, words in CONCEPTS.items():
        for word in words:
            for key in {_plain(word), _fold(word)}:
                concepts = table.setdefault(key, [])
                if concept not in concepts:
                    concepts.append(concept)
    parts = frozenset(
        {
            _plain(w)
            for ws in CONCEPTS.values()
            for w in ws
            if len(_plain(w)) >= _PART and _plain(w) not in _AMBIGUOUS
        }
    )
    return {k: tuple(v) for k, v in table.items()}, parts


_TABLE, _PARTS = _build()


_LANGUAGES = tuple(_FUNCTION_WORDS)
#: function word -> the indexes (into ``_LANGUAGES``) of the languages it belongs to
_LANGUAGE_OF: dict[str, tuple[int, ...]] = {}
for _i, _words in enumerate(_FUNCTION_WORDS.values()):
    for _w in _words:
        _LANGUAGE_OF[_w] = (*_LANGUAGE_OF.get(_w, ()), _i)
_LETTER_RUNS = re.compile(r"[^\W\d_]+")
_GERMAN_LETTERS = re.compile("[äöüß]")
_FRENCH_LETTERS = re.compile("[çéèêàâîôûœ]")


@functools.lru_cache(maxsize=4_096)
def language(query: str) -> str | None:
    """``"en"``, ``"de"`` or ``"fr"`` when the query's function words (or its letters: ß
    and umlauts are German, ç and accented vowels French) say so; None when they do not."""
    lowered = query.lower()
    score = [0] * len(_LANGUAGES)
    for word in _LETTER_RUNS.findall(lowered):
        for i in _LANGUAGE_OF.get(word, ()):
            score[i] += 1
    if _GERMAN_LETTERS.search(lowered):
        score[_LANGUAGES.index("de")] += 1
    if _FRENCH_LETTERS.search(lowered):
        score[_LANGUAGES.index("fr")] += 1
    best = max(score)
    if best == 0 or score.count(best) > 1:
        return None
    return _LANGUAGES[score.index(best)]


@functools.lru_cache(maxsize=65_536)
def _concepts(word: str) -> tuple[str, ...]:
    """The concepts of one plain (lower-cased, accent-free) word, whole or by its parts
    (remembered: the same words recur in many queries)."""
    found = _TABLE.get(word) or _TABLE.get(_fold(word))
    if found:
        return found
    if len(word) < 2 * _PART - 1:
        return ()
    out: list[str] = []
    # the compound's head (the longest lexicon word it ends with) and modifier (the
    # longest it starts with): "damen|bluse", "abend|kleid"
    heads = (word[i:] for i in range(3, len(word) - _PART + 1))
    modifiers = (word[:i] for i in range(len(word) - 3, _PART - 1, -1))
    for part in (
        next((h for h in heads if h in _PARTS), None),
        next((m for m in modifiers if m in _PARTS), None),
    ):
        if part is not None:
            out.extend(c for c in _TABLE[part] if c not in out)
    return tuple(out)


@functools.lru_cache(maxsize=65_536)
def _word(typed: str) -> tuple[str, str, tuple[str, ...]]:
    """A typed word's plain (lower case, no accents) and folded forms and its concepts
    (none for a stopword, a short word, or a false friend: those depend on the language)."""
    plain, folded = _plain(typed), _fold(typed)
    if plain in STOPWORDS or len(plain) < 3 or plain in _AMBIGUOUS:
        return plain, folded, ()
    concepts = tuple(c for piece in plain.split("-") for c in _concepts(piece))
    return plain, folded, tuple(dict.fromkeys(concepts))


_DIGIT = re.compile(r"\d")


@functools.lru_cache(maxsize=4_096)
def glosses(query: str) -> Mapping[str, tuple[str, ...]]:
    """Folded query word -> the concept words it stands for (empty mapping when none)."""
    out: dict[str, tuple[str, ...]] = {}
    friends: dict[str, tuple[str, ...]] | None = None
    for typed in _WORD.findall(query):
        plain, folded, concepts = _word(typed)
        if concepts:
            out[folded] = concepts
        elif plain in _AMBIGUOUS:  # the language is read only when it matters
            if friends is None:
                friends = FALSE_FRIENDS.get(language(query) or "", {})
            if plain in friends:
                out[folded] = friends[plain]
    if _DIGIT.search(query):
        for match in _AGE.finditer(query):
            age = int(match.group(1) or match.group(2))
            group = next((g for bound, g in AGE_GROUPS if age <= bound), None)
            if group is not None:
                out[str(age)] = group
    return out


@functools.lru_cache(maxsize=4_096)
def reading(query: str) -> str:
    """The query as the embedding should read it: a false friend replaced by its gloss in
    the language it was typed in, the other words' glosses appended (unchanged when the
    lexicon knows none of its words)."""
    found = glosses(query)
    lang = language(query)
    if not found:
        return query
    friends = FALSE_FRIENDS.get(lang or "", {})

    def swap(match: re.Match[str]) -> str:
        plain = _plain(match.group(0))
        return " ".join(friends[plain]) if plain in friends else match.group(0)

    swapped = _WORD.sub(swap, query) if friends else query
    said = {_fold(w) for w in friends}
    extra = [
        c.replace("_", " ")
        for folded, concepts in found.items()
        # the embedding reads English words as they are (an age it cannot read as a group)
        if folded not in said and (lang != "en" or folded.isdigit())
        for c in concepts
        if c != folded
    ]
    if not extra and swapped == query:
        return query
    return " ".join([swapped, *dict.fromkeys(extra)])
