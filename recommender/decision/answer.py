"""Answer: the shown actions with their reasons, the intent, the clarifying question.

The models are built without validation (:func:`construct`, as ``model_construct`` does)
from values already of their field types
(floats rounded here, strings and lists from the catalog and the reasons): nothing of a
request is in them unchecked, and an answer is not validated twice on its way out.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from intent.resolve import IntentDecision, clarify_question, option_label
from recommender.decision.arbiter import Picked, Shown
from recommender.decision.case import Decision
from recommender.ranking.priority import TERMS
from recommender.ranking.terms import Scored
from recommender.reasons.explain import Reason, ReasonContext, explored, reason_context, reasons
from recommender.schemas import (
    ActionOut,
    ArbitrationOut,
    Clarify,
    ClarifyOption,
    IntentOut,
    ReasonOut,
    RecommendResponse,
)

M = TypeVar("M", bound=BaseModel)
_IMMUTABLE = (type(None), bool, int, float, str, tuple, frozenset)
_REQUIRED = object()


class _Fields:
    """A model's fields in order with their immutable defaults (a required field, or one
    whose default is mutable, has none), as :func:`construct` reads them."""

    __slots__ = ("defaults", "required")

    def __init__(self, cls: type[BaseModel]) -> None:
        assert not cls.__pydantic_post_init__ and not cls.__private_attributes__
        defaults: dict[str, Any] = {}
        required = []
        for name, info in cls.model_fields.items():
            default = (
                _REQUIRED if info.is_required() else info.get_default(call_default_factory=True)
            )
            if not isinstance(default, _IMMUTABLE):
                default = _REQUIRED
            if default is _REQUIRED:
                required.append(name)
            defaults[name] = default
        #: every field, in the model's order (required ones with a placeholder)
        self.defaults = defaults
        #: the fields ``values`` must give
        self.required = frozenset(required)


#: per model, its fields
_FIELDS: dict[type[BaseModel], _Fields] = {}
_set = object.__setattr__


def construct(cls: type[M], values: dict[str, Any]) -> M:
    """``cls.model_construct(**values)``, for a model without private attributes or
    post-init, at a fraction of its cost (it walks every field's info in Python; an
    answer builds a few dozen models). The fields keep the model's order (the serializer
    writes them in that order); a field that is required or whose default is mutable must
    be in ``values``, and ``values`` holds fields only."""
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = _Fields(cls)
    if not fields.required <= values.keys():
        missing = sorted(fields.required - values.keys())
        raise TypeError(f"{cls.__name__}: {missing} must be given")
    state = fields.defaults.copy()  # the model's order, whatever the order of ``values``
    state.update(values)
    if len(state) != len(fields.defaults):
        raise TypeError(
            f"{cls.__name__}: not fields: {sorted(values.keys() - fields.defaults.keys())}"
        )
    model = cls.__new__(cls)
    _set(model, "__dict__", state)
    _set(model, "__pydantic_fields_set__", set(values))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


def actions(
    d: Decision, picked: Picked | None, top: list[Scored], journey_ttl_s: float
) -> list[ActionOut]:
    """The shown actions in display order: the arbitration's, else ``top`` (the first
    ``limit`` by score)."""
    req = d.req
    rctx = reason_context(
        req, d.user.journey, d.intent, d.state.taxonomy.intents, d.now, journey_ttl_s
    )
    if picked is None:
        return [action_out(s, d, rctx) for s in top]
    return [action_out(s.item.scored, d, rctx, s) for s in picked.shown]


def action_out(
    s: Scored, d: Decision, rctx: ReasonContext, shown: Shown | None = None
) -> ActionOut:
    """One action with its reasons (and, when arbitrated, its arbitration fields)."""
    why: list[Reason] = (
        [explored(rctx)] if shown is not None and shown.explored else reasons(s, d.ctx, rctx)
    )
    action, explain = s.action, d.req.explain
    fields: dict[str, Any] = {
        "id": action.id,
        "kind": action.kind,
        "title": action.title_in(d.req.context.language),
        "category": action.category,
        "value": float(action.value),
        "score": round(s.score, 4),
        "reasons": [r.text for r in why],
        "why": [_reason_out(r) for r in why],
        "explanation": (
            {
                name: {"term": round(t, 4), "contribution": round(s.contributions[name], 4)}
                for name, t in s.terms.items()
            }
            if explain
            else None
        ),
    }
    if shown is not None:
        item = shown.item
        fields["priority"] = item.priority
        fields["explored"] = shown.explored
        fields["probability"] = shown.probability
        fields["confidence"] = shown.confidence
        if explain:
            fields["arbitration"] = ArbitrationOut.model_construct(
                terms={name: item.terms[name] for name in TERMS}, priority=item.priority
            )
    return construct(ActionOut, fields)


def _reason_out(r: Reason) -> ReasonOut:
    return construct(
        ReasonOut,
        {
            "code": r.code,
            "text": r.text,
            "term": r.term,
            "intent": r.intent,
            "matched": list(r.matched),
            "item": r.item,
        },
    )


def response(d: Decision, shown: list[ActionOut]) -> RecommendResponse:
    req, state, intent = d.req, d.state, d.intent
    language = req.context.language
    return RecommendResponse(
        request_id=d.request_id,
        user_id=req.user_id,
        intent=intent_out(intent, language),
        out_of_scope=intent.out_of_scope,
        fallback=d.fallback,
        clarify=clarify_out(intent, language),
        actions=shown,
        cold_start=d.user.is_cold,
        degraded=bool(d.degraded),
        degraded_reasons=d.degraded,
        model_version=state.model_version,
        catalog_version=state.catalog.version,
        experiment=d.treatment.experiment,
        debug=d.debug if req.debug else None,
    )


def intent_out(decision: IntentDecision, language: str) -> IntentOut | None:
    if decision.intent is None:
        return None
    return IntentOut(
        name=decision.intent.name,
        label=decision.intent.label_in(language),
        confidence=round(decision.confidence, 4),
        source=decision.source or "model",  # type: ignore[arg-type]
    )


def clarify_out(decision: IntentDecision, language: str) -> Clarify | None:
    if not decision.clarify_options:
        return None
    return Clarify(
        question=clarify_question(decision.clarify_options, language),
        options=[
            ClarifyOption(intent=i.name, label=option_label(i, language))
            for i in decision.clarify_options
        ],
    )
