"""PTI010: a statement grants an action without a condition the documented minimum requires for it.

Where the minimum documents several forms of one grant (e.g. a KMS key through S3, and through
CloudWatch Logs for one log group: ``Entry.condition_sets``), the statement must carry every
condition of one of them; the finding names what the nearest form lacks.
iam:PassRole's iam:PassedToService is PTI005's.
"""

from __future__ import annotations

from . import Context, Rule, carries, make

RULE = Rule(
    id="PTI010",
    name="required-condition-missing",
    severity="medium",
    inspects="conditions of Allow statements, per action of the documented minimum",
    description="Documented conditions (e.g. cloudwatch:namespace on PutMetricData) must be carried.",
)


def check(context: Context):
    for role, policy, statement, action, entry in context.documented_grants():
        if action.lower() == "iam:passrole":
            continue
        lacking = min(
            ([wanted for wanted in conditions if not carries(statement, wanted)] for conditions in entry.condition_sets),
            key=len,
        )
        for wanted in lacking:
            if not carries(statement, wanted):
                yield make(
                    RULE, role, statement,
                    f"{action} lacks the condition {wanted.test} {wanted.variable} in {list(wanted.values)}",
                    policy.source,
                )
