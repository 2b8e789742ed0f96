"""Helpers for the emulator tests: a real emulator process per module, on a port it picks itself.

Not a ``conftest.py`` on purpose (the fixtures are module-scoped and opt-in): test modules
import :func:`emulator_in` and wrap it in their own fixture.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"


@contextlib.contextmanager
def emulator_in(directory: Path) -> Iterator[dict]:
    """Start a real emulator (moto server process) with its state in ``directory``; stop it after.
    Port 0: the server binds one the kernel picks (no probe-then-bind race) and reports it."""
    from pipeline_tools.emulator import start_emulator, stop_emulator

    state = start_emulator(0, directory)
    try:
        yield state
    finally:
        stop_emulator(directory)


def zip_files(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def create_role(iam, name: str = "emulator-test-role") -> str:
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}')["Role"]["Arn"]


def tls_only_policy(bucket: str) -> str:
    import json

    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def project_clients(directory: Path) -> dict:
    """S3, Step Functions and SageMaker clients of the emulator a project in ``directory`` runs (`local up`)."""
    from pipeline_tools.emulator import client, read_state

    state = read_state(directory / ".pipeline-tools")
    return {service: client(service, state) for service in ("s3", "stepfunctions", "sagemaker")}


def wait_execution(sfn, arn: str, timeout: float = 120.0) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {arn} still RUNNING after {timeout} s")
        time.sleep(0.2)


def account_client(state: dict, service: str, account: str):
    """A boto3 client acting as ``account``'s administrator (its root user): the emulator takes the
    access key ID ``<12 digits>`` as that account's (patches/accounts.py). The default account
    123456789012 is the emulator's own key (``client(service, state)``)."""
    import boto3

    from pipeline_tools.emulator import client_kwargs

    kwargs = client_kwargs(state)
    kwargs.update(aws_access_key_id=account, aws_secret_access_key="testing")
    return boto3.session.Session().client(service, **kwargs)


def session_client(state: dict, service: str, credentials: dict):
    """A boto3 client with an STS session's ``Credentials`` (AssumeRole's answer): the role's account."""
    import boto3

    from pipeline_tools.emulator import client_kwargs

    kwargs = client_kwargs(state)
    kwargs.update(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return boto3.session.Session().client(service, **kwargs)
