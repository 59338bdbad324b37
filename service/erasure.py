"""Erasing a user everywhere the service keeps something about them.

* the user's own keys (profile, affinities, journey, history, experiment assignments,
  contact and attribution records...), all under the user's hash tag: deleted;
* the decision log and the experiment logs name the user by a random pseudonym stored only
  in the user's ``exp`` hash (:data:`context.store.PSEUDONYM_FIELD`): deleting that hash
  leaves their records without any link back to the user (crypto-shredding), so the logs'
  statistics stay whole and erasure costs no pass over them;
* learned clarify examples hold the user's own words: deleted (one pass over that bounded
  stream).
"""

from __future__ import annotations

from dataclasses import dataclass

from context.store import UserStore
from intent.learned import LearnedExamples


@dataclass(frozen=True)
class Erased:
    user_keys: int
    learned_examples: int


async def erase_user(users: UserStore, learned: LearnedExamples, user_id: str) -> Erased:
    # the texts first: if this fails, the user's keys are still there to retry with
    examples = await learned.forget(user_id)
    keys = await users.erase(user_id)
    return Erased(user_keys=keys, learned_examples=examples)
