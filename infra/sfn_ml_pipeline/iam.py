"""The IAM statements of the pipeline's three roles, as data.

Each statement is scoped to the ARNs it needs; only actions that support no resource-level
permissions use ``*`` (and carry a condition where IAM offers one). Sources:

* Step Functions -> SageMaker: https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html
* Step Functions -> Lambda:    https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html
* Step Functions logging:      https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
* Step Functions X-Ray:        https://docs.aws.amazon.com/step-functions/latest/dg/concepts-xray-tracing.html
* SageMaker execution role:    https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html
  (the sample's policy, ../shared/reference/sample-iam-sagemaker-execution-role.json, scoped down)
* Lambda execution role:       https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html
* S3 ListBucket's s3:prefix:   https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html
* KMS kms:ViaService:          https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
* SageMaker confused deputy:   https://docs.aws.amazon.com/sagemaker/latest/dg/security-confused-deputy-prevention.html

The documented minimum that ``pipeline-tools verify-iam`` checks these against lives in
``pipeline_tools/data/``; this module is what the construct grants.
"""

from __future__ import annotations

from dataclasses import dataclass

from .statements import Arns, Statement, merge_statements

__all__ = [
    "Arns", "DataLayout", "Statement", "job_key_statements", "key_policy", "lambda_statements", "model_statements",
    "network_interface_statements", "sagemaker_statements", "state_machine_statements", "trust_statement",
]


LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
]
XRAY_STATE_MACHINE_ACTIONS = [
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
]
XRAY_LAMBDA_ACTIONS = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]


@dataclass(frozen=True)
class DataLayout:
    """Where the jobs read and write in S3, from the config: what the SageMaker role is scoped to.

    In the pipeline's bucket: the code (``code/<hash>/``), the generated dataset
    (``runs/<execution>/input/``) unless your data is elsewhere, one folder per processing output
    (``runs/<execution>/<name>/``), the training channels (some of those outputs) and the models.
    Your data (``[input]``): GetObject under its prefix, ListBucket with that ``s3:prefix``, and its
    key through S3 when its objects are SSE-KMS encrypted. With the Evaluate model job (``evaluation``:
    the rows it judges, ``holdout`` or ``test``) the jobs read the predictions (and the held-out labels)
    and write evaluation/. The batch transform itself runs as the model's role (:func:`model_statements`),
    on the held-out features or, with the quality gate on your data, your ``test`` output (``transform_input``)."""

    generated_input: bool = True
    outputs: tuple[str, ...] = ("train",)
    channels: tuple[str, ...] = ("train",)
    batch_transform: bool = False
    input_bucket_arn: str | None = None
    input_prefix: str = ""
    input_kms_key_arn: str | None = None
    evaluation: str | None = None  # [quality_gate]: "holdout" (the sample's split) or "test" (your output)

    @classmethod
    def of(cls, config, partition: str) -> "DataLayout":
        data = config.input
        return cls(
            generated_input=config.generates_dataset,
            outputs=tuple(config.processing_outputs),
            channels=tuple(config.training_channels),
            batch_transform=config.transform_stage,
            input_bucket_arn=f"arn:{partition}:s3:::{data.bucket}" if data else None,
            input_prefix=data.prefix if data else "",
            input_kms_key_arn=data.kms_key_arn if data else None,
            evaluation=config.evaluation_source,
        )

    @property
    def transform_input(self) -> str:
        """What the batch transform predicts: your test output with the gate, else the held-out features."""
        return "test" if self.evaluation == "test" else "holdout/features"

    def listed_prefixes(self) -> list[str]:
        """The prefixes of the pipeline's bucket the jobs list (S3Prefix inputs list their S3Uri's prefix):
        the code (``code/<sha>/transform.py`` or ``code/<hash>/sourcedir.tar.gz``), raw.csv, each channel;
        the transform's input; the evaluation's predictions."""
        prefixes = ["code/*"] + (["runs/*/input/*"] if self.generated_input else [])
        prefixes += [f"runs/*/{channel}/*" for channel in self.channels]
        if self.evaluation:  # Evaluate model's inputs: the predictions, and the held-out labels
            prefixes += ["runs/*/predictions/*"] + (["runs/*/holdout/labels/*"] if self.evaluation == "holdout" else [])
        return prefixes  # the transform input's runs/*/holdout/* (or test/*) is the model's role's (model_statements)


