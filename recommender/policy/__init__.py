"""The contact policy: how often a customer may be shown what, enforced atomically.

Three kinds of rule, configured per channel (``/v1/policies/contact``):

* **caps** -- at most ``max`` impressions per user of one *group* of actions in the
  channel, over a sliding window (``window_s``) or within one session
  (``per_session``: e.g. "at most 1 agent offer per call"). A group is an action, a
  category prefix or a kind: ``{"scope": "kind", "match": "retention", "max": 3,
  "window_s": 604800}`` caps all retention offers together; without ``match`` the cap
  holds for each action / leaf category / kind separately. A catalog entry's own
  ``Action.cap`` is enforced as well, across all channels.
* **suppression** -- after ``after`` declines or dismissals of an action within
  ``within_s`` (counted in every channel: the customer said no), the action is not
  shown again until ``cooldown_s`` after the latest of them.
* **snooze** -- a ``maybe_later`` hides the action for ``snooze_s``.

Enforcement happens in one Lua script on the user's Redis slot (every key is
hash-tagged ``{u:<id>}``), at decision time: it walks the ranked candidates in order,
checks each against the caps (counting the impressions already reserved, including the
ones just admitted to this very answer), the suppression and the snooze state, and
reserves a slot (``ZADD``) only for the actions it admits, until the answer is full.
Because a script runs atomically, two concurrent requests for the same user can never
both take the last slot of a cap; the backfill from the next-ranked candidates happens
inside the same script, so it needs no retries. Exploration (see
:mod:`recommender.explore`) is decided in the same script so that an explored action
has passed the policy too.

The package: :mod:`.models` (the document), :mod:`.store` (it in Redis),
:mod:`.enforcer` (admission, running ``admit.lua``).

Storage, per user (see :class:`domain.keys.UserKeys`):

* ``contact`` -- sorted set of reserved impressions, score = time, member =
  ``ts|request_id|position|channel|session|kind|category|action``. Only actions some
  rule could count are recorded; entries older than the longest window are pruned.
* ``feedback`` -- hash written by the event planner: ``n:<event_id>`` ->
  ``ts|action`` for declines and dismissals, ``s:<action>`` -> ``ts`` for maybe-later.
"""

from recommender.policy.enforcer import (
    BACKFILL_MARGIN,
    MAX_CANDIDATES,
    Admission,
    Candidate,
    ContactEnforcer,
    unenforced,
)
from recommender.policy.models import (
    DEFAULT_POLICY,
    ChannelPolicy,
    ContactCap,
    ContactPolicy,
    Suppression,
    counted,
)
from recommender.policy.store import PolicyStore

__all__ = [
    "BACKFILL_MARGIN",
    "DEFAULT_POLICY",
    "MAX_CANDIDATES",
    "Admission",
    "Candidate",
    "ChannelPolicy",
    "ContactCap",
    "ContactEnforcer",
    "ContactPolicy",
    "PolicyStore",
    "Suppression",
    "counted",
    "unenforced",
]
