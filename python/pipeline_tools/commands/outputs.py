"""`pipeline-tools outputs`: the deployed stack's outputs as JSON (bucket, state machine ARN, roles...)."""

from __future__ import annotations

import json

import click

from ..errors import UsageError
from ..options import terraform_stack_options
from .deploy import prepare


@click.command()
@terraform_stack_options
def outputs(config_path, target, out_dir, plugin_dir, terraform_bin):
    """Print the stack outputs as one JSON object (name -> value), for scripts:

    \b
    pipeline-tools outputs --target local | jq -r .mlpipe_state_machine_arn
    """
    terraform = prepare(config_path, target, out_dir, plugin_dir, terraform_bin)
    values = terraform.outputs()
    if not values:
        raise UsageError(f"no outputs: nothing is deployed to {target}", f"run `pipeline-tools deploy --target {target}` first")
    click.echo(json.dumps(values, indent=2, sort_keys=True))