def state_machine_statements(arns: Arns, tasks, *, logging: bool = True, tracing: bool = True) -> list[Statement]:
    """The state machine role's grants: the union of what its tasks need (each task type states it,
    sfn_ml_pipeline.tasks), plus log delivery and X-Ray only where those are turned on."""
    statements = merge_statements([task.policy_statements(arns) for task in tasks])
    # These actions support no resource-level permissions (AWS docs above): "*" is the only option.
    if logging:
        statements.append(Statement("DeliverExecutionLogs", LOG_DELIVERY_ACTIONS, ["*"]))
    if tracing:
        statements.append(Statement("WriteTraces", XRAY_STATE_MACHINE_ACTIONS, ["*"]))
    return statements


def sagemaker_statements(arns: Arns, layout: DataLayout | None = None) -> list[Statement]:
    """The jobs' role: processing reads its code and its data (raw.csv, or your [input] prefix) and writes
    its outputs (with the batch transform stage, holdout/ too); training reads its channels (and, in
    script mode, its code) and writes models/. The batch transform runs as the model's own role
    (:func:`model_statements`)."""
    layout = layout or DataLayout()
    bucket = arns.bucket_arn
    log_groups = [arns.service_arn("logs", f"log-group:/aws/sagemaker/{kind}") for kind in ("ProcessingJobs", "TrainingJobs")]
    reads = [f"{bucket}/code/*"] + ([f"{bucket}/runs/*/input/*"] if layout.generated_input else [])
    reads += [f"{bucket}/runs/*/{channel}/*" for channel in layout.channels]
    writes = [f"{bucket}/runs/*/{output}/*" for output in layout.outputs] + [f"{bucket}/runs/*/models/*"]
    if layout.evaluation:  # Evaluate model: the predictions (and the held-out labels) in, evaluation/ out
        reads += [f"{bucket}/runs/*/predictions/*"] + ([f"{bucket}/runs/*/holdout/labels/*"] if layout.evaluation == "holdout" else [])
        writes += [f"{bucket}/runs/*/evaluation/*"]
    statements = _job_statements(arns, _unique(reads), _unique(writes), layout.listed_prefixes(), log_groups, arns.ecr_repositories)
    if layout.input_bucket_arn:
        # Your data: the processing input lists and reads everything under the prefix (an execution may
        # read a location under it: `run --input`), nothing else of that bucket.
        statements[3:3] = [
            Statement("ReadYourData", ["s3:GetObject"], [f"{layout.input_bucket_arn}/{layout.input_prefix}*"]),
            Statement("ListYourData", ["s3:ListBucket"], [layout.input_bucket_arn], [("StringLike", "s3:prefix", [f"{layout.input_prefix}*"])]),
        ]
    if layout.input_kms_key_arn:
        # Your bucket's key: decrypt only, only through S3 (the jobs never write there).
        statements.append(Statement(
            "DecryptYourData", ["kms:Decrypt"], [layout.input_kms_key_arn],
            [("StringEquals", "kms:ViaService", [f"s3.{arns.region}.{arns.dns_suffix}"])],
        ))
    return statements + job_key_statements(arns) + network_interface_statements(arns, "Job")


def model_statements(arns: Arns, image_repositories: list[str], transform_input: str = "holdout/features") -> list[Statement]:
    """The model's role (the batch transform stage): SageMaker assumes it to read the model artifact and
    pull the model's image, and a transform job runs the model as this role ("the IAM role that
    SageMaker can assume to access model artifacts and docker image for deployment on ML compute
    instances or for batch transform jobs",
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModel.html#sagemaker-CreateModel-request-ExecutionRoleArn):
    it reads the artifact in models/ and what it predicts (``transform_input``: the held-out features, or
    with the quality gate on your data your ``test`` output), writes predictions/, logs to
    /aws/sagemaker/TransformJobs, and pulls the model's (XGBoost) image only."""
    bucket = arns.bucket_arn
    return _job_statements(
        arns,
        reads=[f"{bucket}/runs/*/models/*", f"{bucket}/runs/*/{transform_input}/*"],
        writes=[f"{bucket}/runs/*/predictions/*"],
        listed=["runs/*/test/*" if transform_input == "test" else "runs/*/holdout/*"],
        log_groups=[arns.service_arn("logs", "log-group:/aws/sagemaker/TransformJobs")],
        repositories=image_repositories,
    ) + job_key_statements(arns) + network_interface_statements(arns, "Job")  # its transform job's output and volume keys, its VPC


