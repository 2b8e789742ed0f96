"""`local up --no-iam` really turns IAM enforcement off, and the mode the CLI picks is the one asked
(issue 26: nothing asserted it; the IAM tests would have turned into skips instead of failures)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from pipeline_tools.emulator import client_kwargs
from pipeline_tools.emulator.authz import enforce

from .conftest import run_cli

pytestmark = pytest.mark.emulator


@pytest.mark.parametrize(
    "flag, environment, expected",
    [(True, None, True), (False, None, False), (None, None, True), (None, "0", False), (None, "1", True), (True, "0", True), (False, "1", False)],
)
def test_the_cli_picks_the_mode_asked_and_hands_it_to_the_server(monkeypatch, flag, environment, expected):
    if environment is None:
        monkeypatch.delenv(enforce.ENV_FLAG, raising=False)
    else:
        monkeypatch.setenv(enforce.ENV_FLAG, environment)
    assert enforce.choose_for_cli(flag) is expected
    assert enforce.enabled() is expected  # the variable the server process reads


def test_the_server_defaults_to_off_when_started_from_python(monkeypatch):
    monkeypatch.delenv(enforce.ENV_FLAG, raising=False)
    assert enforce.enabled() is False


def test_local_up_no_iam_runs_without_enforcement(tmp_path):
    up = run_cli("local", "up", "--port", "0", "--no-iam", cwd=tmp_path)
    try:
        assert up.returncode == 0, up.stderr
        assert "IAM enforcement: off" in up.stderr
        status = run_cli("local", "status", cwd=tmp_path)
        assert "IAM enforcement: off" in status.stderr, status.stderr
        state = json.loads((tmp_path / ".pipeline-tools" / "emulator.json").read_text())
        kwargs = client_kwargs(state)
        kwargs.update(aws_access_key_id="AKIANEVERISSUEDBYIAM", aws_secret_access_key="x")
        # An access key no one issued: refused with enforcement (InvalidAccessKeyId), accepted without.
        s3 = boto3.session.Session().client("s3", **kwargs)
        s3.create_bucket(Bucket="no-iam-bucket")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["no-iam-bucket"]
        with pytest.raises(ClientError):
            s3.get_object(Bucket="no-iam-bucket", Key="absent")  # the emulator answers as S3 does, nothing more
    finally:
        run_cli("local", "down", cwd=tmp_path)
