"""PTI013: a trust policy conditions on a key the service is not documented to send when it assumes the role.

IAM evaluates a condition on a key missing from the request as not met, so such a condition denies
sts:AssumeRole and the role becomes unusable (the Lambda execution role: see iam_minimum.toml).
"""

from __future__ import annotations

from . import Context, Rule, make

RULE = Rule(
    id="PTI013",
    name="trust-condition-unsent",
    severity="high",
    inspects="condition keys in Allow statements of trust policies",
    description="Only keys the assuming service sends may be required; others make the role unusable.",
)


def check(context: Context):
    for role in context.stack.roles:
        minimum = context.role_minimum(role)
        if minimum is None or role.trust is None or not minimum.trust_conditions_unsent:
            continue
        unsent = {key.lower() for key in minimum.trust_conditions_unsent}
        for statement in role.trust.statements:
            if not statement.allows:
                continue
            for condition in statement.conditions:
                if condition.variable.lower() in unsent and not condition.test.lower().endswith("ifexists"):
                    yield make(
                        RULE, role, statement,
                        f"the trust policy requires {condition.variable}, which {minimum.service} is not documented to send "
                        f"when it assumes the role (AssumeRole would be denied); source: {minimum.trust_source}",
                        role.trust.source,
                    )
