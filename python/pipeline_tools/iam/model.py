"""The shapes verify-iam works on: statements, policies and roles, already normalized.

Everything here is plain data, independent of where it came from (a synthesized ``cdk.tf.json``
or a ``terraform show -json`` plan), so the rules never care about Terraform's JSON layouts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Condition:
    test: str  # e.g. StringEquals
    variable: str  # e.g. iam:PassedToService
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """One IAM statement. Resources are normalized patterns (``{bucket_arn}/runs/*``)."""

    index: int
    sid: str | None
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    principals: tuple[tuple[str, str], ...] = ()  # (type, identifier), e.g. ("Service", "states.amazonaws.com")

    @property
    def label(self) -> str:
        """How a finding names the statement: its Sid, or its position."""
        return self.sid or f"#{self.index}"

    @property
    def allows(self) -> bool:
        return self.effect.lower() == "allow"


@dataclass(frozen=True)
class Policy:
    """One policy document attached to a role (or its trust policy)."""

    source: str  # Terraform address that carries it, e.g. aws_iam_role_policy.sfn
    document: str  # where the statements come from, e.g. data.aws_iam_policy_document.sfn
    statements: tuple[Statement, ...]


@dataclass
class Role:
    address: str  # aws_iam_role.<name>
    trust: Policy | None
    policies: list[Policy] = field(default_factory=list)
    unverifiable: list[str] = field(default_factory=list)  # attachments whose content cannot be read
    purpose: str | None = None  # key in the documented minimum (state_machine, sagemaker, sagemaker_model, lambda)
    name: str | None = None  # the role's name, when the stack states it (verify-iam --observed maps runs' roles by it)

    @property
    def services(self) -> set[str]:
        """Service principals the trust policy names."""
        if not self.trust:
            return set()
        return {ident for s in self.trust.statements if s.allows for kind, ident in s.principals if kind == "Service"}

    def statements(self) -> list[tuple[Policy, Statement]]:
        return [(policy, statement) for policy in self.policies for statement in policy.statements]


@dataclass
class Key:
    """A KMS key the stack declares: its key policy (None: the default key policy) and the log groups it encrypts."""

    address: str  # aws_kms_key.<name>
    policy: Policy | None
    log_groups: list[str] = field(default_factory=list)  # Terraform addresses


@dataclass
class Stack:
    """Every role the stack creates, plus facts that switch optional parts of the minimum on."""

    source: str
    roles: list[Role]
    features: set[str] = field(default_factory=set)  # kms, sfn_logging, ... (minimum.Features: with the stack's data layout)
    keys: list[Key] = field(default_factory=list)
    # verify-iam --observed: the decisions runs recorded (artifacts/<execution>/access.json), each
    # with "execution" added; None when no runs were given (the observed rules then stay silent).
    observed: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Finding:
    rule_id: str
    rule_name: str
    severity: str  # high, medium, low
    role: str  # purpose (or address when unidentified)
    statement: str  # sid / #index / "-"
    message: str
    source: str = ""  # Terraform address of the policy
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "severity": self.severity,
            "role": self.role,
            "statement": self.statement,
            "message": self.message,
            "source": self.source,
        }
