"""`pipeline-tools package`: build the artifacts the stack ships and print their hashes."""

from __future__ import annotations

from pathlib import Path

import click

from sfn_ml_pipeline.packaging import SCRIPTS_DIR, package_scripts

from ..errors import UsageError


@click.command()
@click.option(
    "--build-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build"),
    show_default=True,
    envvar="PIPELINE_TOOLS_BUILD_DIR",
    show_envvar=True,
    help="Where the artifacts are written.",
)
@click.option(
    "--scripts-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=SCRIPTS_DIR,
    show_default=True,
    help="The scripts to package (generate_dataset.py, transform.py, evaluate.py).",
)
def package(build_dir, scripts_dir):
    """Build the Lambda zip (reproducible: same sources, byte-identical zip) and stage transform.py and evaluate.py;
    print each artifact's SHA-256. The same hashes appear in the synthesized stack, so an
    unchanged script never shows up as a Terraform change."""
    try:
        artifacts = package_scripts(build_dir, scripts_dir)
    except FileNotFoundError as error:
        raise UsageError(str(error), "pass --scripts-dir pointing at the folder with the scripts") from None
    for name, artifact in artifacts.items():
        click.echo(f"{artifact.sha256_hex}  {artifact.path}")
