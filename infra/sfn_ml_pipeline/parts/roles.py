"""The pipeline's roles (state machine, SageMaker jobs, Lambda and, with the batch transform stage, the
model's), each trusted by its one service with the confused-deputy conditions that service sends, and
their least-privilege policies."""

from __future__ import annotations

from cdktn_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from .. import iam
from ..config import PipelineConfig
from .environment import Environment


def sagemaker_source_kinds(config: PipelineConfig) -> list[str]:
    """The SageMaker resources that assume the jobs' role, as SageMaker's confused-deputy page names
    them (https://docs.aws.amazon.com/sagemaker/latest/dg/security-confused-deputy-prevention.html):
    the pipeline's processing and training jobs. A transform job takes no role of its own: it runs its
    model as the model's execution role (``model_source_arns``)."""
    return ["processing-job", "training-job"]


def model_source_arns(env: Environment) -> list[str]:
    """The aws:SourceArn of the model role's trust: SageMaker's confused-deputy page, section "SageMaker
    AI Inference", gives arn:aws:sagemaker:REGION:ACCOUNT:* and says "Do not replace the aws:SourceArn
    in this template with the full ARN of a specific model or endpoint"
    (https://docs.aws.amazon.com/sagemaker/latest/dg/security-confused-deputy-prevention.html#security-confused-deputy-inference)."""
    return [env.arn("sagemaker", "*")]


class PipelineRoles:
    """Creates each role unless an existing one is passed in (its policies attach to that role then)."""

    def __init__(
        self,
        scope: Construct,
        config: PipelineConfig,
        env: Environment,
        *,
        lambda_role: IamRole | None = None,
        sagemaker_role: IamRole | None = None,
        state_machine_role: IamRole | None = None,
        model_role: IamRole | None = None,
    ) -> None:
        self._scope = scope
        prefix = config.name_prefix
        state_machine_arn = env.arn("states", f"stateMachine:{config.state_machine_name}")
        # Lambda: no source condition (Lambda is not documented to send aws:SourceAccount/SourceArn
        # when it assumes an execution role; see iam_minimum.toml, roles.lambda).
        self.lambda_role = None
        if config.generates_dataset:  # with your data in S3 there is no Lambda, so no role for it
            self.lambda_role = lambda_role or self._role("lambda-role", f"{prefix}-generate-dataset", "lambda.amazonaws.com", None)
        self.sagemaker_role = sagemaker_role or self._role(
            "sagemaker-role", f"{prefix}-sagemaker-jobs", "sagemaker.amazonaws.com", env.account,
            [env.arn("sagemaker", f"{kind}/*") for kind in sagemaker_source_kinds(config)],
        )
        # With the batch transform stage, the model's own role: CreateModel passes it, SageMaker assumes
        # it for the model and its transform jobs.
        self.model_role = None
        if config.transform_stage:  # the sample's stage, or the quality gate's prediction of your test output
            self.model_role = model_role or self._role(
                "sagemaker-model-role", f"{prefix}-sagemaker-model", "sagemaker.amazonaws.com", env.account, model_source_arns(env)
            )
        self.state_machine_role = state_machine_role or self._role(
            "state-machine-role", f"{prefix}-state-machine", "states.amazonaws.com", env.account, [state_machine_arn]
        )

    def _role(self, id: str, name: str, service: str, account: str | None, source_arns: list[str] | None = None) -> IamRole:
        trust = DataAwsIamPolicyDocument(self._scope, f"{id}-trust", statement=[iam.trust_statement(service, account, source_arns)])
        return IamRole(self._scope, id, name=name, assume_role_policy=trust.json, max_session_duration=3600)

    def attach(self, id: str, role: IamRole, name: str, statements: list[iam.Statement]) -> IamRolePolicy:
        """An inline policy on ``role`` from statements (a policy document data source checkov can read)."""
        document = DataAwsIamPolicyDocument(self._scope, f"{id}-document", statement=[s.to_binding() for s in statements])
        return IamRolePolicy(self._scope, id, name=name, role=role.id, policy=document.json)
