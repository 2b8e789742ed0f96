"""PTI010: a statement grants an action without a condition the documented minimum requires for it.

iam:PassRole's iam:PassedToService is PTI005's.
"""

from __future__ import annotations

from . import Context, Rule, make

RULE = Rule(
    id="PTI010",
    name="required-condition-missing",
    severity="medium",
    inspects="conditions of Allow statements, per action of the documented minimum",
    description="Documented conditions (e.g. cloudwatch:namespace on PutMetricData) must be carried.",
)


def _carries(statement, wanted) -> bool:
    return any(
        c.test.lower() == wanted.test.lower()
        and c.variable.lower() == wanted.variable.lower()
        and c.values
        and set(c.values) <= set(wanted.values)
        for c in statement.conditions
    )


def check(context: Context):
    for role, policy, statement, action, entry in context.documented_grants():
        if action.lower() == "iam:passrole":
            continue
        for wanted in entry.conditions:
            if not _carries(statement, wanted):
                yield make(
                    RULE, role, statement,
                    f"{action} lacks the condition {wanted.test} {wanted.variable} in {list(wanted.values)}",
                    policy.source,
                )
