"""`pipeline-tools verify-iam`: the stack's IAM against the documented minimum set."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import Findings, UsageError
from ..options import plan_file_option, stack_dir_option


@click.command("verify-iam")
@stack_dir_option
@plan_file_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "sarif", "junit"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report to FILE (atomically) instead of stdout.",
)
@click.option(
    "--observed",
    "observed_dirs",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    multiple=True,
    help="A run's artifacts directory (or a directory of them) holding access.json from the local "
    "emulator with IAM enforcement; repeatable. Adds PTI015-PTI017: used but undocumented, granted "
    "but never used without an unused_reason, denied.",
)
def verify_iam(stack_dir: Path | None, plan_path: Path | None, output_format: str, output: Path | None, observed_dirs: tuple[Path, ...] = ()) -> None:
    """Compare every role the stack creates (trust policy, inline and attached policies) with the
    documented minimum set in pipeline_tools/data/iam_minimum.toml, and print, per role, what is
    granted next to what is documented.

    Roles are identified by their trust policy's service principal (states, sagemaker, lambda).
    Rules PTI001-PTI014 and PTI018 (see `pipeline_tools.iam.rules`); with --observed, PTI015-PTI017 compare what
    runs on the local emulator used (access.json). Exit 0 clean, 1 findings, 2 unreadable input.
    """
    from ..iam import verify
    from ..files import write_atomic
    from ..iam.report import RENDERERS

    if stack_dir is not None and plan_path is not None:
        raise UsageError("--stack-dir and --plan are mutually exclusive", "pass one of them")
    stack, findings = verify(stack_dir=stack_dir, plan=plan_path, observed=list(observed_dirs) or None)
    text = RENDERERS[output_format](stack, findings)
    if output:
        write_atomic(output, text)
    else:
        click.echo(text, nl=False)
    if findings:
        raise Findings(f"verify-iam: {len(findings)} finding(s) in {stack.source}", "see the report above" if not output else f"see {output}")


command = verify_iam
