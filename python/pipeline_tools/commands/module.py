"""`pipeline-tools module export DIR`: the pipeline as a plain Terraform module (JSON syntax)."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import config_option


@click.group()
def module():
    """Reuse the pipeline from plain Terraform / OpenTofu."""


@module.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@config_option
def export(directory: Path, config_path: Path | None):
    """Write a Terraform JSON module into DIRECTORY: main.tf.json, variables.tf.json,
    outputs.tf.json, the packaged code under assets/ and a README.md of inputs and outputs.

    \b
    pipeline-tools module export build/module
    # then, in your root module:
    #   module "pipeline" { source = "./build/module"  name_prefix = "churn" }

    The module has the config's shape: with your code folders (source_dir) they ship as module
    assets; with [input] it has no Lambda and takes `input_s3_uri` (required) and
    `input_kms_key_arn`; the data layout (processing outputs, training channels, script mode) is
    baked in. Instance types, images, hyperparameters, tags, the KMS key, the network, access
    logging (and, with the Lambda, code signing) stay variables, defaulting to the config's
    values. Without a config file: the sample. `name_prefix` is always required. No provider
    or backend block: the calling module owns them. DIRECTORY must be new, empty, or a previous
    export (which is replaced all at once).
    """
    from sfn_ml_pipeline.config import DEFAULT_CONFIG_FILE

    from ..module_export import export_module
    from ..synthesis import check_code, read_config

    config = read_config(config_path)  # one line, exit 2, before jsii starts
    check_code(config)  # your code: entry points there, every .py parses as the images' Python
    source = str(config_path) if config_path is not None else (str(DEFAULT_CONFIG_FILE) if DEFAULT_CONFIG_FILE.is_file() else None)
    written = export_module(directory, config, source)
    click.echo(f"module written: {written}")
    click.echo(f"inputs and outputs: {written / 'README.md'}")
