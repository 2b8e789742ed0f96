"""PTI002: a required action (or one of its resource patterns) is not granted: the pipeline would fail."""

from __future__ import annotations

from ..loader import UNKNOWN
from ..matching import action_matches, resource_covers
from . import Context, Rule, carries, make

RULE = Rule(
    id="PTI002",
    name="required-action-missing",
    severity="high",
    inspects="the union of the role's Allow statements against each documented entry",
    description="Every action of the documented minimum must be granted on every documented resource pattern.",
)


def check(context: Context):
    present = {role.purpose for role in context.stack.roles if role.purpose}
    for purpose, minimum in context.minimum.items():
        if purpose not in present and minimum.applies(context.stack.features):
            yield make(RULE, purpose, None, f"no role trusts {minimum.service}: the {minimum.title} is missing")
    for role in context.stack.roles:
        minimum = context.role_minimum(role)
        if minimum is None:
            continue
        statements = [s for _, s in context.allow_statements(role)]
        for entry in minimum.active(context.stack.features):
            granting = [s for s in statements if any(action_matches(a, entry.action) for a in s.actions)]
            if not granting:
                yield make(RULE, role, None, f"{entry.action} is required ({entry.why}) but not granted; source: {entry.source}")
                continue
            uncovered = [
                needed
                for needed in entry.resources
                if not any(resource_covers(r, needed) or r == UNKNOWN for s in granting for r in s.resources)
            ]
            if uncovered:
                yield make(
                    RULE, role, None,
                    f"{entry.action} is not granted on {', '.join(uncovered)} (required: {entry.why}); source: {entry.source}",
                )
            # Several documented forms of one grant (Entry.condition_sets: e.g. a key through S3 and
            # through CloudWatch Logs): each form must be granted by some statement. A granting statement
            # in no documented form is PTI010's finding (one mistake, one finding).
            forms = entry.condition_sets if entry.alternatives else ()
            if not all(any(all(carries(s, wanted) for wanted in form) for form in forms) for s in granting):
                continue
            for conditions in forms:
                if not any(all(carries(s, wanted) for wanted in conditions) for s in granting):
                    described = "; ".join(f"{c.test} {c.variable} in {list(c.values)}" for c in conditions)
                    yield make(RULE, role, None, f"{entry.action} is not granted with {described} (required: {entry.why}); source: {entry.source}")
