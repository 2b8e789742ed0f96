"""SageMaker tasks: jobs run to completion (``.sync``: processing, training, batch transform) and
CreateModel (request-response).

Each job type names its API, its job ARN type and the EventBridge managed rule Step Functions uses to
learn that a job ended. IAM: https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html
(training; processing by analogy, see iam_minimum.toml). Jobs run as ``RoleArn``, which the state
machine passes to SageMaker only (``iam:PassedToService``).

Retries: only ``SageMaker.ResourceLimitExceededException`` ("You have exceeded an SageMaker resource
limit. For example, you might have too many training jobs created", the Errors of
CreateProcessingJob/CreateTrainingJob,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html#API_CreateTrainingJob_Errors),
with a retrier of its own measured in minutes (:data:`RESOURCE_LIMIT_RETRY`): a limit on concurrent
jobs or instances holds until other jobs end. Step Functions' SageMaker example retries it every
60 s ("IntervalSeconds": 60, https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html,
"SageMaker Training Job Example"), and SageMaker Pipelines' example retry policy for the same
exception (RESOURCE_LIMIT) starts at 60 s, doubles, and gives up after 120 minutes
(https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-configuring-retry-policy.html). Here: from
60 s, doubling, each wait capped at 15 minutes, 8 attempts (at most 75 minutes of waiting), with full
jitter so executions waiting for the same limit do not come back at the same moment.
The create was refused, so no job of that name exists and the retry cannot fail on "job names must
be unique" (ResourceInUse). Not retried: ``SageMaker.AmazonSageMakerException`` (it also carries
validation errors that never succeed), ``States.TaskFailed`` (the job ran and failed: a retry under
the same name would be refused as ResourceInUse), and a bare ``ThrottlingException`` (no integration
error has that name; Step Functions itself retries the ``.sync`` polling). Step Functions names an
integration's errors ``<Service>.<Exception>``
(https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..statements import Arns, Statement
from .base import DefinitionRefs, Task

# No SageMaker error is worth a retry within seconds; the resource limit gets its own retrier.
SAGEMAKER_TRANSIENT_ERRORS: list[str] = []
RESOURCE_LIMIT_ERROR = "SageMaker.ResourceLimitExceededException"
RESOURCE_LIMIT_RETRY: dict[str, Any] = {
    "ErrorEquals": [RESOURCE_LIMIT_ERROR],
    "IntervalSeconds": 60,
    "MaxAttempts": 8,
    "BackoffRate": 2.0,
    "MaxDelaySeconds": 900,
    "JitterStrategy": "FULL",
}


class _SageMakerRetries:
    """The Retry list of every SageMaker task: the resource limit's retrier (minutes)."""

    @property
    def transient_errors(self) -> list[str]:
        return SAGEMAKER_TRANSIENT_ERRORS

    @property
    def retriers(self) -> list[dict[str, Any]]:
        return [*super().retriers, dict(RESOURCE_LIMIT_RETRY, ErrorEquals=list(RESOURCE_LIMIT_RETRY["ErrorEquals"]))]


def _pass_role(role_arn: str) -> Statement:
    return Statement(
        "PassSageMakerRole",
        ["iam:PassRole"],
        [role_arn],
        [("StringEquals", "iam:PassedToService", ["sagemaker.amazonaws.com"])],
    )


@dataclass(frozen=True)
class SageMakerSyncJob(_SageMakerRetries, Task):
    """A SageMaker ``create<Job>.sync`` task. Subclasses name the job type."""

    api: ClassVar[str]  # e.g. createTrainingJob
    job_kind: ClassVar[str]  # the job's ARN type, e.g. training-job
    noun: ClassVar[str]  # e.g. TrainingJob (CreateTrainingJob, ...JobsRule)

    def resource(self, refs: DefinitionRefs) -> str:
        return refs.integration("sagemaker", f"{self.api}.sync")

    def passed_roles(self) -> list[Statement]:
        """iam:PassRole of the job's RoleArn, to SageMaker only."""
        return [_pass_role(self.parameters["RoleArn"])]

    def policy_statements(self, arns: Arns) -> list[Statement]:
        jobs = arns.service_arn("sagemaker", f"{self.job_kind}/*")
        rule = arns.service_arn("events", f"rule/StepFunctionsGetEventsForSageMaker{self.noun}sRule")
        return [
            Statement(
                f"Run{self.noun}s",
                [f"sagemaker:Create{self.noun}", f"sagemaker:Describe{self.noun}", f"sagemaker:Stop{self.noun}"],
                [jobs],
            ),
            Statement("ReadJobTags", ["sagemaker:ListTags"], [jobs]),
            *self.passed_roles(),
            Statement("WatchSyncJobs", ["events:DescribeRule", "events:PutRule", "events:PutTargets"], [rule]),
        ]


@dataclass(frozen=True)
class SageMakerCreateProcessingJob(SageMakerSyncJob):
    api: ClassVar[str] = "createProcessingJob"
    job_kind: ClassVar[str] = "processing-job"
    noun: ClassVar[str] = "ProcessingJob"


@dataclass(frozen=True)
class SageMakerCreateTrainingJob(SageMakerSyncJob):
    api: ClassVar[str] = "createTrainingJob"
    job_kind: ClassVar[str] = "training-job"
    noun: ClassVar[str] = "TrainingJob"


@dataclass(frozen=True)
class SageMakerCreateTransformJob(SageMakerSyncJob):
    """A batch transform job. The job runs as the model's execution role, so no role is passed here."""

    api: ClassVar[str] = "createTransformJob"
    job_kind: ClassVar[str] = "transform-job"
    noun: ClassVar[str] = "TransformJob"

    def passed_roles(self) -> list[Statement]:
        return []


@dataclass(frozen=True)
class SageMakerCreateModel(_SageMakerRetries, Task):
    """CreateModel (request-response): registers the trained artifact with its image and the role
    SageMaker runs it as (``ExecutionRoleArn``, passed to SageMaker only)."""

    def resource(self, refs: DefinitionRefs) -> str:
        return refs.integration("sagemaker", "createModel")

    def policy_statements(self, arns: Arns) -> list[Statement]:
        return [
            Statement("CreateModels", ["sagemaker:CreateModel"], [arns.service_arn("sagemaker", "model/*")]),
            _pass_role(self.parameters["ExecutionRoleArn"]),
        ]
