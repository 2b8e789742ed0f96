"""PTI017: a run was denied something: the stack grants less than the pipeline needs."""

from __future__ import annotations

from . import Context, Rule, make

RULE = Rule(
    id="PTI017",
    name="observed-denied",
    severity="high",
    inspects="the denied decisions of the runs given with --observed (access.json)",
    description="No run may be denied anything: each denial is a permission the pipeline needs and lacks.",
)


def check(context: Context):
    if context.stack.observed is None:
        return
    seen: set[tuple] = set()
    for decision in context.stack.observed:
        if decision.get("decision") == "allowed":
            continue
        key = (decision.get("role"), decision["action"], decision["resource"], decision["decision"])
        if key in seen:
            continue
        seen.add(key)
        yield make(
            RULE, decision.get("purpose") or decision.get("role") or "-", None,
            f"{decision['action']} on {decision['resource']} was denied ({decision['decision']}) in run {decision.get('execution')}: "
            f"{decision.get('message') or ''}".rstrip(": "),
        )
