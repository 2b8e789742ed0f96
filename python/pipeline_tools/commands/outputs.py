"""`pipeline-tools outputs`: the deployed stack's outputs as JSON (bucket, state machine ARN, roles...)."""

from __future__ import annotations

import json

import click

from ..operations.stack import stack_outputs
from ..options import terraform_stack_options


@click.command()
@terraform_stack_options
def outputs(config_path, target, out_dir, plugin_dir, terraform_bin):
    """Print the stack outputs as one JSON object (name -> value), for scripts:

    \b
    pipeline-tools outputs --target local | jq -r .mlpipe_state_machine_arn
    """
    click.echo(json.dumps(stack_outputs(config_path, target, out_dir, plugin_dir, terraform_bin), indent=2, sort_keys=True))
