"""The construct, with cdktf's testing API (Testing.synth + matchers) and the real terraform validate."""

from __future__ import annotations

import json

import pytest
from cdktn import Testing, TerraformStack

from sfn_ml_pipeline import MlPipeline, PipelineConfig
from sfn_ml_pipeline.definition import GENERATE, STANDARDIZE, TRAIN


def synth(config: PipelineConfig) -> str:
    app = Testing.app()
    stack = TerraformStack(app, "test")
    MlPipeline(stack, "pipeline", config=config)
    return Testing.synth(stack)


@pytest.fixture(scope="module")
def synthesized() -> str:
    return synth(PipelineConfig())


@pytest.fixture(scope="module")
def document(synthesized) -> dict:
    return json.loads(synthesized)


def only(document: dict, kind: str, section: str = "resource") -> dict:
    items = list(document[section][kind].values())
    assert len(items) == 1, f"expected one {kind}, got {len(items)}"
    return items[0]


def test_bucket_is_versioned_encrypted_private_and_owner_enforced(synthesized):
    from cdktn_provider_aws.s3_bucket_ownership_controls import S3BucketOwnershipControls
    from cdktn_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
    from cdktn_provider_aws.s3_bucket_server_side_encryption_configuration import (
        S3BucketServerSideEncryptionConfigurationA,
    )
    from cdktn_provider_aws.s3_bucket_versioning import S3BucketVersioningA

    assert Testing.to_have_resource_with_properties(
        synthesized, S3BucketVersioningA.TF_RESOURCE_TYPE, {"versioning_configuration": {"status": "Enabled"}}
    )
    document = json.loads(synthesized)
    (key,) = document["resource"]["aws_kms_key"]
    assert Testing.to_have_resource_with_properties(
        synthesized,
        S3BucketServerSideEncryptionConfigurationA.TF_RESOURCE_TYPE,
        {
            "rule": [
                {
                    "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": f"${{aws_kms_key.{key}.arn}}"},
                    "bucket_key_enabled": True,
                }
            ]
        },
    )
    assert Testing.to_have_resource_with_properties(
        synthesized,
        S3BucketPublicAccessBlock.TF_RESOURCE_TYPE,
        {"block_public_acls": True, "block_public_policy": True, "ignore_public_acls": True, "restrict_public_buckets": True},
    )
    assert Testing.to_have_resource_with_properties(
        synthesized, S3BucketOwnershipControls.TF_RESOURCE_TYPE, {"rule": {"object_ownership": "BucketOwnerEnforced"}}
    )


