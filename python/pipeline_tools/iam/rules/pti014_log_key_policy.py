"""PTI014: a KMS key that encrypts log groups, declared in the stack, whose key policy does not let
CloudWatch Logs use it.

CloudWatch Logs needs a key policy statement for ``logs.<region>.amazonaws.com`` with the
``kms:EncryptionContext:aws:logs:arn`` condition; without it, creating (or associating) the log
group fails (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
A key given by ARN only cannot be read here: docs/kms-key-policy.md has the statement to paste.
"""

from __future__ import annotations

from ..matching import action_matches
from . import Context, Rule, make

RULE = Rule(
    id="PTI014",
    name="log-key-policy-without-logs",
    severity="high",
    inspects="key policies of aws_kms_key resources that encrypt the stack's log groups",
    description="CloudWatch Logs must be allowed to use the key, with the aws:logs:arn encryption context condition.",
)

CONTEXT_KEY = "kms:encryptioncontext:aws:logs:arn"
NEEDED = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:DescribeKey")
FIX = "add the CloudWatch Logs statement of docs/kms-key-policy.md"


def _lets_logs_in(statement) -> bool:
    logs = any(kind == "Service" and ident.startswith("logs.") for kind, ident in statement.principals)
    conditioned = any(c.variable.lower() == CONTEXT_KEY for c in statement.conditions)
    covers = all(any(action_matches(granted, action) for granted in statement.actions) for action in NEEDED)
    return statement.allows and logs and conditioned and covers


def check(context: Context):
    for key in context.stack.keys:
        if not key.log_groups:
            continue
        groups = ", ".join(key.log_groups)
        if key.policy is None:
            yield make(
                RULE, key.address, None,
                f"{key.address} encrypts {groups} but has no key policy of its own (the default one does not let "
                f"CloudWatch Logs use the key): {FIX}",
                key.address,
            )
        elif not any(_lets_logs_in(s) for s in key.policy.statements):
            yield make(
                RULE, key.address, None,
                f"{key.address} encrypts {groups} but its key policy has no statement letting logs.<region>.amazonaws.com "
                f"use it under kms:EncryptionContext:aws:logs:arn (creating the log groups would fail): {FIX}",
                key.policy.source,
            )
