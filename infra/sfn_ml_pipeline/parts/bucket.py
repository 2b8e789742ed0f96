"""The data bucket: versioned, encrypted, private, owner-enforced, TLS-only, with lifecycle rules;
and the scripts uploaded to it."""

from __future__ import annotations

from cdktn import AssetType, TerraformAsset
from cdktn_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktn_provider_aws.s3_bucket import S3Bucket
from cdktn_provider_aws.s3_bucket_logging import S3BucketLoggingA
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
from constructs import Construct

from ..config import PipelineConfig
from ..packaging import Artifact
from .environment import Environment

NONCURRENT_VERSION_DAYS = 30
INCOMPLETE_UPLOAD_DAYS = 1


class DataBucket:
    def __init__(self, scope: Construct, config: PipelineConfig, env: Environment, kms_key_arn: str | None) -> None:
        self._scope = scope
        self.bucket = S3Bucket(
            scope,
            "bucket",
            bucket=config.bucket_name or f"{config.name_prefix}-data-{env.account}-{env.region}",
            force_destroy=False,
        )
        bucket_id = self.bucket.id
        self.versioning = S3BucketVersioningA(scope, "bucket-versioning", bucket=bucket_id, versioning_configuration={"status": "Enabled"})
        # Nested blocks inside lists must be binding structs: plain dicts there are dropped silently by jsii.
        encryption = S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
            sse_algorithm="aws:kms" if kms_key_arn else "AES256",
            kms_master_key_id=kms_key_arn,
        )
        self.default_encryption = S3BucketServerSideEncryptionConfigurationA(
            scope,
            "bucket-encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=encryption, bucket_key_enabled=bool(kms_key_arn)
                )
            ],
        )
        public_access = S3BucketPublicAccessBlock(
            scope,
            "bucket-public-access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(scope, "bucket-ownership", bucket=bucket_id, rule={"object_ownership": "BucketOwnerEnforced"})
        S3BucketLifecycleConfiguration(
            scope,
            "bucket-lifecycle",
            bucket=bucket_id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=NONCURRENT_VERSION_DAYS)
                    ],
                ),
                S3BucketLifecycleConfigurationRule(
                    id="abort-incomplete-multipart-uploads",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=INCOMPLETE_UPLOAD_DAYS)
                    ],
                ),
            ],
        )
        tls_only = DataAwsIamPolicyDocument(
            scope,
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
        S3BucketPolicy(scope, "bucket-policy", bucket=bucket_id, policy=tls_only.json, depends_on=[public_access])
        if config.access_log_bucket:
            # S3 server access logging into your log bucket, under <data bucket>/ (checkov CKV_AWS_18). The log
            # bucket must let logging.s3.amazonaws.com write there (its policy is yours):
            # https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
            S3BucketLoggingA(
                scope, "bucket-access-logging", bucket=bucket_id, target_bucket=config.access_log_bucket,
                target_prefix=f"{self.bucket.bucket}/",
            )

    @property
    def arn(self) -> str:
        return self.bucket.arn

    @property
    def name(self) -> str:
        return self.bucket.bucket

    def upload_script(self, id: str, artifact: Artifact) -> tuple[str, S3Object]:
        """The script under ``code/<sha256 prefix>/<name>``: a changed script is a visible change."""
        asset = TerraformAsset(self._scope, f"{id}-asset", path=str(artifact.path), type=AssetType.FILE)
        key = f"code/{artifact.sha256_hex[:16]}/{artifact.path.name}"
        script = S3Object(
            self._scope,
            f"{id}-script",
            bucket=self.bucket.id,
            key=key,
            source=asset.path,
            source_hash=artifact.sha256_hex,
            content_type="text/x-python",
            # Uploaded once versioning and default encryption are in place (else, created in parallel
            # with them, it can land unversioned and, with a KMS key, not KMS-encrypted), and deleted
            # before they go, so destroy finds only its own versions to remove.
            depends_on=[self.versioning, self.default_encryption],
        )
        return key, script

    def upload_code(self, kind: str, package) -> str:
        """A code folder (``packaging.SourcePackage``): ``sourcedir.tar.gz`` (and the processing job's
        ``runproc.sh``) under ``code/<hash>/``, content-addressed like transform.py. Returns the prefix."""
        files = [(package.archive, "application/gzip")] + ([(package.launcher, "text/x-shellscript")] if package.launcher else [])
        for artifact, content_type in files:
            name = artifact.path.name.replace(".", "-")
            asset = TerraformAsset(self._scope, f"{kind}-{name}-asset", path=str(artifact.path), type=AssetType.FILE)
            S3Object(
                self._scope,
                f"{kind}-{name}",
                bucket=self.bucket.id,
                key=f"{package.prefix}{artifact.path.name}",
                source=asset.path,
                source_hash=artifact.sha256_hex,
                content_type=content_type,
                depends_on=[self.versioning, self.default_encryption],
            )
        return package.prefix
