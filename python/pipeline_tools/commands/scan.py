"""`pipeline-tools scan`: checkov on the synthesized stack (and a plan), with the one checked-in skip
list (gates.scan)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import Findings
from ..gates.scan import FORMATS, SKIPS_FILE, scan_stack
from ..options import plan_file_option, stack_dir_option


@click.command()
@stack_dir_option
@plan_file_option
@click.option("--format", "output_format", type=click.Choice(list(FORMATS)), default="cli", show_default=True, help="checkov's output format.")
@click.option(
    "--skips",
    "skips_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="PIPELINE_TOOLS_CHECKOV_SKIPS",
    show_envvar=True,
    default=None,
    help=f"The skip list (default: ./{SKIPS_FILE}). Each skipped check carries a written reason.",
)
def scan(stack_dir: Path | None, plan_path: Path | None, output_format: str, skips_file: Path | None) -> None:
    """Run checkov (from its own environment) on the synthesized stack with --framework terraform_json
    and, given --plan, on the plan with --framework terraform_plan; always --skip-download, always
    with the checked-in skip list. Then the job rules (PTJ001...) over every SageMaker task of the
    state machine's definition, in the same report. Exit 0 no failed checks, 1 failed checks, 2 could not run.
    """
    result = scan_stack(stack_dir, plan_path, output_format, skips_file)
    click.echo(result.report, nl=not result.report.endswith("\n"))
    if result.failed:
        ids = sorted({check for check, _, _ in result.failed_checks})
        hint = "fix the stack" + (f", or add a reasoned entry to {SKIPS_FILE}" if any(not i.startswith("PTJ") for i in ids) else "")
        if any(i.startswith("PTJ") for i in ids):
            hint += "; job rules (PTJ) have no skip list: they hold the stack's own jobs to its standard"
        raise Findings(f"scan: {result.failed} failed check(s): {', '.join(ids)}", hint)
    click.echo(f"scan: {result.passed} passed, 0 failed; {result.skipped} check(s) skipped with reasons in {SKIPS_FILE}", err=True)


command = scan
