"""README claims that no other test checks: the same stack on both targets, PIPELINE_TOOLS_TARGET,
`--verbose` tracebacks, and "AWS rejected the credentials" at deploy, each through the real CLI.

One emulator for the module, started with moto's request authentication on
(INITIAL_NO_AUTH_ACTION_COUNT=0), so it rejects unknown access keys as AWS does
(InvalidClientTokenId); `synth --target local` only reads its endpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import assert_clean_error, run_cli
from .conftest_emulator import emulator_in

pytestmark = pytest.mark.emulator

STACK = Path("stacks") / "ml-pipeline" / "cdk.tf.json"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project directory whose emulator authenticates requests (unknown keys are rejected)."""
    directory = tmp_path_factory.mktemp("claims")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "0")  # moto: authenticate from the first request
        with emulator_in(directory / ".pipeline-tools") as state:
            patch.delenv("INITIAL_NO_AUTH_ACTION_COUNT")
            yield directory, state


@pytest.fixture(scope="module")
def both_targets(project):
    """The default config synthesized for aws (--target) and for local (PIPELINE_TOOLS_TARGET only)."""
    directory, _ = project
    aws = run_cli("synth", "--target", "aws", "--out", "out-aws", cwd=directory)
    assert aws.returncode == 0, aws.stderr
    local = run_cli("synth", "--out", "out-local", cwd=directory, env={"PIPELINE_TOOLS_TARGET": "local"})
    assert local.returncode == 0, local.stderr
    return (json.loads((directory / "out-aws" / STACK).read_text()), json.loads((directory / "out-local" / STACK).read_text()))


def test_pipeline_tools_target_selects_the_local_target(both_targets, project):
    _, state = project
    _, local = both_targets
    (provider,) = local["provider"]["aws"]
    # The endpoint comes from the profile of the shared config file `local up` wrote (no `endpoints`
    # block: it costs every terraform command ~4.5 s of CPU), and that profile names the emulator.
    assert "endpoints" not in provider
    assert provider["shared_config_files"] == [state["aws_config"]] and provider["profile"] == "pipeline-tools-local"
    config = Path(state["aws_config"]).read_text()
    assert "[profile pipeline-tools-local]" in config and f"endpoint_url = {state['endpoint']}" in config


def test_local_and_aws_deploy_the_very_same_stack(both_targets):
    """Resources, data sources, outputs and variables are equal; the provider differs only in where
    it sends requests and with which (throwaway) credentials; the backend only in the state path."""
    aws, local = both_targets
    assert set(aws) == set(local)
    for section in set(aws) - {"provider", "terraform", "//"}:
        assert aws[section] == local[section], section
    (aws_provider,) = aws["provider"]["aws"]
    (local_provider,) = local["provider"]["aws"]
    endpoint_and_credentials = {
        "shared_config_files", "profile", "access_key", "secret_key", "custom_ca_bundle", "s3_use_path_style",
        "skip_credentials_validation", "skip_requesting_account_id", "skip_metadata_api_check",
    }
    assert set(aws_provider) ^ set(local_provider) <= endpoint_and_credentials, set(aws_provider) ^ set(local_provider)
    for key in set(aws_provider) & set(local_provider):
        assert aws_provider[key] == local_provider[key], key  # region, default tags...
    assert {k: v for k, v in aws["terraform"].items() if k != "backend"} == {k: v for k, v in local["terraform"].items() if k != "backend"}
    assert aws["terraform"]["backend"]["local"]["path"].endswith("/state/aws/terraform.tfstate")
    assert local["terraform"]["backend"]["local"]["path"].endswith("/state/local/terraform.tfstate")


def test_deploy_to_aws_with_rejected_credentials_fails_before_terraform(project):
    """deploy --target aws asks STS first; here STS is the emulator, which does not know the key."""
    directory, state = project
    env = {
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",  # AWS's documentation example key: no account has it
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_ENDPOINT_URL_STS": state["endpoint"],
        "AWS_CA_BUNDLE": state["ca_bundle"],
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    env = {**{k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}, **env}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline_tools.cli", "deploy", "--target", "aws", "--auto-approve", "--out", "out-rejected"],
        cwd=directory, env=env, text=True, capture_output=True, timeout=300,
    )
    line = assert_clean_error(done, "aws sso login")
    assert line.startswith("error: AWS rejected the credentials (InvalidClientTokenId)")
    assert not (directory / "out-rejected").exists(), "nothing synthesized or initialised"


# An unexpected exception, injected where `synth` calls into the synthesis module.
INJECT = (
    "import sys, pipeline_tools.synthesis as synthesis\n"
    "def broken(*args, **kwargs): raise RuntimeError('injected failure')\n"
    "synthesis.synthesize = broken\n"
    "from pipeline_tools.cli import main\n"
    "main()\n"
)


def _cli_with_injected_failure(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", INJECT, *args], cwd=cwd, env={**os.environ, **(env or {})},
                          text=True, capture_output=True, timeout=120)


def test_verbose_shows_the_traceback_of_an_unexpected_error(tmp_path):
    quiet = _cli_with_injected_failure("synth", cwd=tmp_path)
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    assert quiet.stderr.strip() == "error: unexpected RuntimeError: injected failure (re-run with --verbose for a traceback)"
    for loud in (_cli_with_injected_failure("--verbose", "synth", cwd=tmp_path),
                 _cli_with_injected_failure("synth", cwd=tmp_path, env={"PIPELINE_TOOLS_VERBOSE": "1"})):
        assert loud.returncode != 0
        assert "Traceback (most recent call last)" in loud.stderr and "in broken" in loud.stderr, loud.stderr
        assert loud.stderr.strip().endswith("RuntimeError: injected failure")


def test_verbose_shows_the_traceback_of_a_handled_error_too(tmp_path):
    config = tmp_path / "pipeline.toml"
    config.write_text('region = "nowhere"\n')
    quiet = run_cli("synth", "--config", str(config), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert_clean_error(quiet, "region: 'nowhere' is not an AWS region name")
    loud = run_cli("--verbose", "synth", "--config", str(config), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert loud.returncode == 2
    assert "Traceback (most recent call last)" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1] == quiet.stderr.strip()  # the same one line, last
