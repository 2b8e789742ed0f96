"""The quality gate on your data, end to end on the emulator with IAM enforced (issue 23).

examples/own-data (the breast cancer table, your preprocess.py, built-in XGBoost) with
``[quality_gate]``: the batch transform predicts the ``test`` output with SageMaker's label-first join,
the pipeline evaluates and gates it. One deploy, updated once:

* an execution started with plain boto3 StartExecution (not `run`: a schedule, the console, a role
  given grant_start_execution) is evaluated, gated and registered all the same;
* with a threshold no model reaches, `run` stops at the gate (exit 1, one line naming metric, value
  and threshold), nothing is registered, and the run used only documented grants.
"""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest

from .conftest import ROOT, run_cli
from .conftest_emulator import project_clients, wait_execution

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]

EXAMPLE = ROOT / "examples" / "own-data"
DATA_BUCKET = "my-team-data"
GROUP = "cancer-models"
GATE = '\n[quality_gate]\nenabled = true\nmetric = "auc"\nthreshold = 0.95\n'
UNREACHABLE = '\n[quality_gate]\nenabled = true\nmetric = "logloss"\nthreshold = 0.0\n'


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, plugin_dir):
    directory = tmp_path_factory.mktemp("gate-own-data")
    shutil.copytree(EXAMPLE, directory, dirs_exist_ok=True)
    (directory / "pipeline.toml").write_text((EXAMPLE / "pipeline.toml").read_text() + GATE)
    up = run_cli("local", "up", "--port", "0", cwd=directory)
    assert up.returncode == 0, up.stderr
    try:
        s3 = project_clients(directory)["s3"]
        s3.create_bucket(Bucket=DATA_BUCKET)
        s3.upload_file(str(directory / "data" / "breast_cancer.csv"), DATA_BUCKET, "breast-cancer/breast_cancer.csv")
        deployed = run_cli("deploy", "--target", "local", "--auto-approve", cwd=directory, timeout=900)
        assert deployed.returncode == 0, deployed.stderr
        yield directory
    finally:
        run_cli("local", "down", cwd=directory)


@pytest.fixture(scope="module")
def aws(workdir):
    return project_clients(workdir)


def _bucket(aws) -> str:
    return next(b["Name"] for b in aws["s3"].list_buckets()["Buckets"] if b["Name"].startswith("cancer-data-"))


def _versions(aws) -> list[dict]:
    return aws["sagemaker"].list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]


@pytest.fixture(scope="module")
def plain(workdir, aws):
    sfn = aws["stepfunctions"]
    machine = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"])
    started = sfn.start_execution(stateMachineArn=machine, name="plain", input="{}")
    return wait_execution(sfn, started["executionArn"], timeout=600)


def test_an_execution_started_outside_run_is_evaluated_gated_and_registered(aws, plain):
    assert plain["status"] == "SUCCEEDED", plain
    entered = [e["stateEnteredEventDetails"]["name"] for e in aws["stepfunctions"].get_execution_history(
        executionArn=plain["executionArn"], maxResults=1000)["events"] if e["type"].endswith("StateEntered")]
    assert entered[-6:] == ["Create model", "Batch transform", "Evaluate model", "Read evaluation", "Quality gate", "Register model"]
    bucket = _bucket(aws)
    report = json.loads(aws["s3"].get_object(Bucket=bucket, Key="runs/plain/evaluation/evaluation.json")["Body"].read())
    metrics = report["binary_classification_metrics"]
    assert metrics["auc"]["value"] > 0.95  # a constant predictor's is 0.5
    assert metrics["accuracy"]["value"] > metrics["accuracy_best_constant_classifier"]["value"] + 0.2
    (version,) = [v for v in _versions(aws)]
    package = aws["sagemaker"].describe_model_package(ModelPackageName=version["ModelPackageArn"])
    assert package["MetadataProperties"]["GeneratedBy"] == plain["executionArn"]
    assert package["CustomerMetadataProperties"]["execution"] == "plain"
    assert float(package["CustomerMetadataProperties"]["value"]) == pytest.approx(metrics["auc"]["value"])


