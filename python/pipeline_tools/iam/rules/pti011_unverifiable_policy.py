"""PTI011: a policy attached to a role whose content cannot be read (managed policy ARN, expression, unknown)."""

from __future__ import annotations

from . import Context, Rule, make

RULE = Rule(
    id="PTI011",
    name="unverifiable-policy",
    severity="medium",
    inspects="policy attachments whose document is not in the stack",
    description="What cannot be read cannot be proven minimal: attach policies the stack defines.",
)


def check(context: Context):
    for role in context.stack.roles:
        for item in role.unverifiable:
            yield make(RULE, role, None, f"cannot read the policy {item}", item.split(":")[0])
