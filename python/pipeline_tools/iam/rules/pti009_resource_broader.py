"""PTI009: an action of the minimum granted on a resource broader than its documented patterns.

``"*"`` is left to PTI004 (scopable actions) and PTI005 (PassRole) so that one mistake is one finding.
"""

from __future__ import annotations

from ..loader import UNKNOWN
from ..matching import resource_covers
from . import Context, Rule, make

RULE = Rule(
    id="PTI009",
    name="resource-broader-than-minimum",
    severity="medium",
    inspects="resources of Allow statements, per action of the documented minimum",
    description="A granted resource must fall inside one of the documented patterns for that action.",
)


def check(context: Context):
    for role, policy, statement, action, entry in context.documented_grants():
        for resource in statement.resources:
            if resource == UNKNOWN or (resource == "*" and "*" not in entry.resources):
                continue
            if not any(resource_covers(pattern, resource) for pattern in entry.resources):
                yield make(
                    RULE, role, statement,
                    f"{action} is granted on {resource}, broader than the documented {list(entry.resources)}",
                    policy.source,
                )