def _job_statements(arns: Arns, reads: list[str], writes: list[str], listed: list[str], log_groups: list[str], repositories: list[str]) -> list[Statement]:
    """What a role SageMaker runs a job (or a model) as needs: its data, its logs and metrics, its images."""
    statements = [
        Statement("ReadPipelineData", ["s3:GetObject"], reads),
        Statement("WritePipelineOutputs", ["s3:PutObject"], writes),
        # S3Prefix inputs list the prefix of their S3Uri: the code's, raw.csv's, each channel's (holdout/features/).
        Statement("ListPipelineData", ["s3:ListBucket"], [arns.bucket_arn], [("StringLike", "s3:prefix", listed)]),
        Statement(
            "WriteJobLogs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            [f"{group}:*" for group in log_groups],
        ),
        Statement(
            "PublishJobMetrics",
            ["cloudwatch:PutMetricData"],
            ["*"],
            [("StringLike", "cloudwatch:namespace", ["/aws/sagemaker/*"])],
        ),
        Statement("AuthenticateToEcr", ["ecr:GetAuthorizationToken"], ["*"]),
        Statement(
            "PullJobImages",
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            repositories,
        ),
    ]
    if arns.kms_key_arn:
        statements.append(_use_data_key(arns))
    return statements


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _use_data_key(arns: Arns) -> Statement:
    """The key is used for S3 objects only (SSE-KMS): through S3 in the stack's region, never directly."""
    return Statement(
        "UseDataKey",
        ["kms:Decrypt", "kms:GenerateDataKey"],
        [arns.kms_key_arn],
        [("StringEquals", "kms:ViaService", [f"s3.{arns.region}.{arns.dns_suffix}"])],
    )


def lambda_statements(arns: Arns) -> list[Statement]:
    statements = [
        Statement(
            "WriteDataset",
            ["s3:AbortMultipartUpload", "s3:PutObject"],
            [f"{arns.bucket_arn}/runs/*/input/*"],
        ),
        Statement(
            "WriteFunctionLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [f"{arns.lambda_log_group_arn}:*"],
        ),
        Statement("WriteTraces", XRAY_LAMBDA_ACTIONS, ["*"]),
    ]
    if arns.kms_key_arn:
        statements.append(_use_data_key(arns))
        # The function's log group is encrypted with the key: CloudWatch Logs uses it with the
        # writer's permissions (LOGS_CALLER_KEY_ACTIONS, below), for this log group only.
        statements.append(
            Statement(
                "UseLogKey",
                ["kms:Decrypt", "kms:GenerateDataKey"],
                [arns.kms_key_arn],
                [
                    ("StringEquals", "kms:ViaService", [f"logs.{arns.region}.{arns.dns_suffix}"]),
                    # StringEquals: the Service Authorization Reference types kms:EncryptionContext:* as String
                    # (the key policy keeps the ArnEquals AWS's CloudWatch Logs page writes).
                    ("StringEquals", LOGS_ENCRYPTION_CONTEXT_KEY, [arns.lambda_log_group_arn]),
                ],
            )
        )
    return statements + network_interface_statements(arns, "Function")


def trust_statement(service: str, account: str | None, source_arns: list[str] | None = None) -> dict:
    """Who may assume a role: one service, on behalf of this account and, where the service sends
    it, of the named resources only (confused-deputy protection). ``account=None``: no source
    condition at all, for services not documented to send the keys (see iam_minimum.toml, lambda)."""
    conditions = []
    if account is not None:
        conditions.append({"test": "StringEquals", "variable": "aws:SourceAccount", "values": [account]})
    if source_arns:
        conditions.append({"test": "ArnLike", "variable": "aws:SourceArn", "values": source_arns})
    statement = {
        "sid": "TrustedService",
        "effect": "Allow",
        "actions": ["sts:AssumeRole"],
        "principals": [{"type": "Service", "identifiers": [service]}],
    }
    if conditions:
        statement["condition"] = conditions
    return statement


