"""`pipeline-tools check`: synth -> validate -> verify-iam -> scan, the single CI gate (gates.check)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import EXIT_FINDINGS, EXIT_USAGE, EnvironmentProblem, Findings
from ..gates.check import exit_code, render, run_check
from ..options import config_option, out_option, plugin_dir_option, terraform_option


@click.command()
@config_option
@out_option
@plugin_dir_option
@terraform_option
def check(config_path: Path | None, out_dir: Path, plugin_dir: Path | None, terraform_bin: str | None) -> None:
    """The CI gate: synth, then validate (statelint, SageMaker API shapes, terraform validate), verify-iam (the IAM
    against the documented minimum) and scan (checkov with the checked-in skip list, and the job rules PTJ over the
    state machine's SageMaker tasks).

    Prints a table of stages with their result and time. Exit 0 all clean, 1 any finding, 2 any
    stage could not run.
    """
    stages = run_check(config_path, out_dir, plugin_dir, terraform_bin)
    click.echo(render(stages), nl=False)
    code = exit_code(stages)
    if code == EXIT_USAGE:
        broken = [s.name for s in stages if s.status == "error" or (s is stages[0] and s.status != "ok")]
        raise EnvironmentProblem(f"check could not run: {', '.join(broken)}", "see the table above")
    if code == EXIT_FINDINGS:
        raise Findings(f"check: findings in {', '.join(s.name for s in stages if s.status == 'findings')}", "see the table above")


command = check
