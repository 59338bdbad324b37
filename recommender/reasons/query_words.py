"""The words of a query that may count as a content match, and the ones it negates.

"anything but a phone", "kein Buch", "pas de polar": a word under a negation cue is
something the customer does not want, so no reason may say the answer matches it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from recommender.text import ELISION, STOPWORDS, tokens

#: a query word must have at least this many letters to count as a match
MIN_MATCH_LETTERS = 3
#: words after a negation cue that it covers (up to a clause break)
NEGATION_SCOPE = 3

#: single-word negation cues (en, de, fr); "anything but" and friends are handled apart
NEGATION_CUES = frozenset(
    {
        "not",
        "no",
        "without",
        "except",
        "nor",
        "never",
        "nothing",
        "none",
        "neither",
        "dont",
        "don't",
        "nicht",
        "kein",
        "keine",
        "keinen",
        "keinem",
        "keiner",
        "keines",
        "ohne",
        "außer",
        "ausser",
        "nie",
        "nichts",
        "pas",
        "sans",
        "sauf",
        "ni",
        "jamais",
        "rien",
        "aucun",
        "aucune",
        "hormis",
    }
)
#: verbs of something that should have happened to the customer's thing (en, de, fr): a
#: negation that reaches one of them denies the event, not the thing ("je n'ai jamais reçu
#: ma commande", "I never received my order", "nie erhalten": the order is what the
#: customer is asking about); the negation's scope ends at the verb. Past forms only: a
#: present one is as often a wish ("I don't want to get a laptop")
EVENT_VERBS = frozenset(
    {
        "received",
        "got",
        "gotten",
        "arrived",
        "came",
        "delivered",
        "shipped",
        "reached",
        "erhalten",
        "bekommen",
        "angekommen",
        "geliefert",
        "gekommen",
        "zugestellt",
        "eingetroffen",
        "verschickt",
        "versandt",
        "reçu",
        "reçue",
        "reçus",
        "reçues",
        "recu",
        "recue",
        "arrivé",
        "arrivée",
        "arrivés",
        "arrivées",
        "livré",
        "livrée",
        "livrés",
        "livrées",
        "venu",
        "venue",
        "parvenu",
        "parvenue",
        "expédié",
        "expédiée",
    }
)
#: "<word> but" negates what follows ("anything but a phone", "alles außer" is a cue above)
_BUT_LEADS = frozenset({"anything", "everything", "all"})
_CLAUSE_BREAKS = frozenset({"and", "but", "und", "aber", "sondern", "et", "mais", "ou", "or"})
#: a French elision ("l'", "qu'": :data:`recommender.text.ELISION`) is a piece of its own,
#: then words (an English "don't" keeps its apostrophe) and clause punctuation
_PIECES = re.compile(
    ELISION.pattern + r"|[^\W\d_]+(?:['\u2019][^\W\d_]+)?|[,.;:!?()]", re.IGNORECASE
)


#: marks an elision kept in the unnegated text, glued to the next piece again
_GLUE = "\x00"


@dataclass(frozen=True)
class QueryWords:
    """The query's words that may count as a content match, and the negated ones."""

    #: folded word -> the word as typed, for content words outside any negation
    matchable: tuple[tuple[str, str], ...] = ()
    #: folded words said only under a negation ("no", "kein", "pas", "anything but", ...)
    negated: frozenset[str] = frozenset()
    #: the query without its negation cues and the words they cover ("a gift for my sister
    #: but not a book" -> "a gift for my sister"); the query itself when it negates nothing
    unnegated: str = ""

    def ranking_tokens(self, query: str) -> frozenset[str]:
        """The folded tokens of ``query`` that may pull an action up in ranking: those of
        its unnegated text ("kein Handy, ein Tablet" asks for a tablet, not a phone; the
        cue itself is no content either)."""
        return tokens(self.unnegated) if self.negated else tokens(query)


@functools.lru_cache(maxsize=4_096)
def query_words(query: str | None) -> QueryWords:
    """Split ``query`` into matchable content words and negated words (remembered: a
    decision reads a query's words several times, and the values are immutable)."""
    if not query:
        return QueryWords()
    positive: dict[str, str] = {}
    negated: set[str] = set()
    kept: list[str] = []  # the pieces outside any negation, for the unnegated text
    scope = 0
    previous = ""
    for piece in _PIECES.findall(query):
        word = piece.lower().replace("\u2019", "'")
        if not word[0].isalpha():  # punctuation ends a negation's scope
            scope, previous = 0, ""
            kept.append(piece)
            continue
        if word in _CLAUSE_BREAKS and not (word == "but" and previous in _BUT_LEADS):
            scope, previous = 0, word
            kept.append(piece)
            continue
        if word in NEGATION_CUES or (word == "but" and previous in _BUT_LEADS):
            if word == "but" and kept:
                kept.pop()  # "anything but": "anything" is part of the cue
            scope, previous = NEGATION_SCOPE, word
            continue
        if word.endswith("'"):  # an elision ("l'", "n'"): no word, nor does it use the scope
            previous = word
            if not scope:
                kept.append(piece + _GLUE)
            continue
        previous = word
        if scope > 0 and word in EVENT_VERBS:  # "never received": the event is denied
            scope = 0
            continue
        in_scope = scope > 0
        scope = max(0, scope - 1)
        if not in_scope:
            kept.append(piece)
        if len(word) < MIN_MATCH_LETTERS or word in STOPWORDS:
            continue
        for folded in tokens(word):
            if in_scope:
                negated.add(folded)
            else:
                positive.setdefault(folded, piece)
    # a word said both ways ("laptop, no gaming laptop") still counts as asked for
    negated -= positive.keys()
    unnegated = " ".join(kept).replace(_GLUE + " ", "") if negated else query
    return QueryWords(
        matchable=tuple(positive.items()), negated=frozenset(negated), unnegated=unnegated
    )
