"""The decision path after the user is read, one module per stage, in the order they run:

- :mod:`recommender.decision.case` -- the per-decision data (:class:`Decision`), the one
  object every stage reads;
- :mod:`recommender.decision.rank` -- retrieve, filter and score the candidates (arrays);
- :mod:`recommender.decision.arbiter` -- arbitrate them, and admit them under the contact policy
  (:mod:`recommender.decision.admit`);
- :mod:`recommender.decision.write` -- everything the decision writes, assembled in one
  place and sent in one round trip;
- :mod:`recommender.decision.answer` -- the answer: actions, reasons, intent, clarify.

:mod:`recommender.pipeline` runs them top to bottom.
"""
