"""`pipeline-tools drift`: has the real infrastructure moved away from the last apply? (operations.drift)"""

from __future__ import annotations

import click

from ..operations.drift import EXIT_DRIFT, detect_drift
from ..options import terraform_stack_options


@click.command(epilog="\b\nExit codes: 0 no drift, 2 drift detected (or a usage/environment error, printed as `error: ...`).")
@terraform_stack_options
@click.pass_context
def drift(ctx, config_path, target, out_dir, plugin_dir, terraform_bin):
    """Compare the deployed infrastructure with the Terraform state (refresh-only plan).

    Prints each resource changed outside Terraform and exits 2 when anything drifted (the
    documented drift signal, like `terraform plan -detailed-exitcode`), 0 when nothing did.
    Changes nothing: fix drift with `pipeline-tools deploy` (which puts the configuration back).
    """
    lines = detect_drift(config_path, target, out_dir, plugin_dir, terraform_bin)
    if not lines:
        click.echo(f"No drift: {target} matches the Terraform state.")
        return
    click.echo(f"Drift detected in {target}: {len(lines)} resource{'s' if len(lines) != 1 else ''} changed outside Terraform")
    for line in lines:
        click.echo(f"  ~ {line}")
    click.echo(f"run `pipeline-tools deploy --target {target}` to restore the configuration")
    ctx.exit(EXIT_DRIFT)
