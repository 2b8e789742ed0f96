"""Plans and first applies read Terraform's machine-readable output (`-json`): counts from the
``change_summary`` message, errors from ``diagnostic`` messages. With real terraform, on stacks that
need no provider (an output-only configuration), so they run in well under a second."""

from __future__ import annotations

import json

import pytest

from pipeline_tools.errors import EnvironmentProblem
from pipeline_tools.terraform import Terraform


def stack(tmp_path, document: dict) -> Terraform:
    (tmp_path / "cdk.tf.json").write_text(json.dumps(document))
    terraform = Terraform(tmp_path, plugin_dir=None)
    terraform.init()
    return terraform


def test_a_plan_error_is_terraforms_own_one_line_diagnostic(tmp_path):
    terraform = stack(tmp_path, {"output": {"x": {"value": "${aws_s3_bucket.nope.id}"}}})
    with pytest.raises(EnvironmentProblem) as raised:
        terraform.plan()
    message = str(raised.value)
    assert message.startswith("terraform plan failed: Error: Reference to undeclared resource")
    assert 'A managed resource "aws_s3_bucket" "nope" has not been declared' in message
    with pytest.raises(EnvironmentProblem, match="terraform apply failed: Error: Reference to undeclared resource"):
        terraform.apply_configuration()


def test_counts_come_from_the_change_summary_and_a_first_apply_streams_its_plan_first(tmp_path):
    terraform = stack(
        tmp_path,
        {
            "terraform": {"backend": {"local": {"path": "state/terraform.tfstate"}}},
            "resource": {"terraform_data": {"one": {"input": "a"}, "two": {"input": "b"}}},
        },
    )
    assert not terraform.has_state()
    assert terraform.plan() == {"add": 2, "change": 0, "import": 0, "remove": 0}
    seen: list[str] = []
    applied = terraform.apply_configuration(lambda message: seen.append(message["type"]))
    assert applied == {"add": 2, "change": 0, "import": 0, "remove": 0}
    assert seen.index("change_summary") < seen.index("apply_start")  # the plan's summary comes first
    assert terraform.has_state()  # read from the local backend's file
    assert terraform.plan() == {"add": 0, "change": 0, "import": 0, "remove": 0}