def test_bucket_uses_the_kms_key_when_one_is_given():
    from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
    from cdktn_provider_aws.s3_bucket_server_side_encryption_configuration import (
        S3BucketServerSideEncryptionConfigurationA,
    )

    key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    synthesized = synth(PipelineConfig(kms_key_arn=key))
    assert Testing.to_have_resource_with_properties(
        synthesized,
        S3BucketServerSideEncryptionConfigurationA.TF_RESOURCE_TYPE,
        {"rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key}}]},
    )
    assert Testing.to_have_resource_with_properties(synthesized, CloudwatchLogGroup.TF_RESOURCE_TYPE, {"kms_key_id": key})


def test_bucket_policy_denies_insecure_transport(document):
    tls = document["data"]["aws_iam_policy_document"]
    (statement,) = next(doc for name, doc in tls.items() if "tls-only" in name)["statement"]
    assert statement["effect"] == "Deny"
    assert statement["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]


def test_the_stack_creates_a_rotated_key_for_bucket_logs_and_lambda_by_default(document):
    (name, key), = document["resource"]["aws_kms_key"].items()
    reference = f"${{aws_kms_key.{name}.arn}}"
    assert key["enable_key_rotation"] is True
    assert all(group["kms_key_id"] == reference for group in document["resource"]["aws_cloudwatch_log_group"].values())
    assert only(document, "aws_lambda_function")["kms_key_arn"] == reference
    policy = json.loads(key["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert set(statements) == {
        "KeyAdministration", "UseThroughS3AndLambda", "UseThroughCloudWatchLogsForThePipelineLogGroups", "GrantsForAwsResourcesOnly",
        "CloudWatchLogsForThePipelineLogGroups",
    }
    assert all(s["Resource"] == "*" for s in statements.values())  # in a key policy: this key
    # Administration grants no data use and no grants; data use only through S3 and Lambda, by this account...
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant"} & set(statements["KeyAdministration"]["Action"])
    via = statements["UseThroughS3AndLambda"]["Condition"]["StringEquals"]
    assert [v.split(".")[0] for v in via["kms:ViaService"]] == ["s3", "lambda"] and "kms:CallerAccount" in via
    groups = ["/aws/lambda/mlpipe-generate-dataset", "/aws/vendedlogs/states/mlpipe-pipeline"]
    # ...and through CloudWatch Logs, which uses the caller's permissions, for the two log groups only.
    callers = statements["UseThroughCloudWatchLogsForThePipelineLogGroups"]
    assert callers["Principal"] == statements["UseThroughS3AndLambda"]["Principal"]
    assert sorted(callers["Action"]) == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    assert callers["Condition"]["StringEquals"]["kms:ViaService"].startswith("logs.${data.aws_region.")
    assert sorted(v.rsplit(":", 1)[1] for v in callers["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]) == groups
    # Grants only when an AWS service asks for them (Lambda's for the environment).
    grants = statements["GrantsForAwsResourcesOnly"]
    assert grants["Action"] == ["kms:CreateGrant"] and grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    logs = statements["CloudWatchLogsForThePipelineLogGroups"]
    assert logs["Principal"]["Service"].startswith("logs.${data.aws_region.")
    context = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert sorted(v.rsplit(":", 1)[1] for v in context) == groups


def test_aws_managed_encryption_is_an_opt_out():
    from cdktn_provider_aws.s3_bucket_server_side_encryption_configuration import (
        S3BucketServerSideEncryptionConfigurationA,
    )

    synthesized = synth(PipelineConfig(create_kms_key=False))
    document = json.loads(synthesized)
    assert "aws_kms_key" not in document["resource"]
    assert Testing.to_have_resource_with_properties(
        synthesized,
        S3BucketServerSideEncryptionConfigurationA.TF_RESOURCE_TYPE,
        {"rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]},
    )
    assert not any(g.get("kms_key_id") for g in document["resource"]["aws_cloudwatch_log_group"].values())
    statements = [s for doc in document["data"]["aws_iam_policy_document"].values() for s in doc["statement"]]
    assert not any(a.startswith("kms:") for s in statements for a in s["actions"])


def test_lifecycle_expires_noncurrent_versions_and_aborts_incomplete_uploads(document):
    rules = only(document, "aws_s3_bucket_lifecycle_configuration")["rule"]
    # The values the README promises: noncurrent versions 30 days, incomplete multipart uploads 1 day.
    assert [rule["noncurrent_version_expiration"] for rule in rules if "noncurrent_version_expiration" in rule] == [[{"noncurrent_days": 30}]]
    assert [rule["abort_incomplete_multipart_upload"] for rule in rules if "abort_incomplete_multipart_upload" in rule] == [[{"days_after_initiation": 1}]]
    assert all(rule["status"] == "Enabled" and rule["filter"] == [{"prefix": ""}] for rule in rules)


def test_lambda_is_traced_limited_and_logs_to_its_own_group(document):
    function = only(document, "aws_lambda_function")
    assert function["tracing_config"] == {"mode": "Active"}
    # Unreserved by default: a reservation fails PutFunctionConcurrency on low-quota (new) accounts.
    assert "reserved_concurrent_executions" not in function
    assert function["handler"] == "generate_dataset.handler"
    assert function["source_code_hash"]
    assert function["environment"]["variables"]["DATASET_ROWS"] == "5000"
    groups = document["resource"]["aws_cloudwatch_log_group"]
    assert all(group["retention_in_days"] == 365 for group in groups.values())
    assert any(group["name"] == "/aws/lambda/mlpipe-generate-dataset" for group in groups.values())


def test_reserved_concurrency_is_kept_when_configured():
    document = json.loads(synth(PipelineConfig(**{"lambda": {"reserved_concurrency": 3}})))
    assert only(document, "aws_lambda_function")["reserved_concurrent_executions"] == 3


def test_lambda_waits_for_its_role_policy_and_log_group(document):
    function = only(document, "aws_lambda_function")
    (policy,) = [n for n, b in document["resource"]["aws_iam_role_policy"].items() if "lambda-policy" in n]
    (group,) = [n for n, b in document["resource"]["aws_cloudwatch_log_group"].items() if b["name"].startswith("/aws/lambda/")]
    assert set(function["depends_on"]) == {f"aws_iam_role_policy.{policy}", f"aws_cloudwatch_log_group.{group}"}


def test_transform_script_key_is_content_addressed(document):
    script = only(document, "aws_s3_object")
    assert script["key"].startswith("code/") and script["key"].endswith("/transform.py")
    assert script["source_hash"] and script["key"].split("/")[1] == script["source_hash"][:16]


def test_transform_script_waits_for_versioning_and_default_encryption(document):
    script = only(document, "aws_s3_object")
    (versioning,) = document["resource"]["aws_s3_bucket_versioning"]
    (encryption,) = document["resource"]["aws_s3_bucket_server_side_encryption_configuration"]
    assert set(script["depends_on"]) == {
        f"aws_s3_bucket_versioning.{versioning}",
        f"aws_s3_bucket_server_side_encryption_configuration.{encryption}",
    }


def test_state_machine_logs_everything_and_is_traced(document):
    machine = only(document, "aws_sfn_state_machine")
    assert machine["logging_configuration"]["level"] == "ALL"
    assert machine["logging_configuration"]["include_execution_data"] is True
    assert machine["tracing_configuration"] == {"enabled": True}
    definition = json.loads(machine["definition"])
    assert list(definition["States"])[:3] == [GENERATE, STANDARDIZE, TRAIN]
    assert definition["States"][GENERATE]["Resource"].startswith("${aws_lambda_function.")


def test_three_roles_with_confused_deputy_conditions(document):
    roles = document["resource"]["aws_iam_role"]
    assert len(roles) == 3
    documents = document["data"]["aws_iam_policy_document"]
    services = {}
    for name, doc in documents.items():
        if "-trust" not in name:
            continue
        (statement,) = doc["statement"]
        (principal,) = statement["principals"]
        services[principal["identifiers"][0]] = {c["variable"]: c["values"] for c in statement.get("condition", [])}
    assert set(services) == {"states.amazonaws.com", "sagemaker.amazonaws.com", "lambda.amazonaws.com"}
    assert set(services["states.amazonaws.com"]) == set(services["sagemaker.amazonaws.com"]) == {"aws:SourceAccount", "aws:SourceArn"}
    # SageMaker: only the job kinds the pipeline creates (its confused-deputy page), not sagemaker:*.
    assert [arn.rsplit(":", 1)[1] for arn in services["sagemaker.amazonaws.com"]["aws:SourceArn"]] == ["processing-job/*", "training-job/*"]
    # Lambda: no condition Lambda is not documented to send (iam_minimum.toml, roles.lambda).
    assert services["lambda.amazonaws.com"] == {}


def test_policies_are_data_sources_and_star_only_where_iam_allows_nothing_else(document):
    allowed_star = {
        "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
        "xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments",
        "cloudwatch:PutMetricData", "ecr:GetAuthorizationToken",
    }  # fmt: skip
    for policy in document["resource"]["aws_iam_role_policy"].values():
        assert policy["policy"].startswith("${data.aws_iam_policy_document.")
    for doc in document["data"]["aws_iam_policy_document"].values():
        for statement in doc["statement"]:
            if "*" in statement.get("resources", []):
                assert set(statement["actions"]) <= allowed_star, statement["sid"]
            assert not any(action.endswith("*") for action in statement["actions"] if statement["effect"] == "Allow")


def test_pass_role_is_scoped_to_sagemaker(document):
    statements = [s for doc in document["data"]["aws_iam_policy_document"].values() for s in doc["statement"]]
    (pass_role,) = [s for s in statements if "iam:PassRole" in s["actions"]]
    (role,) = pass_role["resources"]
    assert role.startswith("${aws_iam_role.pipeline_sagemaker-role_") and role.endswith(".arn}")
    assert pass_role["condition"] == [
        {"test": "StringEquals", "variable": "iam:PassedToService", "values": ["sagemaker.amazonaws.com"]}
    ]


def test_outputs_name_the_prefix_so_two_pipelines_coexist():
    app = Testing.app()
    stack = TerraformStack(app, "two")
    MlPipeline(stack, "churn", config=PipelineConfig(name_prefix="churn"))
    MlPipeline(stack, "fraud", config=PipelineConfig(name_prefix="fraud"))
    document = json.loads(Testing.synth(stack))
    assert {"churn_state_machine_arn", "fraud_state_machine_arn"} <= set(document["output"])
    names = [m["name"] for m in document["resource"]["aws_sfn_state_machine"].values()]
    assert sorted(names) == ["churn-pipeline", "fraud-pipeline"]


def test_non_ecr_image_override_is_a_config_error_naming_the_key():
    from sfn_ml_pipeline.config import ConfigError, config_from_mapping

    with pytest.raises(ConfigError, match=r"^config: training.image: 'docker.io/library/xgboost:1' must be an ECR image URI"):
        config_from_mapping({"training": {"image": "docker.io/library/xgboost:1"}})


def _with_provider(region: str, config: PipelineConfig) -> dict:
    from cdktn_provider_aws.provider import AwsProvider

    app = Testing.app()
    stack = TerraformStack(app, "test")
    AwsProvider(stack, "aws", region=region)
    MlPipeline(stack, "pipeline", config=config)
    return json.loads(Testing.synth(stack))


def test_images_follow_the_providers_region_not_the_configs():
    document = _with_provider("eu-west-1", PipelineConfig(region="us-east-1"))
    definition = json.loads(only(document, "aws_sfn_state_machine")["definition"])
    assert definition["States"][TRAIN]["Parameters"]["AlgorithmSpecification"]["TrainingImage"] == (
        "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    )


def test_a_provider_region_without_the_images_is_a_config_error():
    from sfn_ml_pipeline.config import ConfigError

    with pytest.raises(ConfigError, match="^provider region xx-east-9: .*has no known SageMaker image account"):
        _with_provider("xx-east-9", PipelineConfig())


def test_grant_start_execution_lets_a_role_start_this_pipeline_only():
    from cdktn_provider_aws.iam_role import IamRole

    app = Testing.app()
    stack = TerraformStack(app, "test")
    pipeline = MlPipeline(stack, "pipeline", config=PipelineConfig())
    scheduler = IamRole(stack, "scheduler", name="scheduler", assume_role_policy="{}")
    pipeline.grant_start_execution(scheduler)
    document = json.loads(Testing.synth(stack))
    (grant,) = [p for p in document["resource"]["aws_iam_role_policy"].values() if p["name"] == "mlpipe-start-execution"]
    assert grant["role"] == "${aws_iam_role.scheduler.id}"
    doc_name = grant["policy"].split(".")[2]
    (statement,) = document["data"]["aws_iam_policy_document"][doc_name]["statement"]
    (machine,) = document["resource"]["aws_sfn_state_machine"]
    assert statement["actions"] == ["states:StartExecution"]
    assert statement["resources"] == [f"${{aws_sfn_state_machine.{machine}.arn}}"]


def test_an_existing_role_is_used_instead_of_creating_one():
    from cdktn_provider_aws.iam_role import IamRole

    app = Testing.app()
    stack = TerraformStack(app, "test")
    jobs = IamRole(stack, "estate-jobs", name="estate-jobs", assume_role_policy="{}")
    MlPipeline(stack, "pipeline", config=PipelineConfig(), sagemaker_role=jobs)
    document = json.loads(Testing.synth(stack))
    names = sorted(r["name"] for r in document["resource"]["aws_iam_role"].values())
    assert names == ["estate-jobs", "mlpipe-generate-dataset", "mlpipe-state-machine"]
    (policy,) = [p for p in document["resource"]["aws_iam_role_policy"].values() if p["name"] == "run-jobs"]
    assert policy["role"] == "${aws_iam_role.estate-jobs.id}"
    definition = json.loads(only(document, "aws_sfn_state_machine")["definition"])
    assert definition["States"][TRAIN]["Parameters"]["RoleArn"] == "${aws_iam_role.estate-jobs.arn}"


def test_the_batch_transform_stage_grants_exactly_its_tasks_and_data():
    document = json.loads(synth(PipelineConfig.model_validate({"batch_transform": {"enabled": True}})))
    documents = document["data"]["aws_iam_policy_document"]
    statements = {name: {s.get("sid"): s for s in doc["statement"]} for name, doc in documents.items()}
    (machine,) = [s for n, s in statements.items() if "state-machine-policy" in n]
    assert machine["CreateModels"]["actions"] == ["sagemaker:CreateModel"] and machine["CreateModels"]["resources"][0].endswith(":model/*")
    assert machine["RunTransformJobs"]["resources"][0].endswith(":transform-job/*")
    assert any(r.endswith("TransformJobsRule") for r in machine["WatchSyncJobs"]["resources"])
    (jobs,) = [s for n, s in statements.items() if "sagemaker-policy" in n]
    # ... and the Evaluate model job (issue 23) writes runs/*/evaluation/ (tests/test_quality_gate.py)
    assert [r.split("/", 1)[1] for r in jobs["WritePipelineOutputs"]["resources"]] == [
        "runs/*/train/*", "runs/*/holdout/*", "runs/*/models/*", "runs/*/evaluation/*"]
    (trust,) = [s for n, s in statements.items() if "sagemaker-role-trust" in n]
    (source_arn,) = [c for c in trust["TrustedService"]["condition"] if c["variable"] == "aws:SourceArn"]
    assert [v.rsplit(":", 1)[1] for v in source_arn["values"]] == ["processing-job/*", "training-job/*"]  # the jobs only
    # The model has its own role (issue 21): trusted as SageMaker's page writes it for inference, reading the
    # model and the held-out features, writing the predictions, pulling the XGBoost image only.
    (model,) = [s for n, s in statements.items() if "sagemaker-model-policy" in n]
    assert [r.split("/", 1)[1] for r in model["ReadPipelineData"]["resources"]] == ["runs/*/models/*", "runs/*/holdout/features/*"]
    assert [r.split("/", 1)[1] for r in model["WritePipelineOutputs"]["resources"]] == ["runs/*/predictions/*"]
    assert model["ListPipelineData"]["condition"][0]["values"] == ["runs/*/holdout/*"]
    assert [r.rsplit("/", 1)[1] for r in model["PullJobImages"]["resources"]] == ["sagemaker-xgboost"]
    (model_trust,) = [s for n, s in statements.items() if "sagemaker-model-role-trust" in n]
    (model_source,) = [c for c in model_trust["TrustedService"]["condition"] if c["variable"] == "aws:SourceArn"]
    assert [v.rsplit(":", 1)[1] for v in model_source["values"]] == ["*"] and ":sagemaker:" in model_source["values"][0]
    roles = document["resource"]["aws_iam_role"]
    (model_role,) = [n for n, r in roles.items() if r["name"] == "mlpipe-sagemaker-model"]
    (jobs_role,) = [n for n, r in roles.items() if r["name"] == "mlpipe-sagemaker-jobs"]
    assert machine["PassSageMakerRole"]["resources"] == [f"${{aws_iam_role.{jobs_role}.arn}}", f"${{aws_iam_role.{model_role}.arn}}"]
    (definition,) = [json.loads(m["definition"]) for m in document["resource"]["aws_sfn_state_machine"].values()]
    assert definition["States"]["Create model"]["Parameters"]["ExecutionRoleArn"] == f"${{aws_iam_role.{model_role}.arn}}"
