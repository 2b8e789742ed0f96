"""PTI015: a run used an action (on a resource) the documented minimum does not list for that role."""

from __future__ import annotations

from ..observed import documented_entry
from . import Context, Rule, make

RULE = Rule(
    id="PTI015",
    name="observed-undocumented",
    severity="high",
    inspects="the allowed decisions of the runs given with --observed (access.json), per role",
    description="Everything a run was allowed to do must be in the documented minimum: otherwise the minimum is incomplete.",
)


def check(context: Context):
    if context.stack.observed is None:
        return
    seen: set[tuple[str, str, str]] = set()
    for decision in context.stack.observed:
        purpose = decision.get("purpose")
        if decision.get("decision") != "allowed" or purpose not in context.minimum:
            continue
        if not str(decision.get("principal", "")).startswith("arn:"):
            continue  # the service assuming the role (its trust policy): PTI007/PTI008's subject, not a grant
        key = (purpose, decision["action"], decision["resource"])
        if key in seen:
            continue
        seen.add(key)
        if documented_entry(context.minimum[purpose], decision["action"], decision["resource"], context.stack.features) is None:
            yield make(
                RULE, purpose, None,
                f"{decision['action']} on {decision['resource']} was used (run {decision.get('execution')}, {decision.get('via')}) "
                "but the documented minimum does not list it for this role",
            )
