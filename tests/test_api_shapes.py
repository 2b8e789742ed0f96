"""SageMaker task Parameters against the SageMaker API's request shapes (botocore's real service model)."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from pipeline_tools.api_shapes import EXECUTION_NAME, check_definition, check_stack, resolve
from pipeline_tools.stackfile import state_machine_definitions, with_placeholders
from sfn_ml_pipeline.definition import STANDARDIZE, TRAIN

from .conftest import SAMPLE_DEFINITION

PROCESSING = "(SageMaker CreateProcessingJob)"
TRAINING = "(SageMaker CreateTrainingJob)"


@pytest.fixture(scope="module")
def definition(default_stack) -> dict:
    """The synthesized definition, Terraform references left in (as check_stack reads it)."""
    (text,) = state_machine_definitions(default_stack).values()
    return json.loads(text)


def problems_after(definition: dict, state: str, change) -> list[str]:
    document = copy.deepcopy(definition)
    change(document["States"][state])
    return check_definition(document)


def params(state: dict, *path: str) -> dict:
    node = state["Parameters"]
    for key in path:
        node = node[key]
    return node


# --- the shipped definition --------------------------------------------------------------------


def test_the_synthesized_stack_is_clean(default_stack):
    assert check_stack(default_stack) == []


def test_the_definition_is_clean_after_with_placeholders_too(default_stack):
    (text,) = state_machine_definitions(default_stack).values()
    assert check_definition(json.loads(with_placeholders(text))) == []


def test_the_sample_s_role_arn_has_a_ten_digit_account_and_is_flagged():
    # AWS's original sample: its example role ARN has 10 digits where IAM account IDs have 12.
    problems = check_definition(json.loads(SAMPLE_DEFINITION.read_text()))
    assert len(problems) == 2, problems
    assert all("Parameters.RoleArn: \"arn:aws:iam::1234567890:role/" in p and "does not match the pattern" in p
               for p in problems), problems


# --- each kind of breakage -----------------------------------------------------------------------


def test_unknown_key(definition):
    problems = problems_after(definition, TRAIN, lambda s: params(s, "ResourceConfig").update(InstanceCont=1))
    assert problems == [
        f'state "{TRAIN}": Parameters.ResourceConfig.InstanceCont: unknown key, not a member of ResourceConfig; '
        f'did you mean "InstanceCount"? {TRAINING}'
    ]


def test_missing_required_key(definition):
    problems = problems_after(definition, TRAIN, lambda s: s["Parameters"].pop("RoleArn"))
    assert problems == [
        f'state "{TRAIN}": Parameters.RoleArn: required key is missing '
        f"(CreateTrainingJobRequest requires TrainingJobName, RoleArn, OutputDataConfig) {TRAINING}"
    ]


def test_missing_required_key_in_a_nested_structure(definition):
    problems = problems_after(definition, STANDARDIZE, lambda s: params(s, "AppSpecification").pop("ImageUri"))
    assert problems == [
        f'state "{STANDARDIZE}": Parameters.AppSpecification.ImageUri: required key is missing '
        f"(AppSpecification requires ImageUri) {PROCESSING}"
    ]


def test_a_string_where_an_integer_is_expected(definition):
    problems = problems_after(definition, TRAIN, lambda s: params(s, "ResourceConfig").update(InstanceCount="2"))
    assert problems == [
        f'state "{TRAIN}": Parameters.ResourceConfig.InstanceCount: expected an integer, got the string "2" {TRAINING}'
    ]


def test_a_list_where_a_structure_is_expected(definition):
    problems = problems_after(definition, TRAIN, lambda s: s["Parameters"].update(ResourceConfig=[{"InstanceCount": 1}]))
    assert problems == [
        f'state "{TRAIN}": Parameters.ResourceConfig: expected an object (ResourceConfig), got a list {TRAINING}'
    ]


def test_a_number_in_a_string_map(definition):
    problems = problems_after(definition, TRAIN, lambda s: params(s, "HyperParameters").update(num_round=5))
    assert problems == [
        f'state "{TRAIN}": Parameters.HyperParameters.num_round: expected a string, got the integer 5 {TRAINING}'
    ]


def test_out_of_range_numbers(definition):
    def change(state):
        params(state, "ProcessingResources", "ClusterConfig").update(InstanceCount=0, VolumeSizeInGB=0)
        params(state, "StoppingCondition").update(MaxRuntimeInSeconds=0)

    prefix = f'state "{STANDARDIZE}": Parameters.'
    assert problems_after(definition, STANDARDIZE, change) == [
        f"{prefix}ProcessingResources.ClusterConfig.InstanceCount: 0 is below the minimum 1 {PROCESSING}",
        f"{prefix}ProcessingResources.ClusterConfig.VolumeSizeInGB: 0 is below the minimum 1 {PROCESSING}",
        f"{prefix}StoppingCondition.MaxRuntimeInSeconds: 0 is below the minimum 1 {PROCESSING}",
    ]
    too_many = problems_after(definition, STANDARDIZE,
                              lambda s: params(s, "ProcessingResources", "ClusterConfig").update(InstanceCount=101))
    assert too_many == [f"{prefix}ProcessingResources.ClusterConfig.InstanceCount: 101 is above the maximum 100 {PROCESSING}"]


def test_too_few_list_items(definition):
    problems = problems_after(definition, TRAIN, lambda s: s["Parameters"].update(InputDataConfig=[]))
    assert problems == [f'state "{TRAIN}": Parameters.InputDataConfig: 0 items, fewer than the minimum 1 {TRAINING}']


def test_bad_enum_value(definition):
    def change(state):
        params(state, "InputDataConfig")[0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] = "Sharded"

    assert problems_after(definition, TRAIN, change) == [
        f'state "{TRAIN}": Parameters.InputDataConfig[0].DataSource.S3DataSource.S3DataDistributionType: '
        f'"Sharded" is not one of FullyReplicated, ShardedByS3Key {TRAINING}'
    ]


def test_bad_instance_type_suggests_the_closest(definition):
    problems = problems_after(definition, TRAIN, lambda s: params(s, "ResourceConfig").update(InstanceType="ml.m5.xlarg"))
    assert len(problems) == 1
    assert problems[0].startswith(f'state "{TRAIN}": Parameters.ResourceConfig.InstanceType: "ml.m5.xlarg" is not a valid')
    assert problems[0].endswith(f'did you mean "ml.m5.xlarge"? {TRAINING}')


def test_too_long_string(definition):
    def change(state):
        state["Parameters"].pop("TrainingJobName.$")
        state["Parameters"]["TrainingJobName"] = "j" * 64

    assert problems_after(definition, TRAIN, change) == [
        f'state "{TRAIN}": Parameters.TrainingJobName: "{"j" * 64}" is 64 characters long, '
        f"longer than the maximum 63 {TRAINING}"
    ]


def test_pattern_is_a_full_match(definition):
    def change(state):
        state["Parameters"].pop("ProcessingJobName.$")
        state["Parameters"]["ProcessingJobName"] = "my_job"

    assert problems_after(definition, STANDARDIZE, change) == [
        f'state "{STANDARDIZE}": Parameters.ProcessingJobName: "my_job" does not match the pattern '
        f"[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,62}} {PROCESSING}"
    ]


def test_a_key_given_both_literally_and_as_path(definition):
    problems = problems_after(definition, TRAIN, lambda s: s["Parameters"].update(TrainingJobName="job"))
    assert problems == [
        f'state "{TRAIN}": Parameters.TrainingJobName: given twice, as "TrainingJobName" and "TrainingJobName.$" {TRAINING}'
    ]


# --- intrinsic values and Terraform references -------------------------------------------------


def test_a_path_for_an_integer_member_is_fine(definition):
    def change(state):
        config = params(state, "ResourceConfig")
        config.pop("InstanceCount")
        config.pop("VolumeSizeInGB")
        config["InstanceCount.$"] = "$.training.instances"
        config["VolumeSizeInGB.$"] = "States.ArrayLength($.volumes)"

    assert problems_after(definition, TRAIN, change) == []


def test_a_path_for_an_unknown_member_is_flagged(definition):
    problems = problems_after(definition, TRAIN, lambda s: params(s, "ResourceConfig").update({"InstanceCont.$": "$.n"}))
    assert problems == [
        f'state "{TRAIN}": Parameters.ResourceConfig.InstanceCont.$: unknown key, not a member of ResourceConfig; '
        f'did you mean "InstanceCount"? {TRAINING}'
    ]


def test_states_format_gives_a_string_not_an_integer(definition):
    def change(state):
        config = params(state, "ResourceConfig")
        config.pop("InstanceCount")
        config["InstanceCount.$"] = "States.Format('{}', $.n)"

    assert problems_after(definition, TRAIN, change) == [
        f"state \"{TRAIN}\": Parameters.ResourceConfig.InstanceCount.$: expected an integer, "
        f"got States.Format('{{}}', $.n), which gives a string {TRAINING}"
    ]


def test_states_format_is_resolved_and_checked_against_the_pattern():
    value = resolve("States.Format('s3://bucket/runs/{}/train', $$.Execution.Name)")
    assert value.kind == "string" and value.sample == f"s3://bucket/runs/{EXECUTION_NAME}/train"
    document = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync", "End": True,
        "Parameters": {
            "TrainingJobName.$": "$$.Execution.Name",
            "RoleArn": "arn:aws:iam::123456789012:role/sagemaker",
            "AlgorithmSpecification": {"TrainingImage": "image", "TrainingInputMode": "File"},
            "OutputDataConfig": {"S3OutputPath.$": "States.Format('bucket/runs/{}', $$.Execution.Name)"},
        },
    }}}
    assert check_definition(document) == [
        f"state \"T\": Parameters.OutputDataConfig.S3OutputPath.$: States.Format('bucket/runs/{{}}', "
        f'$$.Execution.Name) gives "bucket/runs/{EXECUTION_NAME}", which does not match the pattern '
        f"(https|s3)://([^/]+)/?(.*) {TRAINING}"
    ]


def test_a_terraform_reference_is_a_plausible_string_but_not_an_integer(definition):
    def change(state):
        state["Parameters"]["RoleArn"] = "${aws_iam_role.other.arn}"  # a string member: fine
        params(state, "ResourceConfig")["InstanceCount"] = "${var.instance_count}"

    assert problems_after(definition, TRAIN, change) == [
        f'state "{TRAIN}": Parameters.ResourceConfig.InstanceCount: expected an integer, '
        f'got the Terraform reference "${{var.instance_count}}" (a string) {TRAINING}'
    ]


# --- resources, other APIs, nesting ----------------------------------------------------------------


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov", "${data.aws_partition.partition.partition}", "placeholder"])
def test_the_resource_partition_is_matched_loosely(definition, partition):
    def change(state):
        state["Resource"] = f"arn:{partition}:states:::sagemaker:createTrainingJob.sync"
        state["Parameters"].pop("RoleArn")

    assert problems_after(definition, TRAIN, change) == [
        f'state "{TRAIN}": Parameters.RoleArn: required key is missing '
        f"(CreateTrainingJobRequest requires TrainingJobName, RoleArn, OutputDataConfig) {TRAINING}"
    ]


def test_an_unknown_sagemaker_api_is_flagged(definition):
    problems = problems_after(definition, TRAIN,
                              lambda s: s.update(Resource="arn:aws:states:::sagemaker:createTrainingJb.sync"))
    assert problems == [
        f'state "{TRAIN}": Resource: SageMaker has no API action createTrainingJb (no operation CreateTrainingJb '
        f"in botocore's sagemaker model); did you mean \"createTrainingJob\"?"
    ]


def test_any_sagemaker_api_is_checked_without_code_changes():
    document = {"StartAt": "M", "States": {"M": {
        "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createModel", "End": True,
        "Parameters": {"ModelName.$": "$$.Execution.Name", "PrimaryContainer": {"Image": "img", "Mode": "Single"}},
    }, }}
    assert check_definition(document) == [
        'state "M": Parameters.PrimaryContainer.Mode: "Single" is not one of SingleModel, MultiModel (SageMaker CreateModel)'
    ]


def test_non_sagemaker_tasks_and_tasks_without_parameters_are_left_alone(definition):
    document = copy.deepcopy(definition)
    document["States"][TRAIN].pop("Parameters")  # the state input becomes the request: unknown here
    assert check_definition(document) == []


def test_nested_states_are_walked(definition):
    inner = copy.deepcopy(definition["States"][TRAIN])
    params(inner, "ResourceConfig")["VolumeSizeInGB"] = "30"
    inner.pop("Catch")
    document = {"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "End": True,
        "Branches": [{"StartAt": "Map", "States": {"Map": {
            "Type": "Map", "End": True,
            "ItemProcessor": {"StartAt": "Inner", "States": {"Inner": inner}},
        }}}],
    }}}
    assert check_definition(document) == [
        f'state "Inner": Parameters.ResourceConfig.VolumeSizeInGB: expected an integer, got the string "30" {TRAINING}'
    ]


def test_findings_name_the_state_machine_resource(default_stack):
    stack = copy.deepcopy(default_stack)
    ((resource, machine),) = stack["resource"]["aws_sfn_state_machine"].items()
    document = json.loads(machine["definition"])
    document["States"][TRAIN]["Parameters"]["StoppingCondition"]["MaxRuntimeInSeconds"] = 0
    machine["definition"] = json.dumps(document)
    assert check_stack(stack) == [
        f'{resource}: state "{TRAIN}": Parameters.StoppingCondition.MaxRuntimeInSeconds: 0 is below the minimum 1 {TRAINING}'
    ]


# --- the command ---------------------------------------------------------------------------------


@pytest.mark.terraform
def test_validate_command_reports_a_shape_problem(cli, default_stack_dir, plugin_dir, tmp_path):
    broken_dir = tmp_path / "broken"
    shutil.copytree(default_stack_dir, broken_dir)
    stack = json.loads((broken_dir / "cdk.tf.json").read_text())
    ((resource, machine),) = stack["resource"]["aws_sfn_state_machine"].items()
    document = json.loads(machine["definition"])
    document["States"][STANDARDIZE]["Parameters"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = 0
    machine["definition"] = json.dumps(document)
    (broken_dir / "cdk.tf.json").write_text(json.dumps(stack))

    result = cli("validate", "--stack-dir", str(broken_dir), "--plugin-dir", str(plugin_dir))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f'{resource}: state "{STANDARDIZE}": Parameters.ProcessingResources.ClusterConfig.InstanceCount: '
        f"0 is below the minimum 1 {PROCESSING}"
    ]
    assert "unexpected" not in (result.stdout + result.stderr).lower()
    assert "Traceback" not in result.stderr
