"""examples/private-network: the pipeline in a VPC without internet access, with the endpoints it needs.

Synthesized by running the example (`python main.py`), validated with the real Terraform, its IAM
verified against the documented minimum (with the network grants) and its state machine scanned by
the job rules: every job and the model in the example's subnets, given as Terraform references. The
README's endpoint table and the example's endpoints are the same list.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

EXAMPLE = ROOT / "examples" / "private-network"


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory) -> Path:
    app = tmp_path_factory.mktemp("private-network")
    shutil.copy(EXAMPLE / "main.py", app / "main.py")
    shutil.copy(EXAMPLE / "cdktf.json", app / "cdktf.json")
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    synth = subprocess.run([sys.executable, "main.py"], cwd=app, env=env, text=True, capture_output=True, timeout=300)
    assert synth.returncode == 0, synth.stderr
    return app / "cdktf.out" / "stacks" / "private-network"


@pytest.fixture(scope="module")
def stack(stack_dir) -> dict:
    return json.loads((stack_dir / "cdk.tf.json").read_text())


@pytest.mark.terraform
def test_the_example_validates(stack_dir, plugin_dir):
    from pipeline_tools.terraform import command_for, find_terraform

    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
    env.pop("TF_CLI_CONFIG_FILE", None)
    terraform = [*command_for(find_terraform())]
    init = subprocess.run([*terraform, "init", "-input=false", "-no-color", f"-plugin-dir={plugin_dir}"], cwd=stack_dir, env=env, text=True, capture_output=True, timeout=600)
    assert init.returncode == 0, init.stderr
    validate = subprocess.run([*terraform, "validate", "-no-color"], cwd=stack_dir, env=env, text=True, capture_output=True, timeout=600)
    assert validate.returncode == 0, validate.stderr


def test_no_route_to_the_internet_and_the_endpoints_the_readme_lists(stack):
    resources = stack["resource"]
    assert "aws_internet_gateway" not in resources and "aws_nat_gateway" not in resources
    (routes,) = resources["aws_route_table"].values()
    assert not routes.get("route")
    endpoints = {e["service_name"].rsplit(".", 1)[-1] if e["vpc_endpoint_type"] == "Gateway" else e["service_name"].split(".", 3)[3]: e
                 for e in resources["aws_vpc_endpoint"].values()}
    assert endpoints["s3"]["vpc_endpoint_type"] == "Gateway" and endpoints["s3"]["route_table_ids"]
    assert all(e["private_dns_enabled"] is True for name, e in endpoints.items() if name != "s3")
    readme = (ROOT / "README.md").read_text().split("### Private subnets", 1)[1].split("\n## ", 1)[0]
    listed = {name for row in re.findall(r"^\| (`[^|]+`) \|", readme, re.M) for name in re.findall(r"`([a-z0-9.]+)`", row)}
    assert listed == set(endpoints), (listed, set(endpoints))


def test_the_pipeline_runs_in_the_examples_subnets_with_its_grants_documented(stack_dir, stack):
    from pipeline_tools.gates.job_rules import scan_jobs
    from pipeline_tools.iam import verify

    (function,) = stack["resource"]["aws_lambda_function"].values()
    subnets = sorted(f"${{aws_subnet.{name}.id}}" for name in stack["resource"]["aws_subnet"])
    assert sorted(function["vpc_config"]["subnet_ids"]) == subnets
    iam_stack, findings = verify(stack_dir=stack_dir)
    assert "network" in iam_stack.features and findings == []
    context, results = scan_jobs(stack_dir / "cdk.tf.json")
    assert [r for r in results if not r.passed] == []
    assert {(r.rule.id, r.task.state) for r in results if r.rule.id == "PTJ002"} == {
        ("PTJ002", "Standardization: x' = (x - x̄) / σ"), ("PTJ002", "Train model (XGBoost)")}
    (network,) = context.networks.values()
    assert sorted(network[0]) == subnets
