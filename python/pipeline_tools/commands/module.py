"""`pipeline-tools module export DIR`: the pipeline as a plain Terraform module (JSON syntax)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def module():
    """Reuse the pipeline from plain Terraform / OpenTofu."""


@module.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export(directory: Path):
    """Write a Terraform JSON module into DIRECTORY: main.tf.json, variables.tf.json,
    outputs.tf.json, the packaged scripts under assets/ and a README.md of inputs and outputs.

    \b
    pipeline-tools module export build/module
    # then, in your root module:
    #   module "pipeline" { source = "./build/module"  name_prefix = "churn" }

    Only `name_prefix` is required. No provider or backend block: the calling module owns them.
    DIRECTORY must be new, empty, or a previous export (which is replaced all at once).
    """
    from ..module_export import export_module

    written = export_module(directory)
    click.echo(f"module written: {written}")
    click.echo(f"inputs and outputs: {written / 'README.md'}")