# -- the stack's own KMS key ------------------------------------------------------------------------
# Key administration: the administrative actions of the key policy AWS writes for key administrators
# (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators),
# spelled out instead of its "kms:Create*"-style wildcards, so no future action is granted unseen, and
# without kms:CreateGrant: a grant made directly would give its grantee the key's data use around the
# S3/Lambda/Logs-only statements below (see KEY_GRANT_ACTIONS).
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
# Grants only for AWS resources: SageMaker creates one for each job's volume (VolumeKmsKeyId, with the
# job role's kms:CreateGrant: job_key_statements) and Lambda creates a grant on the key with the deployer's permissions when
# a function's environment is encrypted with it (its answer without them: "Lambda was unable to
# configure access to your environment variables because the KMS key is invalid for CreateGrant",
# github.com/hashicorp/terraform-provider-aws/issues/4633). kms:GrantIsForAWSResource "allows
# principals to call CreateGrant [...] only when an AWS service that is integrated with AWS KMS sends
# the request on the principal's behalf" (https://docs.aws.amazon.com/kms/latest/developerguide/grant-authorization.html),
# as the default key policy's statement for key users does
# (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-service-integration).
KEY_GRANT_ACTIONS = ["kms:CreateGrant"]
# Data use through S3 (SSE-KMS with a bucket key: GenerateDataKey and Decrypt,
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html) and through Lambda
# (environment variables: Encrypt and Decrypt, https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html).
KEY_USE_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
# CloudWatch Logs calls KMS with the caller's permissions: "CloudWatch Logs now supports kms:ViaService
# which allows logs to make AWS KMS calls on your behalf. You should add this to your roles which call
# CloudWatch Logs in either your Key Policy or in IAM"
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html): kms:Encrypt to
# create an encrypted log group (Terraform), kms:GenerateDataKey and kms:Decrypt to write its events
# (the Lambda role; AWS's managed policy CloudWatchLogsAPIKeyAccess grants these two beside
# logs:PutLogEvents), kms:Decrypt to read them (`pipeline-tools logs`). The three are what
# aws-samples/aws-secure-environment-accelerator PR #1293 and awslabs/landing-zone-accelerator-on-aws
# issue #768 (commit c671465) granted when CloudWatch Logs began refusing callers without them (2025).
LOGS_CALLER_KEY_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
# What CloudWatch Logs needs on a key that encrypts log groups, exactly as AWS writes it
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html, step 2);
# the encryption context condition limits it to the named log groups.
LOGS_KEY_ACTIONS = ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
LOGS_ENCRYPTION_CONTEXT_KEY = "kms:EncryptionContext:aws:logs:arn"


def key_policy(partition: str, dns_suffix: str, region: str, account: str, log_group_arns: list[str], *, lambda_function: bool = True) -> dict:
    """The key policy of the stack's own key, as an IAM JSON policy document.

    * The account administers the key (no data use from this statement), so IAM policies can
      manage it and it can never become unmanageable (KMS's lockout safety check).
    * Principals of the account may encrypt and decrypt with it only through S3 and Lambda in this
      region (through S3 only when the stack has no Lambda: your data in S3), and only where their
      own IAM policies allow it too: the stack's roles (whose policies carry the same kms:ViaService
      condition), Terraform and ``pipeline-tools run`` reading a model.
    * ...and through CloudWatch Logs, for this stack's log groups only: CloudWatch Logs uses the
      caller's permissions to create them (Terraform), write them (the Lambda role) and read them
      (``pipeline-tools logs``).
    * Principals of the account may create grants on it only for AWS resources (Lambda's grant for
      the function's environment, SageMaker's for the jobs' volumes).
    * CloudWatch Logs may use it for this stack's two log groups only (the encryption context
      condition AWS documents for log group encryption).

    In a key policy, ``"Resource": "*"`` means this key
    (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html).
    """
    root = f"arn:{partition}:iam::{account}:root"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "KeyAdministration",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": KEY_ADMIN_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "UseThroughS3AndLambda",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": KEY_USE_ACTIONS,
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": [f"s3.{region}.{dns_suffix}"] + ([f"lambda.{region}.{dns_suffix}"] if lambda_function else []),
                        "kms:CallerAccount": account,
                    }
                },
            },
            {
                "Sid": "UseThroughCloudWatchLogsForThePipelineLogGroups",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": LOGS_CALLER_KEY_ACTIONS,
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"logs.{region}.{dns_suffix}", "kms:CallerAccount": account},
                    "ArnEquals": {LOGS_ENCRYPTION_CONTEXT_KEY: log_group_arns},
                },
            },
            {
                "Sid": "GrantsForAwsResourcesOnly",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": KEY_GRANT_ACTIONS,
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
            {
                "Sid": "CloudWatchLogsForThePipelineLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.{dns_suffix}"},
                "Action": LOGS_KEY_ACTIONS,
                "Resource": "*",
                "Condition": {"ArnEquals": {LOGS_ENCRYPTION_CONTEXT_KEY: log_group_arns}},
            },
        ],
    }


