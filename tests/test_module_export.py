"""`pipeline-tools module export`: a plain Terraform JSON module, used by examples/terraform-root.

The export is checked statically (files, variables, outputs, no provider/backend, README), then
the example root module is applied to the emulator with the real Terraform and planned again:
no changes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT, assert_clean_error, run_cli
from .conftest_emulator import emulator_in

EXAMPLE = ROOT / "examples" / "terraform-root"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the example next to a fresh export at build/module (the path main.tf uses)."""
    directory = tmp_path_factory.mktemp("terraform-root")
    shutil.copytree(EXAMPLE, directory / "examples" / "terraform-root", ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    result = run_cli("module", "export", str(directory / "build" / "module"), cwd=directory)
    assert result.returncode == 0, result.stderr
    return directory


@pytest.fixture(scope="module")
def module_dir(project) -> Path:
    return project / "build" / "module"


def load(module_dir: Path, name: str) -> dict:
    return json.loads((module_dir / name).read_text())


def terraform(directory: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    import os

    from pipeline_tools.terraform import command_for, find_terraform

    # No test here may reach real AWS or wait for an instance metadata service.
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1", "AWS_EC2_METADATA_DISABLED": "true"}
    env.pop("TF_CLI_CONFIG_FILE", None)
    return subprocess.run([*command_for(find_terraform()), *args], cwd=directory, env=env, text=True, capture_output=True, timeout=timeout)


def test_the_module_has_variables_outputs_and_assets_but_no_provider_or_backend(module_dir):
    assert sorted(p.name for p in module_dir.iterdir()) == [
        ".pipeline-tools-module", "README.md", "assets", "main.tf.json", "outputs.tf.json", "variables.tf.json"
    ]
    main = load(module_dir, "main.tf.json")
    assert "provider" not in main and "backend" not in main["terraform"]
    assert main["terraform"]["required_providers"]["aws"]["source"] == "hashicorp/aws"
    variables = load(module_dir, "variables.tf.json")["variable"]
    assert [name for name, spec in variables.items() if "default" not in spec] == ["name_prefix"]
    assert set(variables) >= {"bucket_name", "processing_instance_type", "training_instance_type", "hyperparameters",
                              "processing_image", "training_image", "tags", "kms_key_arn", "create_kms_key",
                              "subnet_ids", "security_group_ids", "access_log_bucket", "code_signing_config_arn"}
    outputs = load(module_dir, "outputs.tf.json")["output"]
    assert set(outputs) == {"bucket", "state_machine_arn", "generate_function_name", "state_machine_role_arn",
                            "sagemaker_role_arn", "lambda_role_arn", "state_machine_log_group", "lambda_log_group"}
    text = json.dumps(main)
    for sentinel in ("pxmodprefixq", "pxsentinel", "pxkmssentinel", "pxprocimage", "pxtrainimage", "pxhpsentinel",
                     "0000000000000dead", "0000000000000beef", "pxmodaccesslogs", "__pxkey__"):
        assert sentinel not in text, sentinel
    assert "${jsonencode(var.hyperparameters)}" in text
    # Secure by default, as the construct: the module's own key unless one is given or opted out.
    (key,) = main["resource"]["aws_kms_key"].values()
    assert key["count"] == "${local.create_kms_key ? 1 : 0}" and key["enable_key_rotation"] is True
    assert main["locals"]["create_kms_key"] == "${var.kms_key_arn == null && var.create_kms_key}"
    assert variables["create_kms_key"]["default"] is True
    assert {g["kms_key_id"] for g in main["resource"]["aws_cloudwatch_log_group"].values()} == {"${local.kms_key_arn}"}
    assert "aws_kms_key." not in text.replace(f"aws_kms_key.{next(iter(main['resource']['aws_kms_key']))}[0]", "")
    # Asset paths are relative to the module, and the files are there.
    (function,) = main["resource"]["aws_lambda_function"].values()
    assert function["filename"].startswith("${path.module}/assets/")
    assert (module_dir / function["filename"].removeprefix("${path.module}/")).is_file()


def test_the_readme_lists_every_input_and_output(module_dir):
    readme = (module_dir / "README.md").read_text()
    for name in load(module_dir, "variables.tf.json")["variable"]:
        assert f"| `{name}` |" in readme
    for name in load(module_dir, "outputs.tf.json")["output"]:
        assert f"| `{name}` |" in readme
    assert "| `name_prefix` | `string` | required |" in readme


def test_export_refuses_a_directory_that_is_not_an_earlier_export(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    result = run_cli("module", "export", str(tmp_path), cwd=tmp_path)
    line = assert_clean_error(result)
    assert line.startswith(f"error: {tmp_path} is not empty and holds no previous module export")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_a_bad_variable_value_is_rejected_by_the_module(project, plugin_dir):
    root = project / "examples" / "terraform-root"
    init = terraform(root, "init", "-input=false", "-no-color", f"-plugin-dir={plugin_dir}")
    assert init.returncode == 0, init.stderr
    assert terraform(root, "validate", "-no-color").returncode == 0
    bad = terraform(root, "plan", "-no-color", "-var", "name_prefix=Bad_Prefix")
    assert bad.returncode == 1
    assert "name_prefix must start with a lowercase letter" in bad.stderr


@pytest.mark.emulator
@pytest.mark.terraform
def test_the_terraform_root_example_applies_to_the_emulator_and_converges(project, plugin_dir, tmp_path_factory):
    """Only `pipeline-tools local env`, evaluated by bash, points the example at the emulator: no
    endpoint variables, nothing emulator-specific in main.tf (issue 13)."""
    import os
    import shlex
    import sys

    root = project / "examples" / "terraform-root"
    main_tf = (root / "main.tf").read_text()
    assert "endpoints" not in main_tf.replace("# ", "") and 'variable "endpoint"' not in main_tf
    workdir = tmp_path_factory.mktemp("terraform-root-emulator")
    with emulator_in(workdir / ".pipeline-tools") as state:
        local_env = f'eval "$(cd {workdir} && {sys.executable} -m pipeline_tools.cli local env --shell bash)"'
        env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1", "AWS_PROFILE": "production"}
        env.pop("TF_CLI_CONFIG_FILE", None)

        def terraform_on_emulator(*args: str) -> subprocess.CompletedProcess:
            from pipeline_tools.terraform import command_for, find_terraform

            command = shlex.join([*command_for(find_terraform()), *args])
            return subprocess.run(["bash", "-c", f"{local_env} && {command}"], cwd=root, env=env, text=True, capture_output=True, timeout=600)

        init = terraform(root, "init", "-input=false", "-no-color", f"-plugin-dir={plugin_dir}")
        assert init.returncode == 0, init.stderr
        applied = terraform_on_emulator("apply", "-auto-approve", "-input=false", "-no-color")
        assert applied.returncode == 0, applied.stderr
        assert "Apply complete! Resources: 20 added, 0 changed, 0 destroyed." in applied.stdout

        again = terraform_on_emulator("plan", "-detailed-exitcode", "-input=false", "-no-color")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "No changes." in again.stdout

        outputs = json.loads(terraform(root, "output", "-json").stdout)
        assert outputs["bucket"]["value"] == "tfroot-data-123456789012-us-east-1"
        from pipeline_tools.emulator import client

        sfn = client("stepfunctions", state)
        machine = sfn.describe_state_machine(stateMachineArn=outputs["state_machine_arn"]["value"])
        definition = json.loads(machine["definition"])
        (train,) = [s for s in definition["States"].values() if "HyperParameters" in s.get("Parameters", {})]
        assert train["Parameters"]["HyperParameters"] == {"objective": "reg:logistic", "eval_metric": "rmse", "num_round": "10"}
        # The job-security template: isolation and the module's key always; the VPC and its grants only
        # with subnets (planned on the same account, not applied).
        for name, state_def in definition["States"].items():
            parameters = state_def.get("Parameters", {})
            if "ProcessingResources" in parameters:
                assert parameters["NetworkConfig"] == {"EnableNetworkIsolation": True}, name
                assert parameters["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"].startswith("arn:aws:kms:"), name
            if "ResourceConfig" in parameters:
                assert parameters["EnableNetworkIsolation"] is True and "VpcConfig" not in parameters, name
                assert parameters["OutputDataConfig"]["KmsKeyId"] == parameters["ResourceConfig"]["VolumeKmsKeyId"], name
        subnets, groups = '["subnet-0123456789abcdef0"]', '["sg-0123456789abcdef0"]'
        planned = terraform_on_emulator("plan", "-input=false", "-no-color", "-out=network.plan",
                                        f"-var=subnet_ids={subnets}", f"-var=security_group_ids={groups}")
        assert planned.returncode == 0, planned.stdout + planned.stderr
        shown = json.loads(terraform_on_emulator("show", "-json", "network.plan").stdout)
        values = {r["address"]: r["change"]["after"] for r in shown["resource_changes"]}
        (function,) = [v for a, v in values.items() if a.startswith("module.pipeline.aws_lambda_function.")]
        assert function["vpc_config"][0]["subnet_ids"] == ["subnet-0123456789abcdef0"]
        (machine,) = [v for a, v in values.items() if a.startswith("module.pipeline.aws_sfn_state_machine.")]
        planned_definition = json.loads(machine["definition"])
        vpc = {"Subnets": ["subnet-0123456789abcdef0"], "SecurityGroupIds": ["sg-0123456789abcdef0"]}
        assert [s["Parameters"].get("VpcConfig") or s["Parameters"].get("NetworkConfig", {}).get("VpcConfig")
                for s in planned_definition["States"].values() if "RoleArn" in s.get("Parameters", {})] == [vpc, vpc]
        policies = " ".join(str(v.get("policy")) for a, v in values.items() if "aws_iam_role_policy." in a)
        assert "subnet/subnet-0123456789abcdef0" in policies and "ec2:CreateNetworkInterfacePermission" in policies
        bad = terraform_on_emulator("plan", "-input=false", "-no-color", '-var=subnet_ids=["subnet-nothex"]', f"-var=security_group_ids={groups}")
        assert bad.returncode == 1 and "subnet_ids must be subnet IDs" in bad.stderr, bad.stderr
        tags = client("s3", state).get_bucket_tagging(Bucket=outputs["bucket"]["value"])["TagSet"]
        assert {t["Key"]: t["Value"] for t in tags} == {
            "Project": "tfroot", "ManagedBy": "sfn-ml-pipeline", "Team": "ml-platform", "Estate": "terraform-root-example"
        }
