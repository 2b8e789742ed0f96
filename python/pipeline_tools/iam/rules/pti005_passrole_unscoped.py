"""PTI005: ``iam:PassRole`` on ``*``/``role/*`` or without an ``iam:PassedToService`` condition."""

from __future__ import annotations

from . import Context, Rule, make

RULE = Rule(
    id="PTI005",
    name="passrole-unscoped",
    severity="high",
    inspects="Allow statements granting iam:PassRole",
    description="PassRole must name the roles it passes and the service it passes them to.",
)


def _unscoped(resource: str) -> bool:
    return resource == "*" or resource.endswith(":role/*") or resource.endswith(":*")


def check(context: Context):
    for role in context.stack.roles:
        for policy, statement in context.allow_statements(role):
            if not any(a.lower() == "iam:passrole" for a in statement.actions):
                continue
            problems = []
            wide = [r for r in statement.resources if _unscoped(r)]
            if wide:
                problems.append(f"is granted on {', '.join(wide)}")
            if not any(c.variable.lower() == "iam:passedtoservice" for c in statement.conditions):
                problems.append("has no iam:PassedToService condition")
            if problems:
                yield make(RULE, role, statement, "iam:PassRole " + " and ".join(problems), policy.source)
