"""Evaluation of eligibility rules (``domain.actions.Rule``) on profile and context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.actions import Rule

_MISSING = object()


def lookup(facts: Mapping[str, Any], path: str) -> Any:
    """``profile.segments`` -> facts["profile"]["segments"]; missing -> a sentinel."""
    node: Any = facts
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return _MISSING
    return node


def holds(rule: Rule, facts: Mapping[str, Any]) -> bool:
    value = lookup(facts, rule.field)
    if rule.op == "exists":
        return value is not _MISSING and value is not None
    if value is _MISSING or value is None:
        return rule.op in ("ne", "not_in", "not_contains")
    try:
        match rule.op:
            case "eq":
                return bool(value == rule.value)
            case "ne":
                return bool(value != rule.value)
            case "in":
                return value in (rule.value or [])
            case "not_in":
                return value not in (rule.value or [])
            case "contains":
                return rule.value in value
            case "not_contains":
                return rule.value not in value
            case "gte":
                return bool(value >= rule.value)
            case "lte":
                return bool(value <= rule.value)
    except TypeError:
        return False
    return False