def test_the_test_rows_are_predicted_label_first_as_sagemaker_joins_them(aws, plain):
    """DataProcessing InputFilter $[1:], JoinSource Input, OutputFilter $[0,-1]: each output line is the
    test row's label and the model's prediction, row for row; the model never saw the label column."""
    bucket = _bucket(aws)
    test = np.loadtxt(io.BytesIO(aws["s3"].get_object(Bucket=bucket, Key="runs/plain/test/test.csv")["Body"].read()), delimiter=",", ndmin=2)
    joined = np.loadtxt(io.BytesIO(aws["s3"].get_object(Bucket=bucket, Key="runs/plain/predictions/test.csv.out")["Body"].read()), delimiter=",", ndmin=2)
    assert joined.shape == (len(test), 2) and len(test) == int(0.2 * 569)
    assert (joined[:, 0] == test[:, 0]).all() and ((joined[:, 1] >= 0) & (joined[:, 1] <= 1)).all()
    job = aws["sagemaker"].describe_transform_job(TransformJobName="plain")
    assert job["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}
    assert job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{bucket}/runs/plain/test/"


@pytest.fixture(scope="module")
def unreachable(workdir, plain):
    """The same stack, updated to a threshold no model reaches (log loss <= 0), then run."""
    (workdir / "pipeline.toml").write_text((EXAMPLE / "pipeline.toml").read_text() + UNREACHABLE)
    deployed = run_cli("deploy", "--target", "local", "--auto-approve", cwd=workdir, timeout=900)
    assert deployed.returncode == 0, deployed.stderr
    return run_cli("run", "--target", "local", "--name", "strict", cwd=workdir, timeout=600)


def test_an_unreachable_threshold_stops_at_the_gate_in_one_line_and_registers_nothing(workdir, aws, unreachable):
    assert unreachable.returncode == 1, unreachable.stdout + unreachable.stderr
    lines = unreachable.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in unreachable.stderr, unreachable.stderr
    assert lines[0].startswith("error: execution strict stopped at the quality gate: logloss = 0.")
    assert "is above the threshold 0.0 (logloss <= 0.0 required): the model is not registered" in lines[0]
    assert len(_versions(aws)) == 1  # the plain execution's only
    summary = json.loads((workdir / "artifacts" / "strict" / "summary.json").read_text())
    assert summary["status"] == "FAILED" and summary["error"]["error"] == "Pipeline.QualityGateFailed"
    assert summary["quality_gate"]["passed"] is False and summary["quality_gate"]["metric"] == "logloss"
    assert summary["quality_gate"]["value"] == summary["evaluation"]["metrics"]["logloss"] > 0
    assert "Register model" not in [s["name"] for s in summary["states"]]
    assert (workdir / "artifacts" / "strict" / "predictions.csv").is_file() and "not registered" in (workdir / "artifacts" / "strict" / "report.html").read_text()


def test_both_runs_together_used_exactly_the_documented_grants(workdir, plain, unreachable):
    """verify-iam --observed on the refused run alone finds RegisterModels unused (it registered
    nothing): a finding, as it should be; with the plain execution's access log beside it, every grant
    was used or says why not."""
    from pipeline_tools.emulator import read_state
    from pipeline_tools.emulator.access import fetch_access_log

    alone = run_cli("verify-iam", "--observed", str(workdir / "artifacts" / "strict"), cwd=workdir)
    assert alone.returncode == 1 and "PTI016 [medium] state_machine RegisterModels: sagemaker:CreateModelPackage is granted but no given run used it" in alone.stdout
    folder = workdir / "artifacts" / "plain"  # what `run` writes for its executions, for the one boto3 started
    folder.mkdir(parents=True, exist_ok=True)
    access = fetch_access_log(read_state(workdir / ".pipeline-tools"), plain["executionArn"])
    (folder / "access.json").write_text(json.dumps({"execution": "plain", "execution_arn": plain["executionArn"], **access}))
    both = run_cli("verify-iam", "--observed", str(workdir / "artifacts" / "strict"), "--observed", str(folder), cwd=workdir)
    assert both.returncode == 0, both.stdout[-3000:] + both.stderr
