"""PTI018: a key policy lets the account's principals call ``kms:CreateGrant`` without
``kms:GrantIsForAWSResource = true``.

A grant gives its grantee the key's use with none of the key policy's conditions: a principal whose
IAM policy allows kms:CreateGrant could grant itself (or anyone) Decrypt around statements that allow
data use only through S3, Lambda or CloudWatch Logs. ``kms:GrantIsForAWSResource`` "allows principals
to call CreateGrant, ListGrants, or RevokeGrant only when an AWS service that is integrated with AWS
KMS sends the request on the principal's behalf"
(https://docs.aws.amazon.com/kms/latest/developerguide/grant-authorization.html), which is what a
service such as Lambda needs for a function's environment.
"""

from __future__ import annotations

from ..matching import action_matches
from . import Context, Rule, make

RULE = Rule(
    id="PTI018",
    name="key-grant-not-for-aws-resources",
    severity="high",
    inspects="key policies of aws_kms_key resources the stack declares",
    description="kms:CreateGrant only with kms:GrantIsForAWSResource = true: grants are for AWS services acting for a principal.",
)

FIX = "move kms:CreateGrant to a statement with Bool kms:GrantIsForAWSResource = true (docs/kms-key-policy.md, GrantsForAwsResourcesOnly)"


def _for_aws_resources_only(statement) -> bool:
    return any(
        c.test.lower() == "bool" and c.variable.lower() == "kms:grantisforawsresource" and [v.lower() for v in c.values] == ["true"]
        for c in statement.conditions
    )


def check(context: Context):
    for key in context.stack.keys:
        if key.policy is None:
            continue
        for statement in key.policy.statements:
            accounts = [ident for kind, ident in statement.principals if kind == "AWS"]
            if not statement.allows or not accounts or not any(action_matches(a, "kms:CreateGrant") for a in statement.actions):
                continue
            if not _for_aws_resources_only(statement):
                yield make(
                    RULE, key.address, statement,
                    f"{key.address} lets {', '.join(accounts)} call kms:CreateGrant without kms:GrantIsForAWSResource = true: "
                    f"a principal allowed CreateGrant by IAM could grant itself the key's use around the other statements' conditions; {FIX}",
                    key.policy.source,
                )
