"""Learning that cannot collapse (pure units): the propensity lift, the fatigue term and
fatigue accounting. The closed loop through the API is tests/test_simulation.py."""

from __future__ import annotations

import itertools
import math

from context.decay import EPOCH, Decay
from context.events import EventPlanner
from domain.customer import RequestContext
from domain.events import Event
from recommender.learning.propensity import PropensityModel
from recommender.learning.propensity_store import LIFT_RANGE, LIFT_STRENGTH, Propensities
from recommender.ranking.terms import fatigue_term

DAY = 86_400.0
BUCKET = "intent=none|channel=web|segment=none"


def test_impressions_without_any_success_never_move_the_lift() -> None:
    model = PropensityModel()
    model.update(BUCKET, "shown-a-lot", impressions=5_000)
    model.update("intent=buy|channel=web|segment=vip", "shown-a-lot", impressions=700)
    model.update(BUCKET, "shown-once", impressions=1)
    for action in ("shown-a-lot", "shown-once", "never-shown"):
        assert model.lift(BUCKET, action, strength=LIFT_STRENGTH) == 1.0
    props = Propensities(model=model)
    assert props.multiplier(BUCKET, "shown-a-lot") == props.multiplier(BUCKET, "never-shown")


def test_lift_is_relative_to_the_average_action_and_shrunk() -> None:
    model = PropensityModel()
    model.update(BUCKET, "good", impressions=1_000, successes=100)  # 10 %
    model.update(BUCKET, "poor", impressions=1_000, successes=10)  # 1 %
    model.update(BUCKET, "few", impressions=3, successes=0)
    lift = {a: model.lift(BUCKET, a, strength=LIFT_STRENGTH) for a in ("good", "poor", "few")}
    assert lift["good"] > 1.0 > lift["poor"]
    # a little-shown action stays near the average: 3 impressions are ~0.2 expected successes
    assert 0.95 < lift["few"] < 1.0
    # an unshown action gets the average, not an advantage over a well-tried average one
    assert model.lift(BUCKET, "never", strength=LIFT_STRENGTH) == 1.0


def test_multiplier_is_bounded() -> None:
    model = PropensityModel()
    model.update(BUCKET, "star", impressions=10_000, successes=9_000)
    for i in range(20):
        model.update(BUCKET, f"dud{i}", impressions=10_000, successes=0)
    props = Propensities(model=model)
    assert model.lift(BUCKET, "star", strength=LIFT_STRENGTH) > LIFT_RANGE[1]
    assert props.multiplier(BUCKET, "star") == LIFT_RANGE[1]
    assert props.multiplier(BUCKET, "dud0") == LIFT_RANGE[0]


def test_fatigue_keeps_growing_past_three_impressions() -> None:
    values = [fatigue_term(n) for n in (0, 1, 2, 3, 6, 12)]
    assert values[0] == 0.0
    assert all(b < a for a, b in itertools.pairwise(values))
    assert fatigue_term(6) < fatigue_term(3) < -1.0
    assert math.isclose(fatigue_term(2.5), 2.5 * fatigue_term(1))


def test_client_impression_events_add_no_fatigue_server_decisions_do() -> None:
    planner = EventPlanner(affinity=Decay(14 * DAY), fatigue=Decay(DAY), journey_ttl_s=1800)
    event = Event(event_id="e1", user_id="u", type="impression", item_id="a1")
    ops = planner.plan(event, now=EPOCH + DAY, action=None)
    assert not [op for op in ops if op[1] == "impressions"]
    served = planner.decision_ops(
        ts=EPOCH + DAY,
        context=RequestContext(),
        session_id=None,
        query=None,
        intent=None,
        shown=["a1", "a2"],
    )
    counted = [op[2] for op in served if op[0] == "hincrbyfloat" and op[1] == "impressions"]
    assert counted == ["a1", "a2"]
    # the hash is bounded: trimmed to the most fatigued actions, and it expires
    assert ("hcap", "impressions", "200", "50") in served
    assert any(op[:2] == ("expire", "impressions") for op in served)
