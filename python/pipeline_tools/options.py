"""Every Click option defined once, with its environment variable, and reused by the commands.

In the spirit of pip-tools' ``scripts/options.py``: a command composes the options it needs
by decorating with these objects, so an option has one name, one help text and one env var
across the whole CLI.
"""

from __future__ import annotations

from pathlib import Path

import click

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="PIPELINE_TOOLS_CONFIG",
    show_envvar=True,
    default=None,
    help="Pipeline configuration (TOML). Default: ./pipeline.toml if present, else built-in defaults.",
)

target_option = click.option(
    "--target",
    type=click.Choice(["aws", "local"]),
    envvar="PIPELINE_TOOLS_TARGET",
    show_envvar=True,
    default="aws",
    show_default=True,
    help="Where the stack goes: real AWS, or the local emulator started by `pipeline-tools local up`.",
)

out_option = click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PIPELINE_TOOLS_OUT",
    show_envvar=True,
    default=Path("cdktf.out"),
    show_default=True,
    help="Synth output directory (the stack lands in OUT/stacks/<stack>/cdk.tf.json).",
)

stack_dir_option = click.option(
    "--stack-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PIPELINE_TOOLS_STACK_DIR",
    show_envvar=True,
    default=None,
    help="A synthesized stack directory (holding cdk.tf.json). Default: the one `synth` writes.",
)

plugin_dir_option = click.option(
    "--plugin-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PIPELINE_TOOLS_PLUGIN_DIR",
    show_envvar=True,
    default=None,
    help="Terraform provider directory in filesystem-mirror layout (holding registry.terraform.io/), "
    "for machines with no registry access. Passed to `terraform init -plugin-dir`.",
)

terraform_option = click.option(
    "--terraform",
    "terraform_bin",
    type=str,
    envvar="PIPELINE_TOOLS_TERRAFORM",
    show_envvar=True,
    default=None,
    help="Terraform (or OpenTofu) binary. Default: `terraform`, then `tofu` on PATH.",
)

auto_approve_option = click.option(
    "--auto-approve",
    is_flag=True,
    envvar="PIPELINE_TOOLS_AUTO_APPROVE",
    show_envvar=True,
    help="Do not ask for confirmation.",
)

def _port(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value != 0 and value < 1024:
        raise click.BadParameter(f"{value} is not 0 or in the range 1024<=x<=65535.", ctx, param)
    return value


port_option = click.option(
    "--port",
    type=click.IntRange(0, 65535),
    callback=_port,
    envvar="PIPELINE_TOOLS_LOCAL_PORT",
    show_envvar=True,
    default=47145,
    show_default=True,
    help="Port of the local emulator on 127.0.0.1 (0: any free port, picked when the server binds; "
    "`local up` prints the endpoint).",
)

plan_file_option = click.option(
    "--plan",
    "plan_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="PIPELINE_TOOLS_PLAN",
    show_envvar=True,
    default=None,
    help="A plan exported with `terraform show -json PLANFILE` (IAM checks see resolved policies there).",
)


def terraform_stack_options(command):
    """The options of every command that runs Terraform on the stack (plan, deploy, destroy, drift, outputs)."""
    for option in reversed((config_option, target_option, out_option, plugin_dir_option, terraform_option)):
        command = option(command)
    return command
