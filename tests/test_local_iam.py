"""IAM enforcement on the real local stack (issue 11): Terraform deploys as the account's
administrator, the run goes through the stack's own roles, `run` records what it used in
access.json and `verify-iam --observed` proves that against the documented minimum; a permission
taken away through the emulator's IAM API fails the next run with one line naming the state, the
role, the action and the resource."""

from __future__ import annotations

import json

import pytest

from .conftest import run_cli

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]



def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, plugin_dir):
    directory = tmp_path_factory.mktemp("local-iam")
    up = run_cli("local", "up", "--port", str(_free_port()), "--iam", cwd=directory)
    assert up.returncode == 0, up.stderr
    assert "IAM enforcement: on" in up.stderr
    deployed = run_cli("deploy", "--target", "local", "--auto-approve", cwd=directory, timeout=600)
    assert deployed.returncode == 0, deployed.stderr
    yield directory
    run_cli("local", "down", cwd=directory)


def test_status_says_enforcement_is_on(workdir):
    status = run_cli("local", "status", cwd=workdir)
    assert status.returncode == 0 and status.stdout.startswith("https://127.0.0.1:")
    assert "IAM enforcement: on" in status.stderr


def test_a_run_records_what_it_used_and_verify_iam_proves_it(workdir):
    result = run_cli("run", "--target", "local", "--rows", "500", "--name", "observed", cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    access = json.loads((workdir / "artifacts" / "observed" / "access.json").read_text())
    assert access["enforced"] is True and access["execution"] == "observed"
    used = {(d["service"], d["action"]) for d in access["decisions"] if d["decision"] == "allowed"}
    for expected in [
        ("states.amazonaws.com", "lambda:InvokeFunction"),
        ("states.amazonaws.com", "iam:PassRole"),
        ("states.amazonaws.com", "events:PutRule"),
        ("lambda.amazonaws.com", "s3:PutObject"),
        ("lambda.amazonaws.com", "kms:GenerateDataKey"),
        ("sagemaker.amazonaws.com", "s3:GetObject"),
        ("sagemaker.amazonaws.com", "kms:Decrypt"),
        ("sagemaker.amazonaws.com", "ecr:BatchGetImage"),
    ]:
        assert expected in used, expected
    assert all(d["decision"] == "allowed" for d in access["decisions"])
    invoke = next(d for d in access["decisions"] if d["action"] == "lambda:InvokeFunction")
    assert invoke["principal"].startswith("arn:aws:sts::123456789012:assumed-role/mlpipe-state-machine/")
    assert invoke["statement"].endswith("statement InvokeGenerateDataset") or "InvokeGenerateDataset" in invoke["statement"]

    verified = run_cli("verify-iam", "--observed", str(workdir / "artifacts" / "observed"), "--format", "json",
                       "--stack-dir", str(workdir / "cdktf.out" / "stacks" / "ml-pipeline"), cwd=workdir)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_removed_permission_fails_the_run_with_one_line_naming_it(workdir):
    from pipeline_tools.emulator import client, read_state

    iam = client("iam", read_state(workdir / ".pipeline-tools"))
    role = "mlpipe-sagemaker-jobs"
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    original = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    reduced = {**original, "Statement": [s for s in original["Statement"] if s.get("Sid") != "ReadPipelineData"]}
    iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(reduced))
    try:
        result = run_cli("run", "--target", "local", "--rows", "50", "--name", "no-read", cwd=workdir)
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(original))
    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert "FAILED in state \"Standardization: x' = (x - x̄) / σ\"" in line
    assert "role mlpipe-sagemaker-jobs is not allowed s3:GetObject on arn:aws:s3:::mlpipe-data-123456789012-us-east-1/" in line
    access = json.loads((workdir / "artifacts" / "no-read" / "access.json").read_text())
    denied = [d for d in access["decisions"] if d["decision"] != "allowed"]
    assert denied and denied[0]["action"] == "s3:GetObject"

    findings = run_cli("verify-iam", "--observed", str(workdir / "artifacts" / "no-read"), "--format", "json",
                       "--stack-dir", str(workdir / "cdktf.out" / "stacks" / "ml-pipeline"), cwd=workdir)
    assert findings.returncode == 1
    assert "PTI017" in findings.stdout
