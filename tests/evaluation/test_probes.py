"""The probe suite: unseen queries, well formed, and answered with true reasons.

The suite's figures (intent accuracy, context violations, clarify and out-of-scope rates,
sub-category hit@3, stability) are reported, not asserted here; what must hold now is
that no reason claims what its evidence does not show.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from demo.seed import data_dir
from evaluation.probe_run import World, run_suite
from evaluation.probes import (
    OUT_OF_SCOPE_KINDS,
    Probe,
    false_claims,
    load_probes,
    load_utterances,
    training_overlap,
)
from service.settings import Settings
from tests.conftest import app_client
from waypoint.cli.evaluate_probes import format_report

PROBES = load_probes()
WORLD = World.demo()


def test_no_probe_is_a_training_utterance() -> None:
    utterances = load_utterances(data_dir() / "utterances.jsonl")
    assert training_overlap(PROBES, utterances) == []
    # the check itself catches a copy, whatever its case, accents or punctuation
    copy = PROBES[0].model_copy(update={"query": utterances[0].upper() + " !"})
    assert training_overlap([copy], utterances) == [copy.query]


def test_probe_file_covers_every_kind_and_language() -> None:
    assert len(PROBES) >= 300
    assert len({p.id for p in PROBES}) == len(PROBES)
    kinds = Counter(p.kind for p in PROBES)
    assert set(kinds) == {
        "paraphrase",
        "typo",
        "title",
        "brand",
        "mixed",
        "negation",
        "nonsense",
        "oos",
        "ambiguous",
    }
    assert {p.language for p in PROBES} == {"en", "de", "fr"}
    for p in PROBES:
        for name in p.intents:
            intent = WORLD.taxonomy.get(name)
            assert intent is not None, p.id
            assert set(intent.allowed_categories) <= set(p.allowed), p.id
        assert bool(p.intents) != (p.kind in OUT_OF_SCOPE_KINDS), p.id
        if p.sub:
            assert any(p.sub == a or p.sub.startswith(a + "/") for a in p.allowed), p.id
    main = [p for p in PROBES if p.split != "fresh"]
    dev = sum(p.split == "dev" for p in main)
    assert 0.25 <= dev / len(main) <= 0.4


def test_fresh_split_is_its_own_file_and_unseen() -> None:
    """The fresh split: at least 120 probes of every kind and language, in their own file,
    none of them a training utterance or a probe of the dev/holdout file."""
    fresh = [p for p in PROBES if p.split == "fresh"]
    assert len(fresh) >= 120
    assert {p.kind for p in fresh} == {p.kind for p in PROBES}
    assert {p.language for p in fresh} == {"en", "de", "fr"}
    assert all(p.id.startswith("fresh-") for p in fresh)
    assert load_probes(fresh=None, split="fresh") == []
    main = [p.query for p in PROBES if p.split != "fresh"]
    assert training_overlap(fresh, main) == []


def _probe(**kw: Any) -> Probe:
    base = {
        "id": "t",
        "query": "a present, anything but a phone",
        "language": "en",
        "kind": "negation",
        "intents": ["gift_ideas"],
        "allowed": ["electronics"],
        "negated": ["phone"],
        "split": "dev",
    }
    return Probe.model_validate({**base, **kw})


def test_false_reasons_are_caught() -> None:
    phone = {"id": "el-0001", "kind": "product", "category": "electronics/phones"}
    no_intent = {
        "intent": None,
        "clarify": None,
        "actions": [
            {
                **phone,
                "reasons": [],
                "why": [
                    {"code": "intent", "text": "x", "intent": "buy_electronics"},
                    {"code": "query_match", "text": "x", "matched": ["phone"]},
                    {"code": "page_now", "text": "x"},
                ],
            }
        ],
    }
    bad = false_claims(no_intent, _probe(), WORLD.taxonomy, WORLD.item_tokens)
    assert [b["code"] for b in bad] == ["intent", "query_match", "page_now"]
    # a clarify option that does not admit the action is false, the one that does is not
    asked = {
        "intent": None,
        "clarify": {"options": [{"intent": "buy_book"}, {"intent": "mobile_plan"}]},
        "actions": [
            {
                **phone,
                "why": [
                    {"code": "clarify_option", "text": "x", "intent": "buy_book"},
                    {"code": "clarify_option", "text": "x", "intent": "mobile_plan"},
                ],
            }
        ],
    }
    bad = false_claims(asked, _probe(), WORLD.taxonomy, WORLD.item_tokens)
    assert [b["text"] for b in bad] == ["x"] and len(bad) == 1
    # an older server's English text is judged too
    legacy = {
        "intent": None,
        "clarify": None,
        "actions": [{**phone, "reasons": ['matches what you asked for: "anything but a phone"']}],
    }
    assert false_claims(legacy, _probe(), WORLD.taxonomy, WORLD.item_tokens)


async def test_probe_suite_gives_no_false_reason(settings: Settings, redis: Any) -> None:
    """The dev split for fresh and history users, with a short burst (a quick run)."""
    dev = [p for p in PROBES if p.split == "dev"]
    async with app_client(settings) as client:
        report = await run_suite(client, dev, world=WORLD, burst=150, details="dev")
    for run in ("fresh", "history"):
        figures = report[run]
        assert figures["probes"] == len(dev)
        assert figures["false_reasons"] == 0, figures["false_reason_examples"]
        for name in ("intent_accuracy", "context_violation_rate", "sub_hit_at_3"):
            assert 0.0 <= figures[name] <= 1.0
    assert 0.0 <= report["fresh"]["stability_top3"] <= 1.0
    # --misses lists each missed probe in the text report too, not only in --json
    text = format_report(report)
    assert sum(line.startswith("miss ") for line in text.splitlines()) == len(report["misses"])
