"""Jobs as locked down as the stack (issue 25): the config keys, job_security's fields in every
SageMaker task, the Lambda's VPC and code signing, S3 access logging, the IAM network interfaces
need, and checkov on a stack with all of it (the real checkov)."""

from __future__ import annotations

import json

import pytest
from cdktn import Testing, TerraformStack

from sfn_ml_pipeline import MlPipeline, PipelineConfig
from sfn_ml_pipeline.config import ConfigError, config_from_mapping
from sfn_ml_pipeline.definition import CREATE_MODEL, STANDARDIZE, TRAIN, TRANSFORM, DefinitionRefs, build_definition
from sfn_ml_pipeline.job_security import _merge, has_local_storage

from .conftest import assert_clean_error, run_cli

KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
GROUPS = ["sg-0123456789abcdef0"]
SIGNING = "arn:aws:lambda:us-east-1:111122223333:code-signing-config:csc-0123456789abcdef0"
NETWORK = {"subnet_ids": SUBNETS, "security_group_ids": GROUPS}
REFS = DefinitionRefs(bucket="b", lambda_arn="arn:aws:lambda:us-east-1:111122223333:function:f", sagemaker_role_arn="arn:aws:iam::111122223333:role/r", transform_key="code/x/transform.py", kms_key_arn=KEY,
                      evaluate_key="code/y/evaluate.py")


def parameters(config: dict, refs: DefinitionRefs = REFS) -> dict[str, dict]:
    definition = build_definition(config_from_mapping(config), refs)
    return {name: state["Parameters"] for name, state in definition["States"].items() if "Parameters" in state}


# -- config ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"network": {"subnet_ids": ["subnet-12"], "security_group_ids": GROUPS}}, "network.subnet_ids: 'subnet-12': subnet_ids must be subnet IDs"),
        ({"network": {"subnet_ids": SUBNETS, "security_group_ids": ["sg-xyz"]}}, "network.security_group_ids: 'sg-xyz': security_group_ids must be security group IDs"),
        ({"network": {"subnet_ids": [], "security_group_ids": GROUPS}}, "network.subnet_ids: subnet_ids needs at least one ID"),
        ({"network": {"subnet_ids": [f"subnet-{i:017x}" for i in range(17)], "security_group_ids": GROUPS}}, "network.subnet_ids: at most 16 subnet_ids"),
        ({"network": {"subnet_ids": SUBNETS, "security_group_ids": [f"sg-{i:08x}" for i in range(6)]}}, "network.security_group_ids: at most 5 security_group_ids"),
        ({"network": {"subnet_ids": SUBNETS * 2, "security_group_ids": GROUPS}}, "network.subnet_ids: subnet_ids lists an ID twice"),
        ({"network": {"subnet_ids": SUBNETS}}, "network.security_group_ids: Field required"),
        ({"network": {"subnet_ids": SUBNETS, "security_group_ids": GROUPS, "vpc_id": "vpc-1"}}, "network.vpc_id: unknown key"),
        ({"lambda": {"code_signing_config_arn": "arn:aws:signer:us-east-1:111122223333:/signing-profiles/p"}}, "lambda.code_signing_config_arn: 'arn:aws:signer"),
        ({"access_log_bucket": "Logs_Bucket"}, "access_log_bucket: 'Logs_Bucket' must be a valid S3 bucket name"),
    ],
)
def test_every_bad_value_is_one_line_naming_the_key(data, message):
    with pytest.raises(ConfigError) as raised:
        config_from_mapping(data)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_good_values_and_tokens_are_accepted():
    config = config_from_mapping({"network": NETWORK, "access_log_bucket": "corp-s3-access-logs", "lambda": {"code_signing_config_arn": SIGNING}})
    assert config.network.subnet_ids == SUBNETS and config.generate_lambda.code_signing_config_arn == SIGNING
    token = "${TfToken[TOKEN.12]}"  # an estate's aws_subnet(...).id
    assert config_from_mapping({"network": {"subnet_ids": [token], "security_group_ids": [token]}}).network.subnet_ids == [token]


