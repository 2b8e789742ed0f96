"""`pipeline-tools destroy`: remove the deployed stack, without ever losing data by surprise
(operations.destroy says how)."""

from __future__ import annotations

import click

from ..operations.destroy import destroy_stack
from ..options import auto_approve_option, terraform_stack_options


@click.command()
@terraform_stack_options
@auto_approve_option
@click.option(
    "--force",
    is_flag=True,
    help="Also delete the data in the pipeline's bucket (every object version). Without it, destroy "
    "refuses while the bucket holds anything Terraform did not put there.",
)
def destroy(config_path, target, out_dir, plugin_dir, terraform_bin, auto_approve, force):
    """Destroy the deployed stack (plan -destroy, confirm, apply).

    \b
    pipeline-tools destroy --target local --auto-approve
    pipeline-tools destroy --target aws --force   # asks first; deletes run data too

    Asks for confirmation unless --auto-approve (without a terminal, --auto-approve is required).
    Refuses while the data bucket holds runs or models, unless --force.
    """
    destroy_stack(config_path, target, out_dir, plugin_dir, terraform_bin, auto_approve, force)
