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

The documented minimum that ``pipeline-tools verify-iam`` checks these against lives in
``pipeline_tools/data/``; this module is what the construct grants.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: list[str]
    resources: list[str]
    conditions: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (test, variable, values)

    def to_binding(self) -> dict:
        """The shape `DataAwsIamPolicyDocumentStatement` takes."""
        statement: dict = {"sid": self.sid, "effect": "Allow", "actions": self.actions, "resources": self.resources}
        if self.conditions:
            statement["condition"] = [{"test": t, "variable": v, "values": vals} for t, v, vals in self.conditions]
        return statement


@dataclass(frozen=True)
class Arns:
    """The ARN parts the statements are scoped with (literal strings or Terraform references)."""

    partition: str
    region: str
    account: str
    bucket_arn: str
    lambda_arn: str
    lambda_log_group_arn: str
    sagemaker_role_arn: str
    ecr_repositories: list[str]
    kms_key_arn: str | None = None

    def service_arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"


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


def state_machine_statements(arns: Arns) -> list[Statement]:
    processing_jobs = arns.service_arn("sagemaker", "processing-job/*")
    training_jobs = arns.service_arn("sagemaker", "training-job/*")
    return [
        Statement("InvokeGenerateDataset", ["lambda:InvokeFunction"], [arns.lambda_arn, f"{arns.lambda_arn}:*"]),
        Statement(
            "RunProcessingJobs",
            ["sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"],
            [processing_jobs],
        ),
        Statement(
            "RunTrainingJobs",
            ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
            [training_jobs],
        ),
        Statement("ReadJobTags", ["sagemaker:ListTags"], [processing_jobs, training_jobs]),
        Statement(
            "PassSageMakerRole",
            ["iam:PassRole"],
            [arns.sagemaker_role_arn],
            [("StringEquals", "iam:PassedToService", ["sagemaker.amazonaws.com"])],
        ),
        Statement(
            "WatchSyncJobs",
            ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            [
                arns.service_arn("events", "rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule"),
                arns.service_arn("events", "rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule"),
            ],
        ),
        # These actions support no resource-level permissions (AWS docs above): "*" is the only option.
        Statement("DeliverExecutionLogs", LOG_DELIVERY_ACTIONS, ["*"]),
        Statement("WriteTraces", XRAY_STATE_MACHINE_ACTIONS, ["*"]),
    ]


def sagemaker_statements(arns: Arns) -> list[Statement]:
    bucket = arns.bucket_arn
    log_groups = [
        arns.service_arn("logs", "log-group:/aws/sagemaker/ProcessingJobs"),
        arns.service_arn("logs", "log-group:/aws/sagemaker/TrainingJobs"),
    ]
    statements = [
        Statement(
            "ReadPipelineData",
            ["s3:GetObject"],
            [f"{bucket}/code/*", f"{bucket}/runs/*/input/*", f"{bucket}/runs/*/train/*"],
        ),
        Statement("WritePipelineOutputs", ["s3:PutObject"], [f"{bucket}/runs/*/train/*", f"{bucket}/runs/*/models/*"]),
        Statement("ListPipelineData", ["s3:ListBucket"], [bucket]),
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
            arns.ecr_repositories,
        ),
    ]
    if arns.kms_key_arn:
        statements.append(Statement("UseDataKey", ["kms:Decrypt", "kms:GenerateDataKey"], [arns.kms_key_arn]))
    return statements


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
        statements.append(Statement("UseDataKey", ["kms:Decrypt", "kms:GenerateDataKey"], [arns.kms_key_arn]))
    return statements


def trust_statement(service: str, account: str, source_arn: str | None) -> dict:
    """Who may assume a role: one service, only on behalf of this account (confused-deputy protection)."""
    conditions = [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": [account]}]
    if source_arn:
        conditions.append({"test": "ArnLike", "variable": "aws:SourceArn", "values": [source_arn]})
    return {
        "sid": "TrustedService",
        "effect": "Allow",
        "actions": ["sts:AssumeRole"],
        "principals": [{"type": "Service", "identifiers": [service]}],
        "condition": conditions,
    }
