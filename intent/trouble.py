"""Trouble cues: the words in which customers (en/de/fr) say that something is broken.

"The freezer no longer freezes", "Trockner kaputt", "le lave-linge fuit": a fault is told by
its symptom more often than by asking for a repair, and the symptom's words are few and
shared across appliances and devices (no longer, any more, stopped, won't, leaks, broken;
nicht mehr, kaputt, defekt, läuft aus; ne ... plus, en panne, fuit, cassé). A plain negation
is *not* a cue: "a jacket that lets no rain in", "ein Trockner, der wenig Strom
verbraucht", "un lave-linge qui ne fait pas de bruit" describe what is wanted.

The cue is one binary feature of an utterance. The training utterances say how it spreads
over the intents (:func:`intent.word_spread.count_spread` counts it under
:data:`TROUBLE` next to the words, and the utterances of each intent under :data:`ALL`), so
the decision (:mod:`recommender.intent_cues`) weighs it as a likelihood learned from the
data, not as a rule naming intents: a cue is likely under the intents whose utterances say
it, its absence under the others.
"""

from __future__ import annotations

import re
import unicodedata

#: pseudo-words of :func:`intent.word_spread.count_spread`: utterances with a trouble cue,
#: and all utterances, per intent (no real word has angle brackets)
TROUBLE = "<trouble>"
ALL = "<all>"

_VERBS_EN = (
    r"work|start|turn|switch|heat|cool|freeze|spin|drain|charge|boot|connect|load|open|"
    r"close|print|power|respond|suck|dry|wash|brew"
)
_VERBS_DE = (
    r"geht|funktioniert|startet|heizt|kuhlt|schleudert|pumpt|ladt|lauft|springt|reagiert|"
    r"trocknet|spult|wascht|saugt|schliesst|offnet|bootet|druckt|verbindet|kocht"
)
_VERBS_FR = (
    r"marche|fonctionne|demarre|s'allume|allume|chauffe|refroidit|essore|vidange|charge|"
    r"repond|seche|lave|aspire|ferme|s'ouvre|ouvre|imprime|connecte|congele"
)

_CUES = re.compile(
    r"\b(?:"
    # en
    r"broken|broke|breaks|faulty|defective|stopped|stops|stuck|dead|leaks?|leaking|leaked|"
    r"dripping|cracked|repair\w*|fix|fixing|fixed|warranty|squeak\w*|won'?t|wouldn'?t|can'?t\s+get|"
    r"no\s+longer|any\s*more|not\s+(?:working|turning|starting|charging|heating|cooling)|"
    r"(?:does|did|do|is|isn'?t)\s*n'?o?t\s+(?:" + _VERBS_EN + r")|"
    r"(?:doesn'?t|didn'?t|don'?t|isn'?t)\s+(?:" + _VERBS_EN + r")|"
    r"error|fault|malfunction\w*|beeps?|beeping|trips?|tripping|overheat\w*|smok\w+|"
    r"sparks?|sparking|rattl\w+|grinding|burning|flicker\w*|"
    # de
    r"kaputt\w*|defekt\w*|repar\w+|nichts?\s+mehr|garantie\w*|verliert|verbrannt|kein\w*\s+\w+\s+mehr|geht\s+nicht|"
    r"(?:" + _VERBS_DE + r")\s+(?:\w+\s+)?nicht|streikt|ausgefallen|fallt\s+aus|"
    r"undicht|tropft|leckt|lauft\s+aus|fehler\w*|piept|blinkt|brummt|qualmt|raucht|"
    r"bleibt\s+stehen|hangt|spinnt|"
    # fr
    r"panne|en\s+rade|casse\w*|repar\w+|depann\w+|hs|defectu\w+|fuit|fuite|"
    r"ne\s+\S+\s+plus|n'\S+\s+plus|plus\s+du\s+tout|"
    r"(?:ne|n')\s*(?:" + _VERBS_FR + r")\s+(?:pas|plus)|"
    r"grince\w*|brule|erreur|bloque\w*|bip\w*|surchauffe|s'arrete|fume|grille"
    r")\b"
)


def fold(text: str) -> str:
    """Lower case, accents stripped, curly apostrophes made straight."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def has_trouble(text: str) -> bool:
    """Whether ``text`` says that something is broken or needs fixing (en/de/fr)."""
    return _CUES.search(fold(text)) is not None
