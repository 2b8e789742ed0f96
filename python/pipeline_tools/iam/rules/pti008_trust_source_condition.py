"""PTI008: a trust statement without ``aws:SourceAccount``/``aws:SourceArn`` (confused-deputy protection)."""

from __future__ import annotations

from . import Context, Rule, make

RULE = Rule(
    id="PTI008",
    name="trust-without-source-condition",
    severity="medium",
    inspects="Allow statements of trust policies of identified roles",
    description="A service may assume the role only on behalf of this account (IAM confused-deputy guidance).",
)


def check(context: Context):
    for role in context.stack.roles:
        minimum = context.role_minimum(role)
        if minimum is None or role.trust is None:
            continue
        wanted = {v.lower() for v in minimum.trust_conditions_any}
        if not wanted:  # the minimum records why this service gets no source condition (PTI013)
            continue
        for statement in role.trust.statements:
            if statement.allows and not any(c.variable.lower() in wanted for c in statement.conditions):
                yield make(
                    RULE, role, statement,
                    f"the trust policy has none of {list(minimum.trust_conditions_any)}; source: {minimum.trust_source}",
                    role.trust.source,
                )
