"""Validate a synthesized stack: statelint (completed for JSONata and variables: :mod:`.asl_lint`)
and the SageMaker API shapes on each state machine definition, then the real
``terraform init -backend=false`` and ``terraform validate``."""

from __future__ import annotations

import json
from pathlib import Path

from ..api_shapes import check_stack
from ..stackfile import load_stack, resolve_stack_dir, state_machine_definitions, with_placeholders
from ..terraform import Terraform


def lint_definitions(stack: dict) -> list[str]:
    """statelint's problems (and broken JSONata expressions) for every state machine in the stack
    ("<resource>: <problem>")."""
    from .asl_lint import lint

    problems = []
    for name, definition in state_machine_definitions(stack).items():
        try:
            document = json.loads(with_placeholders(definition))
        except ValueError as error:
            problems.append(f"{name}: definition is not valid JSON: {error}")
            continue
        if not isinstance(document, dict):
            problems.append(f"{name}: definition is not a JSON object")
            continue
        problems.extend(f"{name}: {problem}" for problem in lint(document))
    return problems


def terraform_problems(stack_dir: Path, plugin_dir: Path | None = None, terraform_bin: str | None = None) -> list[str]:
    terraform = Terraform(stack_dir, binary=terraform_bin, plugin_dir=plugin_dir)
    terraform.init(backend=False)
    report = terraform.validate()
    return [
        f"terraform: {d.get('summary', '')}: {d.get('detail', '')}".strip(": ")
        for d in report.get("diagnostics", [])
        if d.get("severity") == "error"
    ]


def definition_problems(stack_dir: Path | None = None) -> list[str]:
    """statelint's and the SageMaker API shapes' problems in a synthesized stack's state machines."""
    stack = load_stack(resolve_stack_dir(stack_dir))
    return lint_definitions(stack) + check_stack(stack)


def validate_stack(stack_dir: Path | None = None, plugin_dir: Path | None = None, terraform_bin: str | None = None) -> list[str]:
    """Every problem found in a synthesized stack (empty when valid)."""
    stack_dir = resolve_stack_dir(stack_dir)
    return definition_problems(stack_dir) + terraform_problems(stack_dir, plugin_dir, terraform_bin)
