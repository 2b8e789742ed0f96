"""Synth and the real validators: statelint and `terraform init -backend=false && terraform validate`."""

from __future__ import annotations

import json
import shutil

import pytest

from pipeline_tools.gates.validate import lint_definitions, validate_stack

from .conftest import assert_clean_error


def test_synth_writes_the_stack_and_prints_its_directory(cli, tmp_path):
    result = cli("synth", "--out", str(tmp_path / "cdktf.out"))
    assert result.returncode == 0, result.stderr
    stack_dir = tmp_path / "cdktf.out" / "stacks" / "ml-pipeline"
    assert result.stdout.strip() == str(stack_dir)
    stack = json.loads((stack_dir / "cdk.tf.json").read_text())
    assert stack["terraform"]["required_providers"]["aws"]["version"] == ">= 5.100, < 7"
    assert stack["terraform"]["backend"]["local"]["path"].endswith(".pipeline-tools/state/aws/terraform.tfstate")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cdktf.out")], "staging dir left behind"


def test_synth_is_deterministic(default_stack_dir, tmp_path):
    from pipeline_tools.synthesis import synthesize

    again = synthesize(None, "aws", tmp_path / "cdktf.out")
    first = json.loads((default_stack_dir / "cdk.tf.json").read_text())
    second = json.loads((again / "cdk.tf.json").read_text())
    assert first["resource"] == second["resource"]
    assert first["data"] == second["data"]


def test_local_target_without_a_running_emulator_is_a_clear_error(cli, tmp_path):
    result = cli("synth", "--target", "local", "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert_clean_error(result, "local emulator is not running", "pipeline-tools local up")


def test_statelint_is_clean_on_the_synthesized_definition(default_stack):
    assert lint_definitions(default_stack) == []


def test_statelint_reports_a_broken_synthesized_definition(default_stack):
    broken = json.loads(json.dumps(default_stack))
    (machine,) = broken["resource"]["aws_sfn_state_machine"].values()
    definition = json.loads(machine["definition"])
    definition["StartAt"] = "Nowhere"
    machine["definition"] = json.dumps(definition)
    assert lint_definitions(broken)


@pytest.mark.terraform
def test_terraform_validate_is_clean(default_stack_dir, plugin_dir):
    assert validate_stack(default_stack_dir, plugin_dir) == []


@pytest.mark.terraform
def test_terraform_validate_reports_an_invalid_stack(default_stack_dir, plugin_dir, tmp_path):
    broken_dir = tmp_path / "broken"
    shutil.copytree(default_stack_dir, broken_dir)
    stack = json.loads((broken_dir / "cdk.tf.json").read_text())
    (function,) = stack["resource"]["aws_lambda_function"].values()
    function["no_such_argument"] = True
    (broken_dir / "cdk.tf.json").write_text(json.dumps(stack))
    problems = validate_stack(broken_dir, plugin_dir)
    assert any("no_such_argument" in problem for problem in problems), problems


@pytest.mark.terraform
def test_validate_command_exit_codes(cli, default_stack_dir, plugin_dir, tmp_path):
    ok = cli("validate", "--stack-dir", str(default_stack_dir), "--plugin-dir", str(plugin_dir))
    assert ok.returncode == 0, ok.stderr
    missing = cli("validate", "--stack-dir", str(tmp_path))
    assert_clean_error(missing, "cdk.tf.json not found", "pipeline-tools synth")


def test_missing_terraform_binary_is_a_clear_error(cli, default_stack_dir):
    result = cli("validate", "--stack-dir", str(default_stack_dir), "--terraform", "/nonexistent/terraform")
    assert_clean_error(result, "terraform binary '/nonexistent/terraform' not found or not executable", "install Terraform")
