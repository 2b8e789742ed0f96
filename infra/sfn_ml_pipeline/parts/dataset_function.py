"""Generate dataset: the Lambda that writes the synthetic label,x,y CSV, with its own log group."""

from __future__ import annotations

from cdktn import AssetType, TerraformAsset
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.lambda_function import LambdaFunction
from constructs import Construct

from ..config import PipelineConfig
from .log_group import pipeline_log_group
from ..packaging import Artifact


class DatasetFunction:
    def __init__(self, scope: Construct, config: PipelineConfig, kms_key_arn: str | None) -> None:
        self._scope = scope
        self._config = config
        self._kms_key_arn = kms_key_arn
        self.log_group = pipeline_log_group(scope, "lambda-logs", config.log_group_names[0], config, kms_key_arn)
        self.function: LambdaFunction | None = None

    def create(self, role: IamRole, package: Artifact) -> LambdaFunction:
        """The function itself, once its role exists."""
        config, dataset, settings = self._config, self._config.dataset, self._config.generate_lambda
        asset = TerraformAsset(self._scope, "lambda-asset", path=str(package.path), type=AssetType.FILE)
        self.function = LambdaFunction(
            self._scope,
            "generate-dataset",
            function_name=config.function_name,
            description="Generate dataset: writes the synthetic label,x,y CSV for one pipeline execution.",
            role=role.arn,
            runtime=settings.runtime,
            handler="generate_dataset.handler",
            filename=asset.path,
            source_code_hash=package.sha256_base64,
            memory_size=settings.memory_mb,
            timeout=settings.timeout_seconds,
            reserved_concurrent_executions=settings.reserved_concurrency,  # None: omitted (unreserved)
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "Text", "log_group": self.log_group.name},
            environment={
                "variables": {
                    "DATASET_ROWS": str(dataset.rows),
                    "DATASET_SEED": "" if dataset.seed is None else str(dataset.seed),
                    "DATASET_SLOPE": repr(dataset.slope),
                    "DATASET_INTERCEPT": repr(dataset.intercept),
                    "DATASET_MAX_VALUE": str(dataset.max_value),
                }
            },
            # With a customer key, environment variables are encrypted with it too (checkov CKV_AWS_173).
            kms_key_arn=self._kms_key_arn,
            # [network]: the function in your subnets (its role may create interfaces there only, iam.py);
            # [lambda] code_signing_config_arn: only signed packages deploy. Both None: omitted.
            vpc_config=(
                {"subnet_ids": list(config.network.subnet_ids), "security_group_ids": list(config.network.security_group_ids)}
                if config.network else None
            ),
            code_signing_config_arn=settings.code_signing_config_arn,
        )
        return self.function

    def wait_for(self, *resources) -> None:
        """CreateFunction must not race IAM: with Active tracing and its log group, the function needs
        its role's policy in place when it is created."""
        self.function.add_override("depends_on", [_address(self.log_group), *(_address(r) for r in resources)])


def _address(resource) -> str:
    """A resource's Terraform address (``type.name``), as ``depends_on`` takes it."""
    return f"{resource.terraform_resource_type}.{resource.friendly_unique_id}"
