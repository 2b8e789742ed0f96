"""`pipeline-tools validate`: statelint and the service API request shapes on the definition, then the
real `terraform validate` (gates.validate)."""

from __future__ import annotations

import click

from ..errors import Findings
from ..gates.validate import validate_stack
from ..options import plugin_dir_option, stack_dir_option, terraform_option
from ..stackfile import resolve_stack_dir


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
