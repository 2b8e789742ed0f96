"""`MlPipeline`: the whole pipeline as one reusable CDK Terrain construct.

Composes the diagram's parts (``parts/``): the KMS key, the data bucket with the code (transform.py,
or your code folders, content-addressed), the "Generate dataset" Lambda (not with your data in S3),
least-privilege roles, log groups and the state machine. Every resource name derives from
``config.name_prefix``, so two pipelines with different prefixes coexist in one stack.

Provider classes are imported by submodule: importing ``cdktn_provider_aws`` as a whole would
load thousands of bindings and slow synth down several-fold.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cdktn import TerraformOutput
from cdktn_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from . import iam
from .config import PipelineConfig
from .definition import DefinitionRefs, build_definition, pipeline_tasks
from .jsonata import to_jsonata
from .packaging import SCRIPTS_DIR, package_config_sources, package_scripts
from .parts import DataBucket, DatasetFunction, Environment, ModelRegistry, PipelineKey, PipelineRoles, PipelineStateMachine
from .rules import ECR_IMAGE


def ecr_repository_arn(image_uri: str, partition: str) -> str:
    """The ECR repository ARN an image is pulled from (the SageMaker role may pull only these)."""
    match = ECR_IMAGE.match(image_uri)  # the config has validated it (rules.ECR_IMAGE)
    if not match:
        raise ValueError(f"image {image_uri!r} {ECR_IMAGE.message}")
    return f"arn:{partition}:ecr:{match['region']}:{match['account']}:repository/{match['repo']}"


def _provider_region(scope: Construct) -> str | None:
    """The literal region of the stack's default AWS provider, when it has one."""
    from cdktn import TerraformStack, Token
    from cdktn_provider_aws.provider import AwsProvider

    for node in TerraformStack.of(scope).node.find_all():
        if isinstance(node, AwsProvider) and not node.alias:
            region = node.region
            return region if isinstance(region, str) and not Token.is_unresolved(region) else None
    return None


def output_name(prefix: str, name: str) -> str:
    """Stack output names carry the prefix, so two pipelines in one stack never clash."""
    return f"{prefix}_{name}".replace("-", "_")


