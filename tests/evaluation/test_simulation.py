"""Closed-loop simulation through the real API and Redis (evaluation/simulation.py): with
customers whose interest fades, posting clicks and purchases must pay, and without any
feedback answers must not drift."""

from __future__ import annotations

from pathlib import Path

from evaluation.simulation import SimConfig, run_simulation

#: three independent small runs, pooled: one run of 800 decisions swings by several points
#: of reward with the random tastes it draws (seeds 0 / 1 / 2 gave +10 / +31 / +18 %)
SEEDS = (0, 1, 2)


def config(seed: int) -> SimConfig:
    return SimConfig(
        customers=40,
        decisions_per_customer=20,
        seed=seed,
        probes=20,
        arms=("feedback", "impressions"),
    )


async def test_feedback_pays_and_answers_without_feedback_are_stable(
    redis_url: str, demo_model_dir: Path
) -> None:
    earned = {"feedback": 0.0, "impressions": 0.0}
    for seed in SEEDS:
        feedback, impressions = await run_simulation(config(seed), redis_url, demo_model_dir)
        assert feedback.decisions == impressions.decisions == 800
        earned["feedback"] += feedback.reward_per_decision
        earned["impressions"] += impressions.reward_per_decision
        # impression events alone move nothing: the same probe queries from fresh users
        # get the same top 3 after the whole run
        assert impressions.stability_top3 is not None
        assert impressions.stability_top3 >= 0.8
    # the same customers and reactions; only what is posted back differs: the issue's
    # target, feedback earns at least 10 % more true reward
    assert earned["feedback"] >= 1.10 * earned["impressions"], earned
