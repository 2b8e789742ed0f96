"""The optional batch transform stage end to end on the local emulator: the held-out rows are
predicted by a real batch transform of the trained model, and `run` scores the predictions.

One emulator and one deploy of a stack with `[batch_transform] enabled = true` (in a private
working directory), driven through the real CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from .conftest import run_cli

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]

PIPELINE_TOML = """
[batch_transform]
enabled = true
held_out_fraction = 0.25
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, plugin_dir):
    directory = tmp_path_factory.mktemp("batch-transform")
    (directory / "pipeline.toml").write_text(PIPELINE_TOML)
    up = run_cli("local", "up", "--port", "0", cwd=directory)
    assert up.returncode == 0, up.stderr
    try:
        deployed = run_cli("deploy", "--target", "local", "--auto-approve", cwd=directory, timeout=600)
        assert deployed.returncode == 0, deployed.stderr
        yield directory
    finally:
        run_cli("local", "down", cwd=directory)


@pytest.fixture(scope="module")
def scored_run(workdir):
    result = run_cli("run", "--target", "local", "--rows", "4000", "--name", "scored", cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_run_succeeds_and_predicts_the_held_out_rows_well(workdir, scored_run):
    summary = json.loads((workdir / "artifacts" / "scored" / "summary.json").read_text())
    assert [s["name"] for s in summary["states"]][-2:] == ["Create model", "Batch transform"]
    evaluation = summary["evaluation"]
    assert 800 < evaluation["rows"] < 1200  # a quarter of 4000, by the row hash
    assert evaluation["auc"] > 0.9 and evaluation["accuracy"] > 0.8
    predictions = pd.read_csv(workdir / "artifacts" / "scored" / "predictions.csv")
    assert list(predictions.columns) == ["label", "prediction"] and len(predictions) == evaluation["rows"]
    assert predictions.prediction.between(0, 1).all()
    last = scored_run.stdout.strip().splitlines()
    assert any(f"held out ({evaluation['rows']} rows): AUC=" in line for line in last)
    report = (workdir / "artifacts" / "scored" / "report.html").read_text()
    assert "Held-out evaluation" in report and "ROC curve of the held-out predictions" in report


def test_the_transform_job_writes_sagemakers_output_naming(workdir, scored_run):
    from pipeline_tools.emulator import client, read_state

    state = read_state(workdir / ".pipeline-tools")
    sagemaker, s3 = client("sagemaker", state), client("s3", state)
    job = sagemaker.describe_transform_job(TransformJobName="scored")
    assert job["TransformJobStatus"] == "Completed" and job["ModelName"] == "scored"
    output = job["TransformOutput"]["S3OutputPath"]
    bucket, prefix = output.removeprefix("s3://").split("/", 1)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    assert keys == [f"{prefix}/holdout-00000.csv.out"]
    assert sagemaker.describe_model(ModelName="scored")["PrimaryContainer"]["ModelDataUrl"].endswith("/output/model.tar.gz")


def test_the_transform_job_logs_where_sagemaker_does_and_logs_shows_it(workdir, scored_run):
    """/aws/sagemaker/TransformJobs, stream [transform-job-name]/[instance-id]-[epoch_timestamp]
    (https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html)."""
    import re

    from pipeline_tools.emulator import client, read_state

    state = read_state(workdir / ".pipeline-tools")
    logs, sagemaker = client("logs", state), client("sagemaker", state)
    (stream,) = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix="scored/")["logStreams"]]
    match = re.fullmatch(r"scored/(i-[0-9a-f]{17})-(\d+)", stream)
    assert match, stream
    assert abs(int(match.group(2)) - sagemaker.describe_transform_job(TransformJobName="scored")["CreationTime"].timestamp()) < 5
    messages = [e["message"] for e in logs.get_log_events(logGroupName="/aws/sagemaker/TransformJobs", logStreamName=stream)["events"]]
    assert any(m.startswith("predicted ") for m in messages), messages
    shown = run_cli("logs", "scored", "--target", "local", "--state", "batch", cwd=workdir)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert any(re.match(rf"Batch transform +{match.group(1)} +\| predicted ", line) for line in shown.stdout.splitlines()), shown.stdout
