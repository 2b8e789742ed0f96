"""`pipeline-tools package`: build the artifacts the stack ships and print their hashes."""

from __future__ import annotations

from pathlib import Path

import click

from sfn_ml_pipeline.packaging import SCRIPTS_DIR, SourceProblem, package_config_sources, package_scripts

from ..errors import UsageError
from ..options import config_option
from ..synthesis import read_config


@click.command()
@config_option
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
def package(config_path, build_dir, scripts_dir):
    """Build the Lambda zip (reproducible: same sources, byte-identical zip) and stage transform.py and
    evaluate.py, then your code folders (the config's processing/training source_dir): each a reproducible
    sourcedir.tar.gz (and processing's runproc.sh) under the content-addressed prefix code/<hash>/
    it is uploaded to. Print each artifact's SHA-256 (and that prefix). The same hashes appear in the
    synthesized stack, so an unchanged script never shows up as a Terraform change."""
    config = read_config(config_path)
    try:
        artifacts = package_scripts(build_dir, scripts_dir)
    except FileNotFoundError as error:
        raise UsageError(str(error), "pass --scripts-dir pointing at the folder with the scripts") from None
    try:
        sources = package_config_sources(config, build_dir)
    except SourceProblem as problem:
        raise UsageError(str(problem), "fix the file; nothing was packaged") from None
    for artifact in artifacts.values():
        click.echo(f"{artifact.sha256_hex}  {artifact.path}")
    for kind, source in sources.items():
        for artifact in (source.archive, source.launcher):
            if artifact is not None:
                click.echo(f"{artifact.sha256_hex}  {artifact.path}  -> {source.prefix}{artifact.path.name} ({kind}: {source.source_dir}, {len(source.files)} files)")
