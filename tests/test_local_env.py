"""`pipeline-tools local env`, evaluated by a real shell; the local state's stale-emulator rule; one
state path for every tool, whatever output directory cdktf/cdktn synthesize into.

A boto3 script that names no endpoint, region or credentials reaches the emulator after
`eval "$(pipeline-tools local env)"`, even from a shell whose AWS_PROFILE, session token and an
S3-specific endpoint point elsewhere. The AWS CLI, cdktf/cdktn and plain Terraform on the same
settings are the `tools` group (tests/test_tools.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import assert_clean_error, run_cli

pytestmark = pytest.mark.emulator

CLI = f"{sys.executable} -m pipeline_tools.cli"
# A boto3 "user script": nothing about the emulator in it.
SCRIPT = (
    "import boto3, json; "
    "identity = boto3.client('sts').get_caller_identity(); "
    "s3 = boto3.client('s3'); s3.create_bucket(Bucket='env-check'); "
    "print(json.dumps({'account': identity['Account'], 'buckets': [b['Name'] for b in s3.list_buckets()['Buckets']]}))"
)
ELSEWHERE = {
    "AWS_PROFILE": "production",
    "AWS_SESSION_TOKEN": "a-real-session-token",
    "AWS_ENDPOINT_URL_S3": "https://s3.elsewhere.invalid",
    "AWS_ACCESS_KEY_ID": "AKIAREALKEY",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    directory = tmp_path_factory.mktemp("local-env")
    up = run_cli("local", "up", "--port", "0", cwd=directory)
    assert up.returncode == 0, up.stderr
    try:
        yield directory
    finally:
        run_cli("local", "down", cwd=directory)


def bash(script: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], cwd=cwd, env={**os.environ, **(env or {})}, text=True, capture_output=True, timeout=120)


def test_no_emulator_is_a_one_line_error_with_exit_2(tmp_path):
    assert_clean_error(run_cli("local", "env", cwd=tmp_path), "local emulator is not running", "pipeline-tools local up")


def test_unset_needs_no_emulator_and_removes_what_env_sets(tmp_path):
    from pipeline_tools.emulator.env import SET_VARIABLES

    expected = {
        "bash": [f"unset {name}" for name in SET_VARIABLES],
        "fish": [f"set -e {name}" for name in SET_VARIABLES],
        "powershell": [f"Remove-Item Env:{name} -ErrorAction SilentlyContinue" for name in SET_VARIABLES],
    }
    for shell, lines in expected.items():
        result = run_cli("local", "env", "--unset", "--shell", shell, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[1:] == lines


def test_a_boto3_script_reaches_the_emulator_through_eval_of_local_env(project):
    state = json.loads((project / ".pipeline-tools" / "emulator.json").read_text())
    result = bash(f'eval "$({CLI} local env --shell bash)" && {sys.executable} -c "{SCRIPT}"', project, ELSEWHERE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"account": "123456789012", "buckets": ["env-check"]}

    printed = bash(f'eval "$({CLI} local env)" && env', project, ELSEWHERE).stdout.splitlines()
    values = dict(line.split("=", 1) for line in printed if line.startswith("AWS_"))
    assert values["AWS_ENDPOINT_URL"] == state["endpoint"] and values["AWS_CA_BUNDLE"] == state["ca_bundle"]
    assert values["AWS_REGION"] == values["AWS_DEFAULT_REGION"] == "us-east-1"
    assert values["AWS_EC2_METADATA_DISABLED"] == "true"
    for gone in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        assert gone not in values, gone

    reverted = bash(f'eval "$({CLI} local env)" && eval "$({CLI} local env --unset)" && env', project).stdout
    assert "AWS_ENDPOINT_URL=" not in reverted and "AWS_CA_BUNDLE=" not in reverted


def test_every_shell_gets_its_own_syntax_with_values_quoted(project):
    from pipeline_tools.emulator.env import render

    for shell in ("bash", "zsh", "fish", "powershell"):
        result = run_cli("local", "env", "--shell", shell, cwd=project)
        assert result.returncode == 0, result.stderr
        first = result.stdout.splitlines()[1]
        assert first == {
            "bash": "export AWS_ENDPOINT_URL={}",
            "zsh": "export AWS_ENDPOINT_URL={}",
            "fish": "set -gx AWS_ENDPOINT_URL {}",
            "powershell": "$Env:AWS_ENDPOINT_URL = '{}'",
        }[shell].format(json.loads((project / ".pipeline-tools" / "emulator.json").read_text())["endpoint"])
    # A CA path with a space or a quote survives each shell's quoting.
    odd = {"AWS_CA_BUNDLE": "/tmp/it's here/ca.pem"}
    assert render("bash", odd, [], "c").splitlines()[1] == "export AWS_CA_BUNDLE='/tmp/it'\"'\"'s here/ca.pem'"
    assert render("powershell", odd, [], "c").splitlines()[1] == "$Env:AWS_CA_BUNDLE = '/tmp/it''s here/ca.pem'"
    evaluated = bash(render("bash", odd, [], "c") + 'printf %s "$AWS_CA_BUNDLE"', project)
    assert evaluated.stdout == "/tmp/it's here/ca.pem"


def test_the_local_state_is_dropped_only_when_written_before_the_running_emulator(project, monkeypatch):
    """A state written since the emulator started (by pipeline-tools, cdktf, cdktn or terraform) is
    this emulator's and is kept; one from before describes a stopped emulator and is removed."""
    from pipeline_tools.operations.stack import forget_state_of_stopped_emulators

    monkeypatch.chdir(project)
    since = json.loads((project / ".pipeline-tools" / "emulator.json").read_text())["data_since"]
    state_dir = project / ".pipeline-tools" / "state" / "local"
    state_dir.mkdir(parents=True, exist_ok=True)
    current = state_dir / "terraform.tfstate"
    current.write_text('{"written": "by cdktf deploy, against this emulator"}')
    forget_state_of_stopped_emulators(state_dir)
    assert current.is_file()

    (state_dir / "terraform.tfstate.backup").write_text("{}")
    for path in state_dir.iterdir():
        os.utime(path, (since - 60, since - 60))  # last written a minute before this emulator started
    forget_state_of_stopped_emulators(state_dir)
    assert sorted(p.name for p in state_dir.iterdir()) == []
    assert since <= time.time()


def test_the_app_points_every_output_directory_at_the_one_state(tmp_path):
    """cdktf/cdktn run infra/app.py with CDKTF_OUTDIR = their --output: the backend path, relative to
    the stack directory, must still name the project's state file, whatever that directory's depth."""
    out = tmp_path / "deep" / "er" / "out"
    out.mkdir(parents=True)  # the CLI creates it before running the app
    env = {**os.environ, "CDKTF_OUTDIR": "deep/er/out", "PIPELINE_TOOLS_TARGET": "aws"}
    env.pop("PIPELINE_TOOLS_CONFIG", None)
    result = subprocess.run([sys.executable, str(Path(__file__).resolve().parents[1] / "infra" / "app.py")],
                            cwd=tmp_path, env=env, text=True, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr
    stack_dir = out / "stacks" / "ml-pipeline"
    backend = json.loads((stack_dir / "cdk.tf.json").read_text())["terraform"]["backend"]["local"]["path"]
    assert (stack_dir / backend).resolve() == (tmp_path / ".pipeline-tools" / "state" / "aws" / "terraform.tfstate").resolve()
