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
def run(config_path, target, rows, name, no_wait, artifacts_dir):
    """Start a pipeline execution and watch it state by state.

    On success the model is downloaded and artifacts/<execution>/summary.json written (states and
    durations, metrics, S3 URIs); exit 0. On failure the failed state, error and cause are printed;
    exit 1. Ctrl-C stops watching, not the execution.
    """
    summary = start_and_watch(config_path, target, rows, name, wait=not no_wait, artifacts_dir=artifacts_dir)
    if summary is not None:
        report_of(summary, artifacts_dir)