class MlPipeline(Construct):
    """The Step Functions ML pipeline: Generate dataset -> Standardization -> Train model (XGBoost).

    Reads like the diagram: the parts (``sfn_ml_pipeline.parts``) in the order they depend on each
    other. Pass ``lambda_role`` / ``sagemaker_role`` / ``state_machine_role`` to use roles of your own
    (their policies attach to them); ``grant_start_execution(role)`` lets another role start runs.

    Public attributes: ``bucket``, ``generate_function``, ``state_machine``, ``state_machine_role``,
    ``sagemaker_role``, ``model_role`` (the batch transform stage's; None without it), ``lambda_role``,
    ``state_machine_log_group``, ``lambda_log_group``, ``kms_key`` (None unless the stack creates its
    own), ``definition`` (the ASL document as synthesized, with Terraform references).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: PipelineConfig,
        scripts_dir: Path = SCRIPTS_DIR,
        build_dir: Path | None = None,
        lambda_role: IamRole | None = None,
        sagemaker_role: IamRole | None = None,
        state_machine_role: IamRole | None = None,
        model_role: IamRole | None = None,
    ) -> None:
        super().__init__(scope, id)
        # Images follow the provider's region (not config.region, a deployment setting): the construct
        # and the exported module cannot disagree when the two differ.
        config = config.in_region(_provider_region(self) or config.region)
        self.config = config
        build_dir = build_dir or Path(tempfile.mkdtemp(prefix="sfn-ml-pipeline-build-"))
        artifacts = package_scripts(build_dir, scripts_dir)
        self.sources = package_config_sources(config, build_dir)  # your code folders (source_dir)
        env = Environment.of(self)

        # The key (the stack's own by default), then the data bucket holding the code.
        self.kms_key = PipelineKey(self, config, env).key if config.stack_key else None
        kms_key_arn = self.kms_key.arn if self.kms_key is not None else config.kms_key_arn
        data = DataBucket(self, config, env, kms_key_arn)
        self.bucket = data.bucket
        self.transform_key, self.transform_object = "", None
        if not config.processing.own_code:  # the sample's Standardization runs transform.py
            self.transform_key, self.transform_object = data.upload_script("transform", artifacts["transform.py"])
        self.code_prefixes = {kind: data.upload_code(kind, package) for kind, package in self.sources.items()}
        # Evaluate model's evaluate.py beside the code (after a judgeable batch transform), and with
        # [quality_gate] the model package group passing models go to.
        self.evaluate_key, self.model_registry = None, None
        if config.evaluation_source:
            if "evaluate.py" not in artifacts:
                raise FileNotFoundError(f"script not found: {scripts_dir / 'evaluate.py'} (the Evaluate model job runs it)")
            self.evaluate_key, _ = data.upload_script("evaluate", artifacts["evaluate.py"])
        if config.quality_gate.enabled:
            self.model_registry = ModelRegistry(self, config)

        # Log groups, roles, and the Generate dataset function (the sample's data; not with [input]).
        dataset = DatasetFunction(self, config, kms_key_arn) if config.generates_dataset else None
        machine = PipelineStateMachine(self, config, kms_key_arn)
        self.lambda_log_group = dataset.log_group if dataset else None
        self.state_machine_log_group = machine.log_group
        roles = PipelineRoles(
            self, config, env, lambda_role=lambda_role, sagemaker_role=sagemaker_role, state_machine_role=state_machine_role,
            model_role=model_role,
        )
        self.lambda_role, self.sagemaker_role, self.state_machine_role = roles.lambda_role, roles.sagemaker_role, roles.state_machine_role
        self.model_role = roles.model_role
        self.generate_function = dataset.create(self.lambda_role, artifacts["generate_dataset.zip"]) if dataset else None

        # Least-privilege policies: the Lambda's and the jobs', then the state machine's from its tasks.
        arns = iam.Arns(
            partition=env.partition,
            region=env.region,
            account=env.account,
            bucket_arn=data.arn,
            lambda_arn=self.generate_function.arn if dataset else "",
            lambda_log_group_arn=self.lambda_log_group.arn if dataset else "",
            sagemaker_role_arn=self.sagemaker_role.arn,
            ecr_repositories=sorted(
                {ecr_repository_arn(config.processing_image, env.partition), ecr_repository_arn(config.training_image, env.partition)}
            ),
            kms_key_arn=kms_key_arn,
            dns_suffix=env.dns_suffix,
            subnet_ids=tuple(config.network.subnet_ids) if config.network else (),
            security_group_ids=tuple(config.network.security_group_ids) if config.network else (),
        )
        if dataset:
            dataset.wait_for(roles.attach("lambda-policy", self.lambda_role, "write-dataset", iam.lambda_statements(arns)))
        roles.attach("sagemaker-policy", self.sagemaker_role, "run-jobs", iam.sagemaker_statements(arns, iam.DataLayout.of(config, env.partition)))
        if self.model_role is not None:
            roles.attach(
                "sagemaker-model-policy", self.model_role, "run-model",
                iam.model_statements(arns, [ecr_repository_arn(config.training_image, env.partition)],
                                     iam.DataLayout.of(config, env.partition).transform_input),
            )
        refs = DefinitionRefs(
            bucket=data.name,
            lambda_arn=self.generate_function.arn if dataset else "",
            sagemaker_role_arn=self.sagemaker_role.arn,
            transform_key=self.transform_key,
            partition=env.partition,
            region=env.region,
            processing_code=self.code_prefixes.get("processing"),
            training_code=self.code_prefixes.get("training"),
            kms_key_arn=kms_key_arn,
            model_role_arn=self.model_role.arn if self.model_role is not None else None,
            evaluate_key=self.evaluate_key,
            model_package_group=self.model_registry.name if self.model_registry else None,
        )
        state_machine_policy = roles.attach(
            "state-machine-policy", self.state_machine_role, "orchestrate",
            iam.state_machine_statements(arns, pipeline_tasks(config, refs), logging=True, tracing=True),
        )

        # The state machine: its tasks render the states.
        self.definition = build_definition(config, refs)
        if config.query_language == "JSONata":
            self.definition = to_jsonata(self.definition)  # the same states, translated (jsonata.py)
        self.state_machine = machine.create(self.definition, self.state_machine_role, state_machine_policy)
        self._outputs(config.name_prefix)

    def grant_start_execution(self, role: IamRole, id: str | None = None) -> IamRolePolicy:
        """Let ``role`` start executions of this pipeline (as CDK's ``grantStartExecution``): an inline
        policy with ``states:StartExecution`` on the state machine's ARN only."""
        statement = iam.Statement("StartPipelineExecutions", ["states:StartExecution"], [self.state_machine.arn])
        document = DataAwsIamPolicyDocument(self, f"{id or 'grant-start'}-document", statement=[statement.to_binding()])
        return IamRolePolicy(
            self, id or "grant-start", name=f"{self.config.name_prefix}-start-execution", role=role.id, policy=document.json
        )

    def _outputs(self, prefix: str) -> None:
        outputs = [
            ("bucket", self.bucket.bucket, "Data bucket (runs/<execution>/...)"),
            ("state_machine_arn", self.state_machine.arn, "The pipeline's state machine"),
            ("state_machine_role_arn", self.state_machine_role.arn, "Role the state machine runs as"),
            ("sagemaker_role_arn", self.sagemaker_role.arn, "Role the SageMaker jobs run as"),
            *((("sagemaker_model_role_arn", self.model_role.arn, "Role the model and its batch transform jobs run as"),)
              if self.model_role is not None else ()),
            ("state_machine_log_group", self.state_machine_log_group.name, "State machine execution logs"),
        ]
        if self.generate_function is not None:
            outputs[2:2] = [("generate_function_name", self.generate_function.function_name, "The Generate dataset Lambda")]
            outputs[-1:-1] = [("lambda_role_arn", self.lambda_role.arn, "Role the Lambda runs as")]
            outputs.append(("lambda_log_group", self.lambda_log_group.name, "Lambda logs"))
        if self.model_registry is not None:
            outputs.append(("model_package_group", self.model_registry.name, "The model package group passing models are registered in"))
        for name, value, description in outputs:
            output = TerraformOutput(self, f"output-{name}", value=value, description=description)
            output.override_logical_id(output_name(prefix, name))
