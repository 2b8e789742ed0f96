"""PTI014: a KMS key that encrypts log groups, declared in the stack, whose key policy does not let
CloudWatch Logs use it, or does not let the account's principals use it through CloudWatch Logs.

CloudWatch Logs needs a key policy statement for ``logs.<region>.amazonaws.com`` with the
``kms:EncryptionContext:aws:logs:arn`` condition; without it, creating (or associating) the log
group fails (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
And CloudWatch Logs calls KMS with its caller's permissions ("CloudWatch Logs now supports
kms:ViaService which allows logs to make AWS KMS calls on your behalf. You should add this to your
roles which call CloudWatch Logs in either your Key Policy or in IAM", same page): a key policy that
lets the account's principals use the key only through other services (``kms:ViaService`` s3, lambda)
refuses the deployer creating the groups (kms:Encrypt), a role writing them (kms:GenerateDataKey,
kms:Decrypt) and whoever reads them (kms:Decrypt).
A key given by ARN only cannot be read here: docs/kms-key-policy.md has the statements to paste.
"""

from __future__ import annotations

from ..matching import action_matches
from . import Context, Rule, make

RULE = Rule(
    id="PTI014",
    name="log-key-policy-without-logs",
    severity="high",
    inspects="key policies of aws_kms_key resources that encrypt the stack's log groups",
    description="CloudWatch Logs must be allowed to use the key, with the aws:logs:arn encryption context condition, "
    "and the account's principals must be allowed to use it through CloudWatch Logs.",
)

CONTEXT_KEY = "kms:encryptioncontext:aws:logs:arn"
NEEDED = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:DescribeKey")
CALLERS_NEED = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")
FIX = "add the CloudWatch Logs statement of docs/kms-key-policy.md"
CALLERS_FIX = "add the UseThroughCloudWatchLogsForThePipelineLogGroups statement of docs/kms-key-policy.md"


def _covers(statement, actions) -> bool:
    return all(any(action_matches(granted, action) for granted in statement.actions) for action in actions)


def _lets_logs_in(statement) -> bool:
    logs = any(kind == "Service" and ident.startswith("logs.") for kind, ident in statement.principals)
    conditioned = any(c.variable.lower() == CONTEXT_KEY for c in statement.conditions)
    return statement.allows and logs and conditioned and _covers(statement, NEEDED)


def _lets_callers_through_logs(statement) -> bool:
    """An Allow for principals of an account (their IAM policies then decide) covering what
    CloudWatch Logs asks for on their behalf, and, if it names the services to go through
    (kms:ViaService), CloudWatch Logs among them."""
    accounts = any(kind == "AWS" for kind, _ in statement.principals)
    via = [c for c in statement.conditions if c.variable.lower() == "kms:viaservice"]
    through_logs = not via or any(value.startswith("logs.") for c in via for value in c.values)
    return statement.allows and accounts and through_logs and _covers(statement, CALLERS_NEED)


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
            continue
        if not any(_lets_logs_in(s) for s in key.policy.statements):
            yield make(
                RULE, key.address, None,
                f"{key.address} encrypts {groups} but its key policy has no statement letting logs.<region>.amazonaws.com "
                f"use it under kms:EncryptionContext:aws:logs:arn (creating the log groups would fail): {FIX}",
                key.policy.source,
            )
        if not any(_lets_callers_through_logs(s) for s in key.policy.statements):
            yield make(
                RULE, key.address, None,
                f"{key.address} encrypts {groups} but its key policy lets no principal of the account use it through "
                "CloudWatch Logs (kms:ViaService logs.<region>.<dns_suffix>), which calls KMS with its caller's permissions: "
                f"creating the log groups (kms:Encrypt), writing and reading their events would be refused: {CALLERS_FIX}",
                key.policy.source,
            )
