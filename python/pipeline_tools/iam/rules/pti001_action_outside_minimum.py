"""PTI001: an Allow grants an action that the documented minimum does not list for that role."""

from __future__ import annotations

from . import Context, Rule, literal_actions, make

RULE = Rule(
    id="PTI001",
    name="action-outside-minimum",
    severity="high",
    inspects="Allow statements of the role's identity policies",
    description="Every granted action must be in the documented minimum set for the role.",
)


def check(context: Context):
    for role in context.stack.roles:
        minimum = context.role_minimum(role)
        if minimum is None:
            continue
        allowed = {e.action.lower() for e in minimum.active(context.stack.features)}
        for policy, statement in context.allow_statements(role):
            for action in literal_actions(statement):
                if action.lower() not in allowed:
                    yield make(
                        RULE, role, statement,
                        f"{action} is granted but is not in the documented minimum for the {minimum.title}",
                        policy.source,
                    )
