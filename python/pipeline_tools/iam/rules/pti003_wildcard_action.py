"""PTI003: an action with a wildcard (``s3:*``, ``sagemaker:Describe*``, ``*``) in an Allow."""

from __future__ import annotations

from ..matching import has_wildcard
from . import Context, Rule, make

RULE = Rule(
    id="PTI003",
    name="wildcard-action",
    severity="high",
    inspects="Action lists of Allow statements (identity and trust policies)",
    description="Wildcards grant every present and future action that matches; list actions explicitly.",
)


def check(context: Context):
    for role in context.stack.roles:
        policies = list(role.policies) + ([role.trust] if role.trust else [])
        for policy in policies:
            for statement in policy.statements:
                if statement.allows:
                    for action in statement.actions:
                        if has_wildcard(action):
                            yield make(RULE, role, statement, f"action {action!r} contains a wildcard", policy.source)
