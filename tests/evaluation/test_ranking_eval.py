"""``waypoint evaluate ranking``: metrics by hand, the split, and a generated log end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from demo.events import generate_events
from demo.seed import data_dir
from evaluation.ranking import RankingConfig, time_split
from evaluation.ranking_report import hit_rate_at_k, ndcg_at_k, rank_of, top_k
from recommender.interactions import Interaction, LogFormatError, read_interactions
from recommender.ranker_artifact import load_ranker
from waypoint.cli import main


def test_metrics_by_hand() -> None:
    ranks = [1, 2, 11, math.inf]
    assert hit_rate_at_k(ranks, 10) == 0.5
    # (1/log2(2) + 1/log2(3) + 0 + 0) / 4
    assert ndcg_at_k(ranks, 10) == pytest.approx((1 + 1 / math.log2(3)) / 4)
    assert ndcg_at_k([3], 10) == pytest.approx(0.5)  # 1/log2(4)
    assert hit_rate_at_k([3], 2) == 0.0 and ndcg_at_k([3], 2) == 0.0
    assert hit_rate_at_k([], 10) == 0.0 and ndcg_at_k([], 10) == 0.0


def test_ranking_helpers() -> None:
    assert top_k({"a": 1.0, "b": 3.0, "c": 3.0}, ["a", "b", "c", "d"], 3) == ["b", "c", "a"]
    assert rank_of("c", ["b", "c"]) == 2.0 and rank_of("z", ["b"]) == math.inf


def test_time_split_holds_out_each_users_first_new_choice() -> None:
    log = [
        Interaction(float(t), u, i, k)
        for t, u, i, k in [
            (1, "u1", "a", "view"),
            (2, "u1", "b", "purchase"),
            (3, "u2", "a", "click"),
            (4, "u3", "c", "decline"),  # no positive training event: not a test user
            (5, "u1", "a", "purchase"),  # after the cut, but already touched
            (6, "u1", "c", "add_to_cart"),  # u1's held-out item
            (7, "u2", "d", "view"),  # a view is not a target
            (8, "u1", "d", "purchase"),  # only the first new choice counts
            (9, "u3", "d", "purchase"),
            (10, "u2", "c", "purchase"),  # u2's held-out item
        ]
    ]
    split = time_split(log, RankingConfig(test_fraction=0.6))
    assert split.cut == pytest.approx(4.6)
    assert len(split.train) == 4
    assert split.test == {"u1": "c", "u2": "c"}
    assert split.items == ["a", "b", "c", "d"]


def test_reader_reports_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(
        '{"user_id": "u", "type": "search", "query": "x", "ts": 1}\n'
        '{"user_id": "u", "type": "view", "item_id": "a", "ts": "2026-01-01T00:00:00Z"}\n'
        '{"user_id": "u", "type": "view", "item_id": "a"}\n'
    )
    with pytest.raises(LogFormatError, match=r"log.jsonl:3: missing ts"):
        read_interactions(path)


def test_generated_log_runs_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "events.jsonl"
    assert main(["demo", "events", "--users", "150", "--out", str(out), "--seed", "3"]) == 0
    lines = out.read_text().splitlines()
    first = json.loads(lines[0])
    assert set(first) >= {"event_id", "user_id", "type", "item_id", "ts"}
    assert {json.loads(x)["type"] for x in lines} >= {"view", "click", "add_to_cart", "purchase"}

    capsys.readouterr()
    assert main(["evaluate", "ranking", "--events", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["n_test_users"] > 10 and report["k"] == 10
    assert set(report["models"]) == {"popularity", "waypoint", "als", "waypoint+als"}
    for m in report["models"].values():
        assert 0 <= m["ndcg@10"] <= m["hr@10"] <= 1

    model_dir = tmp_path / "ranker"
    assert (
        main(
            [
                "ranker",
                "train",
                "--events",
                str(out),
                "--out",
                str(model_dir),
                "--factors",
                "8",
                "--iterations",
                "5",
            ]
        )
        == 0
    )
    model, meta = load_ranker(model_dir)
    assert meta.n_factors == 8 and "validation_hr@10" in meta.metrics
    assert meta.n_items == len(model.item_ids_ or [])


def test_generator_is_deterministic() -> None:
    from recommender.catalog import load_actions_file

    actions = load_actions_file(data_dir() / "catalog.jsonl")
    a = generate_events(actions, 20, seed=5)
    assert a == generate_events(actions, 20, seed=5)
    assert a != generate_events(actions, 20, seed=6)