# -- jobs locked down as the stack (job_security.py): their volume and output keys, their VPC ------------


def job_key_statements(arns: Arns) -> list[Statement]:
    """What the jobs' role needs for the stack's key beyond reading and writing SSE-KMS objects
    (``UseDataKey``), per SageMaker's execution role page
    (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html, CreateProcessingJob and
    CreateTrainingJob): "If you specify a KMS key in the output configuration ..., add ``kms:Encrypt``"
    (the key encrypts "the model artifacts at rest using Amazon S3 server-side encryption",
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputDataConfig.html: through S3 only,
    as the key policy allows), and "If you specify a volume KMS key in the resource configuration ...,
    add ``kms:CreateGrant``", for the AWS resource that holds the volume only (``kms:GrantIsForAWSResource``,
    as SageMaker's own key policy for volume keys writes it:
    https://docs.aws.amazon.com/sagemaker/latest/dg/sms-security-kms-permissions.html;
    https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource)."""
    if not arns.kms_key_arn:
        return []
    return [
        Statement(
            "EncryptJobOutputs", ["kms:Encrypt"], [arns.kms_key_arn],
            [("StringEquals", "kms:ViaService", [f"s3.{arns.region}.{arns.dns_suffix}"])],
        ),
        Statement(
            "GrantJobVolumes", ["kms:CreateGrant"], [arns.kms_key_arn],
            [("Bool", "kms:GrantIsForAWSResource", ["true"])],
        ),
    ]


def network_interface_statements(arns: Arns, owner: str) -> list[Statement]:
    """With ``[network]``: the network interfaces a VPC Lambda ("Function") or SageMaker job or model
    ("Job") needs in the stack's subnets, as narrow as EC2 allows.

    * ``ec2:CreateNetworkInterface`` is authorized on the new interface, its subnet and its security
      groups (EC2's service authorization reference, ``CreateNetworkInterface``:
      https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html), so it is
      granted on the stack's subnets and security groups only.
    * The actions on an existing interface (delete, permissions, private addresses) carry
      ``ec2:Subnet`` (the ARN of its subnet, a condition key of the ``network-interface`` resource in
      that reference): interfaces in the stack's subnets only. Lambda: "If you don't specify a resource
      ID for DeleteNetworkInterface ..., include all resource IDs" (``network-interface/*``).
    * ``Describe*`` support no resource-level permissions: ``*`` (Lambda: "ec2:DescribeNetworkInterfaces
      - This action only works if it's allowed on all resources").

    The actions: Lambda's list (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html,
    the managed policy AWSLambdaVPCAccessExecutionRole v3); SageMaker's "If you specify a private VPC for
    your ... job, add the following permissions" (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html)."""
    if not arns.subnet_ids:
        return []
    ec2 = lambda resource: arns.service_arn("ec2", resource)  # noqa: E731
    subnets = [ec2(f"subnet/{subnet}") for subnet in arns.subnet_ids]
    groups = [ec2(f"security-group/{group}") for group in arns.security_group_ids]
    interfaces = ec2("network-interface/*")
    if owner == "Function":
        manage = ["ec2:AssignPrivateIpAddresses", "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses"]
        describe = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
    else:
        manage = ["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission"]
        describe = ["ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"]
    return [
        Statement(f"Create{owner}NetworkInterfaces", ["ec2:CreateNetworkInterface"], [*subnets, *groups, interfaces]),
        Statement(f"Manage{owner}NetworkInterfaces", manage, [interfaces], [("ArnEquals", "ec2:Subnet", subnets)]),
        Statement(f"Describe{owner}Network", describe, ["*"]),
    ]
