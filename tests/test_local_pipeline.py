"""The embedded default, end to end: the real Terraform applies the stack to the local emulator,
and the same definition runs there with the real handler, transform.py and XGBoost.

One emulator and one deploy per module (in a private working directory); every test drives the
real `pipeline-tools` CLI in a subprocess, as a user would. Each test stands alone (runs under
`-k` by itself): what two tests read, the "quality" run, is a fixture.
"""

from __future__ import annotations

import io
import json
import tarfile
import time

import numpy as np
import pandas as pd
import pytest

from .conftest import assert_clean_error, run_cli

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]


# Not the defaults, so the tests see these values travel from pipeline.toml into the job requests.
PIPELINE_TOML = """
[processing]
max_runtime_seconds = 1200

[training]
max_runtime_seconds = 7200
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, plugin_dir):
    """A project directory with a running emulator and the stack deployed to it (the emulator is
    stopped afterwards even when the deploy fails)."""
    directory = tmp_path_factory.mktemp("local-pipeline")
    (directory / "pipeline.toml").write_text(PIPELINE_TOML)
    up = run_cli("local", "up", "--port", "0", cwd=directory)
    assert up.returncode == 0, up.stderr
    try:
        deployed = run_cli("deploy", "--target", "local", "--auto-approve", cwd=directory, timeout=600)
        assert deployed.returncode == 0, deployed.stderr
        assert "Plan: 20 to add, 0 to change, 0 to destroy." in deployed.stdout
        yield directory
    finally:
        run_cli("local", "down", cwd=directory)


@pytest.fixture(scope="module")
def aws(workdir):
    """boto3 clients on the module's emulator."""
    from pipeline_tools.emulator import client, read_state

    state = read_state(workdir / ".pipeline-tools")
    return {service: client(service, state) for service in ("s3", "stepfunctions", "sagemaker")}


@pytest.fixture(scope="module")
def outputs(workdir):
    from pipeline_tools.terraform import Terraform

    return Terraform(workdir / "cdktf.out" / "stacks" / "ml-pipeline").outputs()


def read_csv(s3, bucket: str, key: str) -> pd.DataFrame:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return pd.read_csv(io.BytesIO(body), header=None)


