"""`MlPipeline`: the whole pipeline as one reusable CDK Terrain construct.

Declares the data bucket, the "Generate dataset" Lambda, transform.py in S3, three least-privilege
roles, log groups and the state machine. Every resource name derives from ``config.name_prefix``,
so two pipelines with different prefixes coexist in one stack.

Provider classes are imported by submodule: importing ``cdktn_provider_aws`` as a whole would
load thousands of bindings and slow synth down several-fold.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from cdktn import AssetType, TerraformAsset, TerraformOutput
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktn_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktn_provider_aws.data_aws_partition import DataAwsPartition
from cdktn_provider_aws.data_aws_region import DataAwsRegion
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.lambda_function import LambdaFunction
from cdktn_provider_aws.s3_bucket import S3Bucket
from cdktn_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktn_provider_aws.s3_bucket_ownership_controls import S3BucketOwnershipControls
from cdktn_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktn_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktn_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktn_provider_aws.s3_bucket_versioning import S3BucketVersioningA
from cdktn_provider_aws.s3_object import S3Object
from cdktn_provider_aws.sfn_state_machine import SfnStateMachine
from constructs import Construct

from . import iam
from .config import PipelineConfig
from .definition import DefinitionRefs, build_definition, pipeline_tasks
from .packaging import SCRIPTS_DIR, package_scripts
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


def _address(resource) -> str:
    """A resource's Terraform address (``type.name``), as ``depends_on`` takes it."""
    return f"{resource.terraform_resource_type}.{resource.friendly_unique_id}"


def output_name(prefix: str, name: str) -> str:
    """Stack output names carry the prefix, so two pipelines in one stack never clash."""
    return f"{prefix}_{name}".replace("-", "_")


