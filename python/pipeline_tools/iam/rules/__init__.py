"""verify-iam's rules, one module per rule (checkov style): each has an id, a name, what it inspects.

A rule module defines ``RULE`` (a :class:`Rule`) and ``check(context) -> Iterable[Finding]``.
Rule ids are stable: add new rules with new ids, never renumber.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..minimum import Entry, RoleMinimum, load_minimum
from ..model import Finding, Policy, Role, Stack, Statement

MODULES = (
    "pti001_action_outside_minimum",
    "pti002_required_action_missing",
    "pti003_wildcard_action",
    "pti004_star_resource_scopable",
    "pti005_passrole_unscoped",
    "pti006_allow_not_action",
    "pti007_trust_principal",
    "pti008_trust_source_condition",
    "pti009_resource_broader",
    "pti010_condition_missing",
    "pti011_unverifiable_policy",
    "pti012_trust_source_arn_broader",
    "pti013_trust_condition_unsent",
    "pti014_log_key_policy",
    "pti015_observed_undocumented",  # verify-iam --observed: what runs used, against the minimum
    "pti016_granted_never_used",
    "pti017_observed_denied",
    "pti018_key_grant_not_for_aws_resources",
)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: str  # high | medium | low
    inspects: str  # what the rule looks at, for the docs and SARIF
    description: str


@dataclass
class Context:
    stack: Stack
    minimum: dict[str, RoleMinimum]

    def role_minimum(self, role: Role) -> RoleMinimum | None:
        return self.minimum.get(role.purpose) if role.purpose else None

    def allow_statements(self, role: Role) -> list[tuple[Policy, Statement]]:
        return [(p, s) for p, s in role.statements() if s.allows]

    def documented_grants(self) -> Iterator[tuple[Role, Policy, Statement, str, Entry]]:
        """Every (role, policy, statement, action) an Allow grants that the documented minimum
        lists for that role, with the minimum's entry. Undocumented actions are PTI001's."""
        for role in self.stack.roles:
            minimum = self.role_minimum(role)
            if minimum is None:
                continue
            entries = {e.action.lower(): e for e in minimum.active(self.stack.features)}
            for policy, statement in self.allow_statements(role):
                for action in literal_actions(statement):
                    entry = entries.get(action.lower())
                    if entry is not None:
                        yield role, policy, statement, action, entry


def role_label(role: Role) -> str:
    return role.purpose or role.address


def make(rule: Rule, role: Role | str, statement: Statement | str | None, message: str, source: str = "") -> Finding:
    label = statement.label if isinstance(statement, Statement) else (statement or "-")
    return Finding(
        rule_id=rule.id,
        rule_name=rule.name,
        severity=rule.severity,
        role=role if isinstance(role, str) else role_label(role),
        statement=label,
        message=message,
        source=source,
    )


def all_rules() -> list[tuple[Rule, object]]:
    modules = [importlib.import_module(f"{__name__}.{name}") for name in MODULES]
    return [(module.RULE, module) for module in modules]


def run_rules(stack: Stack) -> list[Finding]:
    context = Context(stack=stack, minimum=load_minimum())
    findings: list[Finding] = []
    for _rule, module in all_rules():
        findings.extend(module.check(context))
    return sorted(findings, key=lambda f: (f.rule_id, f.role, f.statement, f.message))


def carries(statement: Statement, wanted) -> bool:
    """Does the statement carry the documented condition ``wanted`` (same operator and key, values
    within the documented ones)?"""
    return any(
        c.test.lower() == wanted.test.lower()
        and c.variable.lower() == wanted.variable.lower()
        and c.values
        and set(c.values) <= set(wanted.values)
        for c in statement.conditions
    )


def literal_actions(statement: Statement) -> Iterable[str]:
    return (a for a in statement.actions if "*" not in a and "?" not in a)
