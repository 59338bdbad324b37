"""Small synthetic intent data (the ``trained`` fixture in conftest is a model trained on it)."""

from __future__ import annotations

import random

from intent.data import LabelledText
from intent.taxonomy import OUT_OF_SCOPE

VOCAB = {
    "weather": ["rain", "sunny", "forecast", "temperature", "umbrella", "snow", "windy"],
    "billing": ["invoice", "payment", "charge", "bill", "refund", "overcharged", "receipt"],
    "delivery": ["package", "shipping", "parcel", "tracking", "courier", "delivered", "arrive"],
    "password": ["password", "login", "locked", "reset", "account", "sign", "credentials"],
}
OOS_VOCAB = ["guitar", "volcano", "poetry", "football", "dinosaur", "galaxy", "recipe", "opera"]
FRAMES = ["can you help with {a} and {b}", "{a} {b} please", "i have a question about {a} {b}"]


def utterance(rng: random.Random, words: list[str]) -> str:
    a, b = rng.sample(words, 2)
    return rng.choice(FRAMES).format(a=a, b=b)


def make_dataset(seed: int = 0, per_intent: int = 40, n_oos: int = 30) -> list[LabelledText]:
    rng = random.Random(seed)
    examples = [
        LabelledText(utterance(rng, words), intent, "en")
        for intent, words in VOCAB.items()
        for _ in range(per_intent)
    ]
    examples += [LabelledText(utterance(rng, OOS_VOCAB), OUT_OF_SCOPE) for _ in range(n_oos)]
    rng.shuffle(examples)
    return examples
