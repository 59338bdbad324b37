"""Candidate retrieval: a bounded set of actions worth ranking, from several sources."""

from recommender.retrieval.retrieve import Limits, RetrievalQuery, Retrieved, retrieve

__all__ = ["Limits", "RetrievalQuery", "Retrieved", "retrieve"]
