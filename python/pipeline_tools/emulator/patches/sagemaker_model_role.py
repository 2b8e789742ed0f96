"""CreateModel assumes the model's execution role, as SageMaker does, and is refused when it cannot.

What moto 5.2.5 lacks: ``CreateModel`` records the request; nothing checks that SageMaker may assume
``ExecutionRoleArn`` ("The Amazon Resource Name (ARN) of the IAM role that SageMaker can assume to
access model artifacts and docker image for deployment on ML compute instances or for batch transform
jobs", https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModel.html).

With IAM enforcement on, the create first obtains the role's credentials as
``sagemaker.amazonaws.com``, its trust policy evaluated with ``aws:SourceAccount`` and
``aws:SourceArn``, and is refused with SageMaker's ``ValidationException: Could not assume role ...``
(the words of the jobs' create, patches/sagemaker_jobs.py) when the trust does not allow it.

Which ``aws:SourceArn`` SageMaker sends for inference (models, endpoints, the transform jobs that run a
model) is not documented. Its confused-deputy page gives, in its section "SageMaker AI Inference",
``arn:aws:sagemaker:REGION:ACCOUNT:*`` for the role's trust policy and says "Do not replace the
aws:SourceArn in this template with the full ARN of a specific model or endpoint"
(https://docs.aws.amazon.com/sagemaker/latest/dg/security-confused-deputy-prevention.html#security-confused-deputy-inference).
So the emulator sends the one value that page's template, and any broader pattern, admits while a
model's or an endpoint's ARN pattern does not: the account-wide ARN itself
(``arn:aws:sagemaker:REGION:ACCOUNT:*``). A trust narrowed to ``model/*`` is refused here as the page
warns it may be on AWS.
"""

from __future__ import annotations

from typing import Any

SAGEMAKER = "sagemaker.amazonaws.com"


def inference_source_arn(account: Any) -> str:
    """The aws:SourceArn the emulator sends when SageMaker assumes a model's role (see the module's docstring)."""
    return account.arn("sagemaker", "*")


def check_model_role(role_arn: str | None) -> None:
    """Raise SageMaker's ValidationException if SageMaker may not assume ``role_arn`` for a model."""
    from ..authz import enforce

    if not enforce.enabled() or not role_arn:
        return
    from moto.sagemaker.exceptions import ValidationError

    try:
        enforce.credentials_for(
            SAGEMAKER, role_arn, "SageMaker", source_account=enforce.ACCOUNT.account,
            source_arn=inference_source_arn(enforce.ACCOUNT), execution_arn=enforce.current_execution(),
        )
    except enforce.AssumeRoleDenied:
        raise ValidationError(
            f"Could not assume role {role_arn}. Please ensure that the role exists and allows principal '{SAGEMAKER}' to assume the role."
        ) from None


def apply() -> None:
    from moto.sagemaker.responses import SageMakerResponse

    original = SageMakerResponse.create_model

    def create_model(self: SageMakerResponse) -> Any:
        check_model_role(self._get_param("ExecutionRoleArn"))
        return original(self)

    SageMakerResponse.create_model = create_model
