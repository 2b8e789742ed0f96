"""A Lambda function called directly by its ARN (the request-response integration).

IAM: https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html. Retries: the transient
Lambda service errors AWS's best practice says to retry, "a 500 error, such as
ClientExecutionTimeoutException, ServiceException, AWSLambdaException, or SdkClientException", each
reported as ``Lambda.<name>``, and ``Lambda.TooManyRequestsException``, the error "when Lambda hits
the maximum number of invocations" (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
AWS CDK's LambdaInvoke retries the same four service errors by default since aws/aws-cdk#26474.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..statements import Arns, Statement
from .base import DefinitionRefs, Task

LAMBDA_TRANSIENT_ERRORS = [
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


@dataclass(frozen=True)
class LambdaInvoke(Task):
    """Calls the function ``function_arn`` (unqualified: no version or alias grant is needed)."""

    function_arn: str = ""
    sid: str = "InvokeFunction"

    @property
    def transient_errors(self) -> list[str]:
        return LAMBDA_TRANSIENT_ERRORS

    def resource(self, refs: DefinitionRefs) -> str:
        return self.function_arn

    def policy_statements(self, arns: Arns) -> list[Statement]:
        return [Statement(self.sid, ["lambda:InvokeFunction"], [self.function_arn])]
