"""PTI016: the stack grants an action that none of the given runs used, and the minimum gives no reason."""

from __future__ import annotations

from ..matching import action_matches
from . import Context, Rule, literal_actions, make

RULE = Rule(
    id="PTI016",
    name="granted-never-used",
    severity="medium",
    inspects="each action the role's Allow statements grant, against the allowed decisions of the runs given with --observed",
    description="A grant no run uses must carry an unused_reason in the documented minimum (e.g. Stop* only on abort); otherwise it is broader than needed.",
)


def check(context: Context):
    if context.stack.observed is None:
        return
    used: dict[str, set[str]] = {}
    for decision in context.stack.observed:
        if decision.get("decision") == "allowed" and decision.get("purpose"):
            used.setdefault(decision["purpose"], set()).add(decision["action"].lower())
    for role in context.stack.roles:
        minimum = context.role_minimum(role)
        if minimum is None:
            continue
        entries = {e.action.lower(): e for e in minimum.active(context.stack.features)}
        reported: set[str] = set()
        for _policy, statement in context.allow_statements(role):
            for action in literal_actions(statement):
                if action.lower() in reported or any(action_matches(action, u) for u in used.get(role.purpose, ())):
                    continue
                entry = entries.get(action.lower())
                if entry is not None and entry.unused_reason:
                    continue
                reported.add(action.lower())
                yield make(RULE, role, statement, f"{action} is granted but no given run used it, and the documented minimum gives no unused_reason for it")
