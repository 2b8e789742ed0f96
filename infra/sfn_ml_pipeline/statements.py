"""The IAM statement model: one policy statement, the ARN parts statements are scoped with, and the
union of several tasks' statements.

The bottom of the IAM arrows: the task types (``tasks/``) state their grants with these, and the
policy assembly (``iam.py``: each role's statements, trust policies, the key policy) builds on the
tasks and on this module; nothing here imports either.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: list[str]
    resources: list[str]
    conditions: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (test, variable, values)

    def to_binding(self) -> dict:
        """The shape `DataAwsIamPolicyDocumentStatement` takes."""
        statement: dict = {"sid": self.sid, "effect": "Allow", "actions": self.actions, "resources": self.resources}
        if self.conditions:
            statement["condition"] = [{"test": t, "variable": v, "values": vals} for t, v, vals in self.conditions]
        return statement


@dataclass(frozen=True)
class Arns:
    """The ARN parts the statements are scoped with (literal strings or Terraform references)."""

    partition: str
    region: str
    account: str
    bucket_arn: str
    lambda_arn: str
    lambda_log_group_arn: str
    sagemaker_role_arn: str
    ecr_repositories: list[str]
    kms_key_arn: str | None = None
    dns_suffix: str = "amazonaws.com"  # amazonaws.com.cn in the China partition
    subnet_ids: tuple[str, ...] = ()  # [network]: where the Lambda and the jobs create their network interfaces
    security_group_ids: tuple[str, ...] = ()

    def service_arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"


def merge_statements(groups: list[list[Statement]]) -> list[Statement]:
    """The union of several tasks' statements, one statement per Sid.

    Statements that share a Sid (e.g. iam:PassRole of the same role, the .sync rules) must agree on
    actions and conditions; their resources are united in order. Order: statements only one task
    has, in task order, then the shared ones in order of first appearance.
    """
    merged: dict[str, Statement] = {}
    owners: dict[str, int] = {}
    for group in groups:
        for statement in group:
            known = merged.get(statement.sid)
            if known is None:
                merged[statement.sid] = statement
                owners[statement.sid] = 1
                continue
            if (known.actions, known.conditions) != (statement.actions, statement.conditions):
                raise ValueError(f"statement {statement.sid!r}: two tasks grant different actions or conditions under one Sid")
            resources = known.resources + [r for r in statement.resources if r not in known.resources]
            merged[statement.sid] = replace(known, resources=resources)
            owners[statement.sid] += 1
    return [s for s in merged.values() if owners[s.sid] == 1] + [s for s in merged.values() if owners[s.sid] > 1]