def test_cli_reports_a_bad_network_in_one_line_with_exit_2(tmp_path):
    (tmp_path / "pipeline.toml").write_text('[network]\nsubnet_ids = ["subnet-nothex"]\nsecurity_group_ids = ["sg-0123456789abcdef0"]\n')
    done = run_cli("synth", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert_clean_error(done, "network.subnet_ids", "subnet_ids must be subnet IDs")
    assert not (tmp_path / "out").exists()


# -- the fields in every SageMaker task -----------------------------------------------------------


def test_always_isolated_and_keyed_one_host_needs_no_traffic_encryption():
    tasks = parameters({"batch_transform": {"enabled": True}})
    processing, training, model, transform = tasks[STANDARDIZE], tasks[TRAIN], tasks[CREATE_MODEL], tasks[TRANSFORM]
    assert processing["NetworkConfig"] == {"EnableNetworkIsolation": True}
    assert processing["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY
    assert processing["ProcessingOutputConfig"]["KmsKeyId"] == KEY
    assert training["EnableNetworkIsolation"] is True and "EnableInterContainerTrafficEncryption" not in training
    assert training["ResourceConfig"]["VolumeKmsKeyId"] == KEY and training["OutputDataConfig"]["KmsKeyId"] == KEY
    assert model["EnableNetworkIsolation"] is True and "VpcConfig" not in model
    assert transform["TransformOutput"]["KmsKeyId"] == KEY and transform["TransformResources"]["VolumeKmsKeyId"] == KEY
    assert "EnableNetworkIsolation" not in transform  # CreateTransformJob has none: the model's applies


def test_network_and_several_hosts():
    tasks = parameters({"network": NETWORK, "processing": {"instance_count": 3}, "training": {"instance_count": 2}, "batch_transform": {"enabled": True}})
    vpc = {"Subnets": SUBNETS, "SecurityGroupIds": GROUPS}
    assert tasks[STANDARDIZE]["NetworkConfig"] == {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True, "VpcConfig": vpc}
    assert tasks[TRAIN]["VpcConfig"] == vpc and tasks[TRAIN]["EnableInterContainerTrafficEncryption"] is True
    assert tasks[CREATE_MODEL]["VpcConfig"] == vpc
    assert "VpcConfig" not in tasks[TRANSFORM]  # it runs in its model's VPC


def test_no_customer_key_no_key_fields():
    refs = DefinitionRefs(**{**REFS.__dict__, "kms_key_arn": None})
    tasks = parameters({"create_kms_key": False, "batch_transform": {"enabled": True}}, refs)
    text = json.dumps(tasks)
    assert "KmsKeyId" not in text and "VolumeKmsKeyId" not in text
    assert tasks[TRAIN]["EnableNetworkIsolation"] is True


@pytest.mark.parametrize(
    ("instance_type", "local"),
    [
        ("ml.m5.xlarge", False), ("ml.c5.2xlarge", False), ("ml.p3.2xlarge", False), ("ml.c5n.xlarge", False), ("ml.inf2.xlarge", False),
        ("ml.m5d.xlarge", True), ("ml.g4dn.xlarge", True), ("ml.p3dn.24xlarge", True), ("ml.p4d.24xlarge", True), ("ml.p4de.24xlarge", True),
        ("ml.r5d.large", True), ("ml.m6id.large", True), ("ml.g5.xlarge", True), ("ml.g6e.xlarge", True), ("ml.p5.48xlarge", True), ("ml.trn1.2xlarge", True),
    ],
)
def test_local_storage_instance_types(instance_type, local):
    assert has_local_storage(instance_type) is local


def test_no_volume_key_on_instance_types_with_local_storage_but_outputs_keep_it():
    """SageMaker: "You can't request a VolumeKmsKeyId when using an instance type with local storage"."""
    tasks = parameters({"processing": {"instance_type": "ml.m5d.xlarge"}, "training": {"instance_type": "ml.g5.xlarge"},
                        "batch_transform": {"enabled": True, "instance_type": "ml.g4dn.xlarge"}})
    assert "VolumeKmsKeyId" not in tasks[STANDARDIZE]["ProcessingResources"]["ClusterConfig"]
    assert "VolumeKmsKeyId" not in tasks[TRAIN]["ResourceConfig"] and "VolumeKmsKeyId" not in tasks[TRANSFORM]["TransformResources"]
    assert tasks[TRAIN]["OutputDataConfig"]["KmsKeyId"] == KEY and tasks[TRANSFORM]["TransformOutput"]["KmsKeyId"] == KEY


def test_a_task_that_sets_a_field_otherwise_is_refused():
    assert _merge({"A": {"B": 1}}, {"A": {"C": 2}}) == {"A": {"B": 1, "C": 2}}
    with pytest.raises(ValueError, match="the task sets A.B = 1"):
        _merge({"A": {"B": 1}}, {"A": {"B": 2}})


def test_the_fields_are_valid_sagemaker_api_shapes():
    from pipeline_tools.api_shapes import check_definition

    config = config_from_mapping({"network": NETWORK, "processing": {"instance_count": 2}, "training": {"instance_count": 2}, "batch_transform": {"enabled": True}})
    assert check_definition(build_definition(config, REFS)) == []


# -- the construct --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secured() -> dict:
    config = config_from_mapping({"network": NETWORK, "access_log_bucket": "corp-s3-access-logs", "lambda": {"code_signing_config_arn": SIGNING}})
    app = Testing.app()
    stack = TerraformStack(app, "test")
    MlPipeline(stack, "pipeline", config=config)
    return json.loads(Testing.synth(stack))


def _statements(document: dict, sid: str) -> dict:
    (statement,) = [s for doc in document["data"]["aws_iam_policy_document"].values() for s in doc["statement"] if s.get("sid") == sid]
    return statement


def test_the_lambda_runs_in_the_subnets_with_code_signing(secured):
    (function,) = secured["resource"]["aws_lambda_function"].values()
    assert function["vpc_config"] == {"subnet_ids": SUBNETS, "security_group_ids": GROUPS}
    assert function["code_signing_config_arn"] == SIGNING


def test_the_bucket_logs_its_access_to_the_log_bucket(secured):
    (logging,) = secured["resource"]["aws_s3_bucket_logging"].values()
    assert logging["target_bucket"] == "corp-s3-access-logs" and logging["bucket"].startswith("${aws_s3_bucket.")


def test_without_the_settings_none_of_it_is_there():
    app = Testing.app()
    stack = TerraformStack(app, "test")
    MlPipeline(stack, "pipeline", config=PipelineConfig())
    document = json.loads(Testing.synth(stack))
    (function,) = document["resource"]["aws_lambda_function"].values()
    assert "vpc_config" not in function and "code_signing_config_arn" not in function
    assert "aws_s3_bucket_logging" not in document["resource"]
    assert "ec2:" not in json.dumps(document["data"]["aws_iam_policy_document"])


def test_network_interfaces_only_in_the_stacks_subnets_and_groups(secured):
    data = {kind: next(iter(secured["data"][kind])) for kind in ("aws_partition", "aws_region", "aws_caller_identity")}
    arn = (f"arn:${{data.aws_partition.{data['aws_partition']}.partition}}:ec2:${{data.aws_region.{data['aws_region']}.name}}:"
           f"${{data.aws_caller_identity.{data['aws_caller_identity']}.account_id}}:")
    for owner in ("Job", "Function"):
        create = _statements(secured, f"Create{owner}NetworkInterfaces")
        assert create["actions"] == ["ec2:CreateNetworkInterface"]
        assert create["resources"] == [f"{arn}subnet/{s}" for s in SUBNETS] + [f"{arn}security-group/{g}" for g in GROUPS] + [f"{arn}network-interface/*"]
        manage = _statements(secured, f"Manage{owner}NetworkInterfaces")
        assert manage["resources"] == [f"{arn}network-interface/*"]
        assert manage["condition"] == [{"test": "ArnEquals", "variable": "ec2:Subnet", "values": [f"{arn}subnet/{s}" for s in SUBNETS]}]
        assert _statements(secured, f"Describe{owner}Network")["resources"] == ["*"]
    assert "ec2:CreateNetworkInterfacePermission" in _statements(secured, "ManageJobNetworkInterfaces")["actions"]
    assert "ec2:AssignPrivateIpAddresses" in _statements(secured, "ManageFunctionNetworkInterfaces")["actions"]


def test_the_job_role_may_encrypt_outputs_through_s3_and_grant_volumes_to_aws_resources_only(secured):
    encrypt, grant = _statements(secured, "EncryptJobOutputs"), _statements(secured, "GrantJobVolumes")
    assert encrypt["actions"] == ["kms:Encrypt"] and encrypt["condition"][0]["variable"] == "kms:ViaService"
    assert grant["actions"] == ["kms:CreateGrant"] and grant["condition"] == [{"test": "Bool", "variable": "kms:GrantIsForAWSResource", "values": ["true"]}]


# -- the gates on the whole stack ------------------------------------------------------------------


SECURED_TOML = f"""
access_log_bucket = "corp-s3-access-logs"

[network]
subnet_ids = {json.dumps(SUBNETS)}
security_group_ids = {json.dumps(GROUPS)}

[lambda]
code_signing_config_arn = "{SIGNING}"

[batch_transform]
enabled = true
"""


@pytest.fixture(scope="module")
def secured_stack_dir(tmp_path_factory):
    from pipeline_tools.synthesis import synthesize

    config = tmp_path_factory.mktemp("secured") / "pipeline.toml"
    config.write_text(SECURED_TOML)
    return synthesize(config_path=config, out_dir=tmp_path_factory.mktemp("synth") / "cdktf.out")


def test_verify_iam_finds_the_network_and_key_grants_documented(secured_stack_dir):
    from pipeline_tools.iam import verify

    stack, findings = verify(stack_dir=secured_stack_dir)
    assert {"network", "kms", "batch_transform"} <= stack.features
    assert findings == []


@pytest.mark.checkov
def test_checkov_fails_at_most_four_checks_with_these_set(secured_stack_dir, checkov):
    """Today's defaults fail seven checks (each with a reason in checkov-skips.toml); with access
    logging, the VPC and code signing set, CKV_AWS_18, CKV_AWS_117 and CKV_AWS_272 pass."""
    from pipeline_tools.gates.scan import run_checkov

    result = run_checkov(secured_stack_dir / "cdk.tf.json", output_format="json", skips={})
    assert {check for check, _, _ in result.failed_checks} == {"CKV_AWS_116", "CKV_AWS_144", "CKV2_AWS_62", "CKV_AWS_115"}
