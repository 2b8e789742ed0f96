"""`pipeline-tools synth`: write the Terraform JSON stack."""

from __future__ import annotations

import click

from ..options import config_option, out_option, target_option
from ..synthesis import synthesize


@click.command()
@config_option
@target_option
@out_option
def synth(config_path, target, out_dir):
    """Synthesize the stack to OUT/stacks/ml-pipeline/cdk.tf.json and print the stack directory.

    The same construct is synthesized for both targets; `--target local` only points the AWS
    provider at the local emulator (`pipeline-tools local up`) with throwaway credentials.
    """
    click.echo(synthesize(config_path, target, out_dir))
