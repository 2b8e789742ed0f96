"""`pipeline-tools run`: start one execution, show live progress, collect the model and a summary
(operations.runs)."""

from __future__ import annotations

from pathlib import Path

import click

from ..operations.runs import report_of, start_and_watch
from ..options import config_option, target_option


@click.command()
@config_option
@target_option
@click.option("--rows", type=click.IntRange(1, 100_000_000), default=None, help="Rows to generate (default: the config's dataset.rows).")
@click.option("--name", default=None, help="Execution name (default run-<UTC time>-<random>); also names the SageMaker jobs.")
@click.option(
    "--input",
    "input_uri",
    default=None,
    metavar="S3_URI",
    help="Your data for this execution: an S3 location under the config's [input] s3_uri (default: all of it).",
)
@click.option("--no-wait", is_flag=True, help="Start the execution and return at once.")
@click.option(
    "--artifacts-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("artifacts"),
    show_default=True,
    envvar="PIPELINE_TOOLS_ARTIFACTS",
    show_envvar=True,
    help="Where artifacts/<execution>/ (model, summary.json, report) are written.",
)
def run(config_path, target, rows, name, input_uri, no_wait, artifacts_dir):
    """Start a pipeline execution and watch it state by state.

    With the sample's data (no [input] in the config) the Generate dataset Lambda writes --rows rows.
    With your data ([input] s3_uri), the execution reads everything under that prefix, or under
    --input, which must lie inside it (the state machine refuses anything else, whoever starts it).

    On success the model is downloaded and artifacts/<execution>/summary.json written (states and
    durations, metrics, S3 URIs); exit 0. On failure the failed state, error and cause are printed;
    exit 1. Bad input (--input outside the prefix, an empty prefix, --rows with your data): exit 2,
    nothing started. Ctrl-C stops watching, not the execution.
    """
    summary = start_and_watch(config_path, target, rows, name, wait=not no_wait, artifacts_dir=artifacts_dir, input_uri=input_uri)
    if summary is not None:
        report_of(summary, artifacts_dir)
