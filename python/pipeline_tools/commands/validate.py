"""`pipeline-tools validate`: statelint and the service API request shapes on the definition, then the
real `terraform validate`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..api_shapes import check_stack
from ..errors import Findings
from ..options import plugin_dir_option, stack_dir_option, terraform_option
from ..stackfile import load_stack, resolve_stack_dir, state_machine_definitions, with_placeholders
from ..terraform import Terraform


def lint_definitions(stack: dict) -> list[str]:
    """statelint's problems for every state machine in the stack ("<resource>: <problem>")."""
    from statelint.linter import Linter

    problems = []
    for name, definition in state_machine_definitions(stack).items():
        try:
            document = json.loads(with_placeholders(definition))
        except ValueError as error:
            problems.append(f"{name}: definition is not valid JSON: {error}")
            continue
        problems.extend(f"{name}: {problem}" for problem in Linter.validate(document))
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


def validate_stack(stack_dir: Path | None = None, plugin_dir: Path | None = None, terraform_bin: str | None = None) -> list[str]:
    """Every problem found in a synthesized stack (empty when valid)."""
    stack_dir = resolve_stack_dir(stack_dir)
    stack = load_stack(stack_dir)
    problems = lint_definitions(stack) + check_stack(stack)
    return problems + terraform_problems(stack_dir, plugin_dir, terraform_bin)


@click.command()
@stack_dir_option
@plugin_dir_option
@terraform_option
def validate(stack_dir, plugin_dir, terraform_bin):
    """Check the synthesized stack: the state machine definition with statelint, every SageMaker
    task's Parameters against the SageMaker API's request shapes (botocore's service model: unknown
    or missing keys, types, ranges, lengths, enums, patterns), then `terraform init -backend=false`
    and `terraform validate` with the real AWS provider.

    Offline, point --plugin-dir (or PIPELINE_TOOLS_PLUGIN_DIR) at a provider mirror.
    Exit 0 valid, 1 problems found, 2 could not run.
    """
    problems = validate_stack(stack_dir, plugin_dir, terraform_bin)
    for problem in problems:
        click.echo(problem)
    if problems:
        raise Findings(f"{len(problems)} problem(s) in {resolve_stack_dir(stack_dir)}")
    click.echo(f"valid: {resolve_stack_dir(stack_dir)} (statelint clean, API shapes ok, terraform validate ok)")
