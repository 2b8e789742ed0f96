"""`pipeline-tools plan` and `pipeline-tools deploy`: synth, then the real Terraform (operations.stack)."""

from __future__ import annotations

import json

import click

from ..operations.stack import deploy_stack, make_plan, prepare
from ..options import auto_approve_option, terraform_stack_options


@click.command()
@terraform_stack_options
def plan(config_path, target, out_dir, plugin_dir, terraform_bin):
    """Synthesize and run `terraform plan`; save the plan file and print what would be added,
    changed and destroyed. Exit 0 either way (see `deploy` to apply)."""
    terraform = prepare(config_path, target, out_dir, plugin_dir, terraform_bin)
    summary = make_plan(terraform)
    click.echo(str(summary))
    click.echo(f"plan saved: {summary.plan_file}")


@click.command()
@terraform_stack_options
@auto_approve_option
def deploy(config_path, target, out_dir, plugin_dir, terraform_bin, auto_approve):
    """Synthesize, plan and apply the stack with the real Terraform.

    \b
    pipeline-tools local up && pipeline-tools deploy --target local --auto-approve
    pipeline-tools deploy --target aws            # asks before applying

    Asks for confirmation unless --auto-approve. Prints the stack outputs as JSON.
    """
    outputs = deploy_stack(config_path, target, out_dir, plugin_dir, terraform_bin, auto_approve)
    click.echo(json.dumps(outputs, indent=2, sort_keys=True))