@pytest.fixture(scope="module")
def quality_run(workdir):
    """One 4000-row execution named "quality", run once for the tests that inspect it."""
    result = run_cli("run", "--target", "local", "--rows", "4000", "--name", "quality", cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_a_run_succeeds_and_the_model_beats_a_constant_predictor(workdir, aws, outputs, quality_run):
    assert "SUCCEEDED" in quality_run.stdout

    summary = json.loads((workdir / "artifacts" / "quality" / "summary.json").read_text())
    assert summary["status"] == "SUCCEEDED"
    assert [s["name"] for s in summary["states"]] == ["Generate dataset", "Standardization: x' = (x - x̄) / σ", "Train model (XGBoost)"]
    assert all(s["status"] == "SUCCEEDED" and s["duration_seconds"] >= 0 for s in summary["states"])
    assert summary["dataset"]["rows"] == 4000
    reported_rmse = summary["training"]["metrics"]["train:rmse"]
    # one host each; the objects each received (issue 14)
    assert [i["host"] for i in summary["training"]["instances"]] == ["algo-1"]
    assert [f.rsplit("/", 1)[-1] for f in summary["training"]["instances"][0]["input_files"]] == ["train-00000.csv"]
    assert [i["host"] for i in summary["processing"]["instances"]] == ["algo-1"]

    from pipeline_tools.model_artifact import predict

    model = workdir / "artifacts" / "quality" / "model.tar.gz"
    with tarfile.open(model) as archive:
        assert archive.getnames() == ["xgboost-model"]
    # The 1.7-1 image's format (XGBoost's binary format, from xgboost 1.7.4), which `run` opened with
    # that image's xgboost (this project's 3.x no longer reads it).
    assert summary["model"]["format"] == "binary", summary["model"]
    assert summary["model"]["loaded_with"].startswith("xgboost 1.7.4 "), summary["model"]
    assert summary["model"]["num_trees"] == 5 and summary["model"]["num_features"] == 2
    image = aws["sagemaker"].describe_training_job(TrainingJobName="quality")["AlgorithmSpecification"]["TrainingImage"]

    bucket = outputs["mlpipe_bucket"]
    standardized = read_csv(aws["s3"], bucket, "runs/quality/train/train-00000.csv")
    labels, features = standardized[0].to_numpy(), standardized[[1, 2]].to_numpy()
    predictions = predict(model, image, features)
    assert predictions.min() >= 0 and predictions.max() <= 1
    rmse = float(np.sqrt(np.mean((predictions - labels) ** 2)))
    constant = float(np.sqrt(np.mean((labels.mean() - labels) ** 2)))  # the best constant predictor (~0.36 here)
    assert rmse < 0.5 * constant, (rmse, constant)
    # The metric the run reports is this model's error on this data, so it beats the constant too.
    assert reported_rmse == pytest.approx(rmse, rel=1e-3, abs=1e-4), (reported_rmse, rmse)
    assert 0 <= reported_rmse < 0.5 * constant, (reported_rmse, constant)


def test_training_read_only_the_standardized_data(workdir, aws, outputs, quality_run):
    bucket = outputs["mlpipe_bucket"]
    # What the training job was asked to read: the run's standardized shards, one channel, nothing else.
    job = aws["sagemaker"].describe_training_job(TrainingJobName="quality")
    sources = [(c["ChannelName"], c["DataSource"]["S3DataSource"]["S3Uri"]) for c in job["InputDataConfig"]]
    assert sources == [("train", f"s3://{bucket}/runs/quality/train/")], sources
    raw = read_csv(aws["s3"], bucket, "runs/quality/input/raw.csv")
    standardized = read_csv(aws["s3"], bucket, "runs/quality/train/train-00000.csv")
    assert len(raw) == len(standardized) == 4000
    assert (raw[0] == standardized[0]).all(), "label first, untouched"
    for column in (1, 2):
        expected = (raw[column] - raw[column].mean()) / raw[column].std()
        assert np.allclose(standardized[column], expected, atol=1e-9)


def test_a_failing_transform_fails_the_execution_with_the_cause(workdir):
    # One row cannot be standardized (the sample std needs two): transform.py exits non-zero.
    result = run_cli("run", "--target", "local", "--rows", "1", "--name", "too-small", cwd=workdir)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert "FAILED in state \"Standardization: x' = (x - x̄) / σ\"" in line
    assert "rows" in line.lower()  # transform.py's own message travels up as the cause
    summary = json.loads((workdir / "artifacts" / "too-small" / "summary.json").read_text())
    assert summary["status"] == "FAILED" and summary["error"]["cause"]


def test_two_executions_at_once_keep_separate_data(workdir, aws, outputs):
    for name, rows in (("parallel-a", 300), ("parallel-b", 500)):
        started = run_cli("run", "--target", "local", "--rows", str(rows), "--name", name, "--no-wait", cwd=workdir)
        assert started.returncode == 0, started.stderr
    sfn = aws["stepfunctions"]
    machine = outputs["mlpipe_state_machine_arn"]
    arns = [machine.replace(":stateMachine:", ":execution:") + f":{name}" for name in ("parallel-a", "parallel-b")]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        statuses = [sfn.describe_execution(executionArn=arn)["status"] for arn in arns]
        if all(s != "RUNNING" for s in statuses):
            break
        time.sleep(0.5)
    assert statuses == ["SUCCEEDED", "SUCCEEDED"]
    bucket = outputs["mlpipe_bucket"]
    assert len(read_csv(aws["s3"], bucket, "runs/parallel-a/train/train-00000.csv")) == 300
    assert len(read_csv(aws["s3"], bucket, "runs/parallel-b/train/train-00000.csv")) == 500
    models = aws["s3"].list_objects_v2(Bucket=bucket, Prefix="runs/parallel-")["Contents"]
    assert sum(key["Key"].endswith("model.tar.gz") for key in models) == 2


def test_redeploying_changes_nothing(workdir):
    planned = run_cli("plan", "--target", "local", cwd=workdir, timeout=600)
    assert planned.returncode == 0, planned.stderr
    assert "No changes." in planned.stdout, planned.stdout
    again = run_cli("deploy", "--target", "local", "--auto-approve", cwd=workdir, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "No changes." in again.stdout


def test_run_without_a_deployed_stack_is_a_clear_error(tmp_path):
    result = run_cli("run", "--target", "local", cwd=tmp_path)
    assert_clean_error(result, "local emulator is not running", "pipeline-tools local up")


def test_ctrl_c_stops_watching_not_the_execution(workdir, aws, outputs):
    import os
    import signal
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline_tools.cli", "run", "--target", "local", "--rows", "2000", "--name", "interrupted"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # Ctrl-C as a terminal delivers it, even when this test runner was started in the background
        # with SIGINT ignored (inherited; tests/test_interrupts.py pins that `run` then keeps ignoring it)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout.readline().startswith("started interrupted")
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert "stopped watching; the execution goes on" in stderr and "Traceback" not in stderr
    arn = outputs["mlpipe_state_machine_arn"].replace(":stateMachine:", ":execution:") + ":interrupted"
    deadline = time.monotonic() + 120
    while aws["stepfunctions"].describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert aws["stepfunctions"].describe_execution(executionArn=arn)["status"] == "SUCCEEDED"


def test_max_runtime_from_the_config_reaches_both_job_requests(workdir, aws, quality_run):
    sagemaker = aws["sagemaker"]
    processing = sagemaker.describe_processing_job(ProcessingJobName="quality")
    assert processing["StoppingCondition"] == {"MaxRuntimeInSeconds": 1200}
    training = sagemaker.describe_training_job(TrainingJobName="quality")
    assert training["StoppingCondition"]["MaxRuntimeInSeconds"] == 7200


def test_the_deployed_bucket_has_the_promised_lifecycle_rules(aws, outputs):
    """README: noncurrent versions expire after 30 days, incomplete multipart uploads are aborted after 1."""
    rules = aws["s3"].get_bucket_lifecycle_configuration(Bucket=outputs["mlpipe_bucket"])["Rules"]
    by_id = {rule["ID"]: rule for rule in rules if rule["Status"] == "Enabled"}
    assert by_id["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert by_id["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_a_transient_sagemaker_error_is_retried_and_the_run_succeeds(workdir, aws):
    """The Retry policy end to end: CreateProcessingJob answers ResourceLimitExceeded once (an injected
    fault), Step Functions names it SageMaker.ResourceLimitExceededException, the state retries under the
    same job name and the execution succeeds."""
    from pipeline_tools.emulator import read_state
    from pipeline_tools.emulator.faults import inject

    state = read_state(workdir / ".pipeline-tools")
    inject(state["endpoint"], state.get("ca_bundle"), "SageMaker.CreateProcessingJob", "ResourceLimitExceeded",
           "The account-level service limit 'ml.m5.xlarge for processing job usage' is 0 Instances", times=1)
    result = run_cli("run", "--target", "local", "--rows", "300", "--name", "retried", cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    machine = next(m["stateMachineArn"] for m in aws["stepfunctions"].list_state_machines()["stateMachines"])
    arn = f"{machine.replace(':stateMachine:', ':execution:')}:retried"
    events = aws["stepfunctions"].get_execution_history(executionArn=arn, maxResults=1000)["events"]
    failed = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert [(f["error"], f["resource"]) for f in failed] == [("SageMaker.ResourceLimitExceededException", "createProcessingJob.sync")]
    assert "0 Instances" in failed[0]["cause"]
    assert aws["sagemaker"].describe_processing_job(ProcessingJobName="retried")["ProcessingJobStatus"] == "Completed"


# ---- pipeline-tools logs: CloudWatch Logs as the services write them (issue 14) --------------------

STATES = ["Generate dataset", "Standardization", "Train model (XGBoost)"]


def _log_lines(stdout: str) -> list[tuple[str, str, str]]:
    """`pipeline-tools logs` lines as (state, host, message)."""
    out = []
    for line in stdout.splitlines():
        prefix, _, message = line.partition(" | ")
        state, host = prefix.rstrip().rsplit(None, 1)
        out.append((state.strip(), host, message))
    return out


def test_logs_show_every_state_in_time_order_with_state_and_host(workdir, quality_run):
    result = run_cli("logs", "quality", "--target", "local", cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = _log_lines(result.stdout)
    order = [STATES.index(state) for state, _, _ in lines]
    assert order == sorted(order) and sorted(set(order)) == [0, 1, 2], result.stdout  # every state, one after the other
    generate = [m for s, _, m in lines if s == STATES[0]]
    request_id = generate[0].removeprefix("START RequestId: ").split()[0]
    assert generate[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert any("generated dataset" in m and "'rows': 4000" in m for m in generate)
    assert generate[-2:] == [f"END RequestId: {request_id}", generate[-1]] and generate[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert {h for s, h, _ in lines if s != STATES[0]} == {"algo-1"}
    assert any("standardized 4000 rows" in m for s, _, m in lines if s == STATES[1])
    rounds = [m.split("]", 1)[0] for s, _, m in lines if s == STATES[2] and "train-rmse" in m]
    assert rounds == [f"[{i}" for i in range(5)], result.stdout
    only = run_cli("logs", "quality", "--target", "local", "--state", "standardization", cwd=workdir)
    assert only.returncode == 0 and {s for s, _, _ in _log_lines(only.stdout)} == {STATES[1]}, only.stdout + only.stderr


def test_logs_follow_the_latest_execution_until_it_ends(workdir):
    started = run_cli("run", "--target", "local", "--rows", "300", "--name", "followed", "--no-wait", cwd=workdir)
    assert started.returncode == 0, started.stderr
    result = run_cli("logs", "--target", "local", "--follow", cwd=workdir, timeout=180)  # no EXECUTION: the latest
    assert result.returncode == 0, result.stdout + result.stderr
    lines = _log_lines(result.stdout)
    assert any("'rows': 300" in m for s, _, m in lines if s == STATES[0])  # this run's, not another's
    assert any(s == STATES[2] and m.startswith("[4]") for s, _, m in lines), result.stdout  # read to the end


def test_logs_of_an_unknown_execution_or_state_is_a_clear_error(workdir, quality_run, tmp_path):
    assert_clean_error(run_cli("logs", "no-such-run", "--target", "local", cwd=workdir), "execution 'no-such-run' not found on local")
    assert_clean_error(run_cli("logs", "quality", "--target", "local", "--state", "nope", cwd=workdir),
                       "no state 'nope' with logs in execution quality", "'Standardization'")
    assert_clean_error(run_cli("logs", "--target", "local", cwd=tmp_path), "local emulator is not running", "pipeline-tools local up")


def test_the_pipeline_in_jsonata_runs_as_it_does_in_jsonpath(workdir, aws, outputs, quality_run):
    """`query_language = "JSONata"` (issue 24) on the same deploy: the update replaces only the
    state machine's definition (which the emulator validates as AWS would), and the translated
    pipeline runs as the JSONPath one did: same states, same output fields, a model (Catch into the
    Fail state runs in both forms in tests/test_jsonata_translation.py). The JSONPath definition is
    restored after."""
    sfn, machine = aws["stepfunctions"], outputs["mlpipe_state_machine_arn"]
    config = workdir / "pipeline.toml"
    try:
        config.write_text('query_language = "JSONata"\n' + PIPELINE_TOML)
        deployed = run_cli("deploy", "--target", "local", "--auto-approve", cwd=workdir, timeout=600)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert "Plan: 0 to add, 1 to change, 0 to destroy." in deployed.stdout, deployed.stdout
        assert json.loads(sfn.describe_state_machine(stateMachineArn=machine)["definition"])["QueryLanguage"] == "JSONata"

        result = run_cli("run", "--target", "local", "--rows", "500", "--name", "jsonata", cwd=workdir)
        assert result.returncode == 0, result.stdout + result.stderr
        runs = {}
        for name in ("quality", "jsonata"):
            arn = machine.replace(":stateMachine:", ":execution:") + f":{name}"
            history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
            output = json.loads(sfn.describe_execution(executionArn=arn)["output"])
            runs[name] = (entered, {key: sorted(value) if isinstance(value, dict) else value for key, value in output.items() if key != "rows"})
        assert runs["jsonata"][0] == runs["quality"][0]
        assert sorted(runs["jsonata"][1]) == sorted(runs["quality"][1])
        assert {k: v for k, v in runs["jsonata"][1].items() if isinstance(v, list)} == {k: v for k, v in runs["quality"][1].items() if isinstance(v, list)}
        summary = json.loads((workdir / "artifacts" / "jsonata" / "summary.json").read_text())
        assert summary["status"] == "SUCCEEDED" and (workdir / "artifacts" / "jsonata" / "model.tar.gz").stat().st_size > 0

    finally:
        config.write_text(PIPELINE_TOML)
        restored = run_cli("deploy", "--target", "local", "--auto-approve", cwd=workdir, timeout=600)
        assert restored.returncode == 0, restored.stdout + restored.stderr


# ---- execution names Step Functions accepts and SageMaker does not (issue 21, item 7) -----------------

SAGEMAKER_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


def test_an_execution_name_sagemaker_refuses_still_runs(workdir, aws, outputs):
    """StartExecution accepts names of up to 80 characters with `_` and `.`
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html); SageMaker
    job names match ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} (the emulator refuses others in SageMaker's
    words). An execution started by someone else (console, a granted role) with such a name runs: its
    jobs get a valid name derived from it, the data stays under runs/<execution name>/."""
    import re

    name = "nightly_2026.01.05_" + "x" * 61  # 80 characters, `_` and `.`
    assert len(name) == 80
    sfn = aws["stepfunctions"]
    arn = sfn.start_execution(stateMachineArn=outputs["mlpipe_state_machine_arn"], name=name, input=json.dumps({"rows": 300}))["executionArn"]
    deadline = time.monotonic() + 180
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    job = json.loads(described["output"])["dataset"]["job_name"]
    assert re.fullmatch(SAGEMAKER_NAME, job) and job.startswith("nightly-2026-01-05-xxx"), job
    assert aws["sagemaker"].describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "Completed"
    model = aws["sagemaker"].describe_training_job(TrainingJobName=job)["ModelArtifacts"]["S3ModelArtifacts"]
    assert model == f"s3://{outputs['mlpipe_bucket']}/runs/{name}/models/{job}/output/model.tar.gz"

    # The CLI runs such names too, and finds the jobs by the name the execution gave them.
    # (`run` takes the names Step Functions logs to CloudWatch Logs: letters, digits, `-` and `_`.)
    result = run_cli("run", "--target", "local", "--rows", "300", "--name", "nightly_2026_01_06", cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((workdir / "artifacts" / "nightly_2026_01_06" / "summary.json").read_text())
    derived = summary["training"]["job_name"]
    assert re.fullmatch(SAGEMAKER_NAME, derived) and derived != "nightly_2026_01_06" and summary["processing"]["job_name"] == derived
    assert_clean_error(run_cli("run", "--target", "local", "--name", "nightly.2026", cwd=workdir),
                       "execution name 'nightly.2026' is not one Step Functions logs to CloudWatch Logs")
