"""examples/estate: a CDK Terrain app composing two pipelines with a shared KMS key.

Synthesized by running the example itself (`python main.py`, as `cdktf synth` would), validated
with the real Terraform, applied to the emulator, and planned again: no changes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT
from .conftest_emulator import emulator_in

ESTATE = ROOT / "examples" / "estate"
pytestmark = [pytest.mark.emulator, pytest.mark.terraform, pytest.mark.xdist_group("estate")]


def terraform(directory: Path, *args: str) -> subprocess.CompletedProcess:
    from pipeline_tools.terraform import command_for, find_terraform

    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1", "AWS_EC2_METADATA_DISABLED": "true"}
    env.pop("TF_CLI_CONFIG_FILE", None)
    return subprocess.run([*command_for(find_terraform()), *args], cwd=directory, env=env, text=True, capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    directory = tmp_path_factory.mktemp("estate-emulator")
    with emulator_in(directory / ".pipeline-tools") as state:
        yield directory, state


@pytest.fixture(scope="module")
def stack_dir(emulator, tmp_path_factory, plugin_dir) -> Path:
    """The example synthesized for the emulator (ESTATE_TARGET=local), initialised."""
    project, _ = emulator
    app = tmp_path_factory.mktemp("estate")
    shutil.copy(ESTATE / "main.py", app / "main.py")
    shutil.copy(ESTATE / "cdktf.json", app / "cdktf.json")
    env = {**os.environ, "ESTATE_TARGET": "local", "ESTATE_PROJECT_DIR": str(project), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    synth = subprocess.run([sys.executable, "main.py"], cwd=app, env=env, text=True, capture_output=True, timeout=300)
    assert synth.returncode == 0, synth.stderr
    directory = app / "cdktf.out" / "stacks" / "estate"
    init = terraform(directory, "init", "-input=false", "-no-color", f"-plugin-dir={plugin_dir}")
    assert init.returncode == 0, init.stderr
    return directory


def test_two_pipelines_and_a_shared_key_validate(stack_dir):
    stack = json.loads((stack_dir / "cdk.tf.json").read_text())
    functions = {f["function_name"] for f in stack["resource"]["aws_lambda_function"].values()}
    assert functions == {"churn-generate-dataset", "fraud-generate-dataset"}
    machines = {m["name"] for m in stack["resource"]["aws_sfn_state_machine"].values()}
    assert machines == {"churn-pipeline", "fraud-pipeline"}
    (key_id,) = stack["resource"]["aws_kms_key"]
    key_arn = f"${{aws_kms_key.{key_id}.arn}}"
    # Both pipelines encrypt their logs, bucket and Lambda environment with the shared key.
    assert [g["kms_key_id"] for g in stack["resource"]["aws_cloudwatch_log_group"].values()] == [key_arn] * 4
    assert {f["kms_key_arn"] for f in stack["resource"]["aws_lambda_function"].values()} == {key_arn}
    assert {"churn_bucket", "fraud_bucket", "shared_key_arn"} <= set(stack["output"])
    validated = json.loads(terraform(stack_dir, "validate", "-json", "-no-color").stdout)
    assert validated["valid"], validated["diagnostics"]


def test_the_key_policy_is_the_constructs_and_admits_cloudwatch_logs_for_all_four_groups(stack_dir):
    stack = json.loads((stack_dir / "cdk.tf.json").read_text())
    (key,) = stack["resource"]["aws_kms_key"].values()
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    assert set(statements) == {
        "KeyAdministration", "UseThroughS3AndLambda", "UseThroughCloudWatchLogsForThePipelineLogGroups", "GrantsForAwsResourcesOnly",
        "CloudWatchLogsForThePipelineLogGroups",
    }
    logs = statements["CloudWatchLogsForThePipelineLogGroups"]
    assert logs["Principal"]["Service"].startswith("logs.")
    names = sorted(g["name"] for g in stack["resource"]["aws_cloudwatch_log_group"].values())
    for sid in ("CloudWatchLogsForThePipelineLogGroups", "UseThroughCloudWatchLogsForThePipelineLogGroups"):  # the service, and its callers
        groups = statements[sid]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
        assert sorted(g.rsplit(":", 1)[1] for g in groups) == names, sid
    # verify-iam reads the key policy and finds the CloudWatch Logs statement (PTI014 stays quiet).
    from pipeline_tools.iam import verify

    assert verify(stack_dir=stack_dir)[1] == []


def test_the_estate_applies_to_the_emulator_and_converges(stack_dir, emulator):
    _, state = emulator
    applied = terraform(stack_dir, "apply", "-auto-approve", "-input=false", "-no-color")
    assert applied.returncode == 0, applied.stderr
    assert "Resources: 38 added, 0 changed, 0 destroyed." in applied.stdout
    again = terraform(stack_dir, "plan", "-detailed-exitcode", "-input=false", "-no-color")
    assert again.returncode == 0, again.stdout + again.stderr

    from pipeline_tools.emulator import client

    outputs = {name: item["value"] for name, item in json.loads(terraform(stack_dir, "output", "-json").stdout).items()}
    s3 = client("s3", state)
    for prefix in ("churn", "fraud"):
        encryption = s3.get_bucket_encryption(Bucket=outputs[f"{prefix}_bucket"])
        rule = encryption["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
        assert rule == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": outputs["shared_key_arn"]}
    machines = {m["name"] for m in client("stepfunctions", state).list_state_machines()["stateMachines"]}
    assert {"churn-pipeline", "fraud-pipeline"} <= machines
