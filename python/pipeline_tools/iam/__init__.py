"""verify-iam: prove that the stack's IAM is the documented minimum, no more and no less.

``verify(stack_dir=..., plan=...)`` loads every role and policy, runs the rules in
``pipeline_tools.iam.rules`` against ``pipeline_tools/data/iam_minimum.toml`` and returns the
stack and its findings; ``pipeline_tools.iam.report`` renders them.
"""

from __future__ import annotations

from pathlib import Path

from .model import Finding, Stack


def verify(stack_dir: Path | None = None, plan: Path | None = None, observed: list[Path] | None = None) -> tuple[Stack, list[Finding]]:
    from ..stackfile import resolve_stack_dir
    from .loader import load_plan, load_synth
    from .rules import run_rules

    stack = load_plan(Path(plan)) if plan else load_synth(resolve_stack_dir(stack_dir) / "cdk.tf.json")
    if observed:
        from .observed import load_observed

        stack.observed = load_observed(observed, {role.name: role.purpose for role in stack.roles if role.name and role.purpose})
    return stack, run_rules(stack)


__all__ = ["Finding", "Stack", "verify"]
