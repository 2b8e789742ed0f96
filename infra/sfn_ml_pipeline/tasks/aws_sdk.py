"""AWS SDK service integrations (``arn:<partition>:states:::aws-sdk:<service>:<apiAction>``): the
quality gate's reading of ``evaluation.json`` and its registration of the model.

"Parameters in Step Functions are expressed in PascalCase" and an integration's errors are named
``<Service>.<Error>`` with an ``Exception`` suffix
(https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html). Step Functions
does not derive an IAM policy for an AWS SDK integration: the role needs the API's own action on the
resources it touches, which each task states here (as AWS CDK's ``CallAwsService`` takes
``iamResources`` and ``iamAction``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..statements import Arns, Statement
from .base import DefinitionRefs, Task
from .sagemaker import _SageMakerRetries


@dataclass(frozen=True)
class AwsSdkTask(Task):
    """A request-response AWS SDK integration task. Without transient errors it has no Retry."""

    service: ClassVar[str]
    api: ClassVar[str]

    def resource(self, refs: DefinitionRefs) -> str:
        return refs.integration("aws-sdk", f"{self.service}:{self.api}")

    def state(self, refs: DefinitionRefs, fail_state: str) -> dict[str, Any]:
        state = super().state(refs, fail_state)
        if not state["Retry"]:
            del state["Retry"]
        return state


@dataclass(frozen=True)
class S3GetObject(AwsSdkTask):
    """Reads a small JSON object into the state's data: ``States.StringToJson($.Body)`` in the
    ResultSelector, as AWS's own workflows read an S3 object's JSON
    (aws-samples/step-functions-workflows-collection, redshift-serverless-unload/statemachine/statemachine.asl.json).
    ``objects``: the key pattern(s) in the pipeline's bucket the role may read (the IAM resource)."""

    service: ClassVar[str] = "s3"
    api: ClassVar[str] = "getObject"
    objects: tuple[str, ...] = ()
    sid: str = "ReadObjects"

    @property
    def transient_errors(self) -> list[str]:
        return []  # a missing or unreadable evaluation is the run's failure, not worth a retry

    def policy_statements(self, arns: Arns) -> list[Statement]:
        statements = [Statement(self.sid, ["s3:GetObject"], [f"{arns.bucket_arn}/{key}" for key in self.objects])]
        if arns.kms_key_arn:
            # SSE-KMS objects: S3 decrypts with the caller's kms:Decrypt
            # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html), through S3 only.
            statements.append(Statement(
                f"{self.sid}Key", ["kms:Decrypt"], [arns.kms_key_arn],
                [("StringEquals", "kms:ViaService", [f"s3.{arns.region}.{arns.dns_suffix}"])],
            ))
        return statements


@dataclass(frozen=True)
class SageMakerCreateModelPackage(_SageMakerRetries, AwsSdkTask):
    """Registers a version in a model package group. IAM: ``sagemaker:CreateModelPackage`` on the
    group's versions, ``model-package/<group>/*``, as SageMaker's cross-account example grants it
    (https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-version.html), with the request's
    ``sagemaker:ModelApprovalStatus`` held to the configured one (a condition key of CreateModelPackage:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html).
    No role is passed and no tags are set, so neither iam:PassRole nor sagemaker:AddTags is needed."""

    service: ClassVar[str] = "sagemaker"
    api: ClassVar[str] = "createModelPackage"
    # Retries as every SageMaker task's (_SageMakerRetries): CreateModelPackage's ResourceLimitExceeded
    # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html#API_CreateModelPackage_Errors)
    # is refused with nothing created, so the resource limit's retrier is safe; an AWS SDK integration
    # names it SageMaker.ResourceLimitExceededException (service and error in Pascal case, Exception suffix).

    def policy_statements(self, arns: Arns) -> list[Statement]:
        group = self.parameters["ModelPackageGroupName"]
        return [Statement(
            "RegisterModels", ["sagemaker:CreateModelPackage"], [arns.service_arn("sagemaker", f"model-package/{group}/*")],
            [("StringEquals", "sagemaker:ModelApprovalStatus", [self.parameters["ModelApprovalStatus"]])],
        )]

