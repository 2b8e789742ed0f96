"""PTI006: an Allow with ``NotAction`` or ``NotResource`` (grants everything except a list)."""

from __future__ import annotations

from . import Context, Rule, make

RULE = Rule(
    id="PTI006",
    name="allow-with-not-action-or-not-resource",
    severity="high",
    inspects="Allow statements (identity and trust policies)",
    description="Allow + NotAction/NotResource grants everything not listed, including future actions.",
)


def check(context: Context):
    for role in context.stack.roles:
        for policy in list(role.policies) + ([role.trust] if role.trust else []):
            for statement in policy.statements:
                if not statement.allows:
                    continue
                if statement.not_actions:
                    yield make(RULE, role, statement, f"Allow with NotAction {list(statement.not_actions)}", policy.source)
                if statement.not_resources:
                    yield make(RULE, role, statement, f"Allow with NotResource {list(statement.not_resources)}", policy.source)