class MlPipeline(Construct):
    """The Step Functions ML pipeline: Generate dataset -> Standardization -> Train model (XGBoost).

    Public attributes: ``bucket``, ``generate_function``, ``state_machine``, ``state_machine_role``,
    ``sagemaker_role``, ``lambda_role``, ``state_machine_log_group``, ``lambda_log_group``,
    ``definition`` (the ASL document as synthesized, with Terraform references).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: PipelineConfig,
        scripts_dir: Path = SCRIPTS_DIR,
        build_dir: Path | None = None,
    ) -> None:
        super().__init__(scope, id)
        # Images follow the provider's region (not config.region, a deployment setting): the construct
        # and the exported module cannot disagree when the two differ.
        config = config.in_region(_provider_region(self) or config.region)
        self.config = config
        prefix = config.name_prefix
        build_dir = build_dir or Path(tempfile.mkdtemp(prefix="sfn-ml-pipeline-build-"))
        artifacts = package_scripts(build_dir, scripts_dir)

        partition_data = DataAwsPartition(self, "partition")
        partition, dns_suffix = partition_data.partition, partition_data.dns_suffix
        account = DataAwsCallerIdentity(self, "account").account_id
        region = DataAwsRegion(self, "region").name
        function_name = config.function_name
        lambda_log_group_name, state_machine_log_group_name = config.log_group_names

        # -- encryption key: the given one, the stack's own (default), or none (AWS-managed) --------
        self.kms_key: KmsKey | None = None
        if config.stack_key:
            self.kms_key = self._stack_key(
                partition, dns_suffix, region, account,
                [f"arn:{partition}:logs:{region}:{account}:log-group:{name}" for name in config.log_group_names],
            )
        kms_key_arn = self.kms_key.arn if self.kms_key is not None else config.kms_key_arn

        # -- data bucket ------------------------------------------------------------------------
        self.bucket = S3Bucket(
            self,
            "bucket",
            bucket=config.bucket_name or f"{prefix}-data-{account}-{region}",
            force_destroy=False,
        )
        versioning = S3BucketVersioningA(self, "bucket-versioning", bucket=self.bucket.id, versioning_configuration={"status": "Enabled"})
        # Nested blocks inside lists must be binding structs: plain dicts there are dropped silently by jsii.
        encryption = S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
            sse_algorithm="aws:kms" if kms_key_arn else "AES256",
            kms_master_key_id=kms_key_arn,
        )
        default_encryption = S3BucketServerSideEncryptionConfigurationA(
            self,
            "bucket-encryption",
            bucket=self.bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=encryption, bucket_key_enabled=bool(kms_key_arn)
                )
            ],
        )
        public_access = S3BucketPublicAccessBlock(
            self,
            "bucket-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(self, "bucket-ownership", bucket=self.bucket.id, rule={"object_ownership": "BucketOwnerEnforced"})
        S3BucketLifecycleConfiguration(
            self,
            "bucket-lifecycle",
            bucket=self.bucket.id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=30)
                    ],
                ),
                S3BucketLifecycleConfigurationRule(
                    id="abort-incomplete-multipart-uploads",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=1)
                    ],
                ),
            ],
        )
        tls_only = DataAwsIamPolicyDocument(
            self,
            "bucket-tls-only",
            statement=[
                {
                    "sid": "DenyInsecureTransport",
                    "effect": "Deny",
                    "actions": ["s3:*"],
                    "resources": [self.bucket.arn, f"{self.bucket.arn}/*"],
                    "principals": [{"type": "*", "identifiers": ["*"]}],
                    "condition": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
                }
            ],
        )
        S3BucketPolicy(self, "bucket-policy", bucket=self.bucket.id, policy=tls_only.json, depends_on=[public_access])

        # -- scripts ------------------------------------------------------------------------------
        transform = artifacts["transform.py"]
        transform_asset = TerraformAsset(self, "transform-asset", path=str(transform.path), type=AssetType.FILE)
        self.transform_key = f"code/{transform.sha256_hex[:16]}/transform.py"
        self.transform_object = S3Object(
            self,
            "transform-script",
            bucket=self.bucket.id,
            key=self.transform_key,
            source=transform_asset.path,
            source_hash=transform.sha256_hex,
            content_type="text/x-python",
            # Uploaded once versioning and default encryption are in place (else, created in parallel
            # with them, it can land unversioned and, with a KMS key, not KMS-encrypted), and deleted
            # before they go, so destroy finds only its own versions to remove.
            depends_on=[versioning, default_encryption],
        )

        # -- log groups ---------------------------------------------------------------------------
        self.lambda_log_group = CloudwatchLogGroup(
            self,
            "lambda-logs",
            name=lambda_log_group_name,
            retention_in_days=config.log_retention_days,
            kms_key_id=kms_key_arn,
        )
        self.state_machine_log_group = CloudwatchLogGroup(
            self,
            "state-machine-logs",
            name=state_machine_log_group_name,
            retention_in_days=config.log_retention_days,
            kms_key_id=kms_key_arn,
        )

        # -- roles ----------------------------------------------------------------------------------
        state_machine_arn = f"arn:{partition}:states:{region}:{account}:stateMachine:{config.state_machine_name}"
        # Lambda: no source condition (Lambda is not documented to send aws:SourceAccount/SourceArn
        # when it assumes an execution role; see iam_minimum.toml, roles.lambda).
        self.lambda_role = self._role("lambda-role", f"{prefix}-generate-dataset", "lambda.amazonaws.com", None)
        self.sagemaker_role = self._role(
            "sagemaker-role", f"{prefix}-sagemaker-jobs", "sagemaker.amazonaws.com", account,
            [f"arn:{partition}:sagemaker:{region}:{account}:{kind}/*" for kind in ("processing-job", "training-job")],
        )
        self.state_machine_role = self._role(
            "state-machine-role", f"{prefix}-state-machine", "states.amazonaws.com", account, [state_machine_arn]
        )

        # -- Generate dataset (Lambda) ----------------------------------------------------------------
        lambda_zip = artifacts["generate_dataset.zip"]
        lambda_asset = TerraformAsset(self, "lambda-asset", path=str(lambda_zip.path), type=AssetType.FILE)
        dataset = config.dataset
        lambda_config = config.generate_lambda
        self.generate_function = LambdaFunction(
            self,
            "generate-dataset",
            function_name=function_name,
            description="Generate dataset: writes the synthetic label,x,y CSV for one pipeline execution.",
            role=self.lambda_role.arn,
            runtime=lambda_config.runtime,
            handler="generate_dataset.handler",
            filename=lambda_asset.path,
            source_code_hash=lambda_zip.sha256_base64,
            memory_size=lambda_config.memory_mb,
            timeout=lambda_config.timeout_seconds,
            reserved_concurrent_executions=lambda_config.reserved_concurrency,  # None: omitted (unreserved)
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "Text", "log_group": self.lambda_log_group.name},
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
            kms_key_arn=kms_key_arn,
        )

        arns = iam.Arns(
            partition=partition,
            region=region,
            account=account,
            bucket_arn=self.bucket.arn,
            lambda_arn=self.generate_function.arn,
            lambda_log_group_arn=self.lambda_log_group.arn,
            sagemaker_role_arn=self.sagemaker_role.arn,
            ecr_repositories=sorted(
                {ecr_repository_arn(config.processing_image, partition), ecr_repository_arn(config.training_image, partition)}
            ),
            kms_key_arn=kms_key_arn,
            dns_suffix=dns_suffix,
        )
        lambda_policy = self._policy("lambda-policy", self.lambda_role, "write-dataset", iam.lambda_statements(arns))
        # CreateFunction must not race IAM: with Active tracing and its log group, the function needs
        # its role's policy in place when it is created.
        self.generate_function.add_override("depends_on", [_address(self.lambda_log_group), _address(lambda_policy)])
        self._policy("sagemaker-policy", self.sagemaker_role, "run-jobs", iam.sagemaker_statements(arns))

        # -- the state machine: its tasks render the states and say what the role needs ------------------
        refs = DefinitionRefs(
            bucket=self.bucket.bucket,
            lambda_arn=self.generate_function.arn,
            sagemaker_role_arn=self.sagemaker_role.arn,
            transform_key=self.transform_key,
            partition=partition,
        )
        state_machine_policy = self._policy(
            "state-machine-policy", self.state_machine_role, "orchestrate",
            iam.state_machine_statements(arns, pipeline_tasks(config, refs), logging=True, tracing=True),
        )
        self.definition = build_definition(config, refs)
        self.state_machine = SfnStateMachine(
            self,
            "state-machine",
            name=config.state_machine_name,
            role_arn=self.state_machine_role.arn,
            definition=json.dumps(self.definition, ensure_ascii=False, indent=2),
            type="STANDARD",
            logging_configuration={
                "level": "ALL",
                "include_execution_data": True,
                "log_destination": f"{self.state_machine_log_group.arn}:*",
            },
            tracing_configuration={"enabled": True},
            depends_on=[state_machine_policy],
        )

        # -- outputs ------------------------------------------------------------------------------------
        for name, value, description in (
            ("bucket", self.bucket.bucket, "Data bucket (runs/<execution>/...)"),
            ("state_machine_arn", self.state_machine.arn, "The pipeline's state machine"),
            ("generate_function_name", self.generate_function.function_name, "The Generate dataset Lambda"),
            ("state_machine_role_arn", self.state_machine_role.arn, "Role the state machine runs as"),
            ("sagemaker_role_arn", self.sagemaker_role.arn, "Role the SageMaker jobs run as"),
            ("lambda_role_arn", self.lambda_role.arn, "Role the Lambda runs as"),
            ("state_machine_log_group", self.state_machine_log_group.name, "State machine execution logs"),
            ("lambda_log_group", self.lambda_log_group.name, "Lambda logs"),
        ):
            output = TerraformOutput(self, f"output-{name}", value=value, description=description)
            output.override_logical_id(output_name(prefix, name))

    def _stack_key(self, partition: str, dns_suffix: str, region: str, account: str, log_group_arns: list[str]) -> KmsKey:
        """The stack's own customer-managed key, rotated yearly, with the key policy of iam.key_policy.

        The key policy is the key's own JSON, not an aws_iam_policy_document: checkov runs its IAM
        identity-policy checks (CKV_AWS_109/111/356) on policy documents and would read the key
        policy's "Resource": "*" (this key) as "every resource"; its key-policy checks (CKV_AWS_33,
        CKV2_AWS_64) still run on the key. verify-iam reads it either way (PTI014).
        """
        key = KmsKey(
            self,
            "key",
            description=f"{self.config.name_prefix}: pipeline data, logs and Lambda environment",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=json.dumps(iam.key_policy(partition, dns_suffix, region, account, log_group_arns)),
        )
        KmsAlias(self, "key-alias", name=f"alias/{self.config.name_prefix}-pipeline", target_key_id=key.key_id)
        return key

    def _role(self, id: str, name: str, service: str, account: str | None, source_arns: list[str] | None = None) -> IamRole:
        trust = DataAwsIamPolicyDocument(self, f"{id}-trust", statement=[iam.trust_statement(service, account, source_arns)])
        return IamRole(self, id, name=name, assume_role_policy=trust.json, max_session_duration=3600)

    def _policy(self, id: str, role: IamRole, name: str, statements: list[iam.Statement]) -> IamRolePolicy:
        document = DataAwsIamPolicyDocument(self, f"{id}-document", statement=[s.to_binding() for s in statements])
        return IamRolePolicy(self, id, name=name, role=role.id, policy=document.json)
