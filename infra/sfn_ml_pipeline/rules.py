"""Input rules, each written once: the config model validates with them, and the exported Terraform
module's variable validations are generated from them (``pipeline_tools.module_export``).

The patterns use the subset of regular expressions that Python's ``re`` and Terraform's RE2
``regex()`` read alike (no look-arounds, ``(?P<name>...)`` for the parts a caller extracts,
``(?:...)`` for other groups). Python matches with ``fullmatch``; the patterns are anchored with
``^...$`` so Terraform's search-style ``regex()`` means the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class InputRule:
    name: str
    pattern: str
    message: str  # completes "<key> ...", e.g. "must be a KMS key ARN"

    @cached_property
    def _compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern)

    def match(self, value: str) -> re.Match[str] | None:
        return self._compiled.fullmatch(value)

    def terraform_condition(self, expression: str) -> str:
        """``can(regex(...))`` over ``expression``, as an HCL template for a variable validation."""
        return f'can(regex("{hcl_string(self.pattern)}", {expression}))'


def hcl_string(text: str) -> str:
    """``text`` as the inside of an HCL quoted string (backslashes, quotes and template openers escaped)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("${", "$${").replace("%{", "%%{")


NAME_PREFIX = InputRule(
    "name_prefix",
    r"^[a-z][a-z0-9-]{0,19}$",
    "must start with a lowercase letter and hold only a-z, 0-9 and '-', at most 20 chars",
)
KMS_KEY_ARN = InputRule(
    "kms_key_arn",
    r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$",
    "must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)",
)
# An ECR image: ACCOUNT.dkr.ecr.REGION.<partition domain>/REPOSITORY[:TAG|@DIGEST]. The domains are the
# partitions' DNS suffixes where SageMaker images are published (data/ecr_accounts.json "_source").
ECR_IMAGE = InputRule(
    "image",
    r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\."
    r"(?:amazonaws\.com(?:\.cn)?|c2s\.ic\.gov|sc2s\.sgov\.gov|csp\.hci\.ic\.gov|cloud\.adc-e\.uk)"
    r"/(?P<repo>[^:@]+)(?::[^:@/]+|@sha256:[a-f0-9]{64})?$",
    "must be an ECR image URI (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG)",
)
ML_INSTANCE = InputRule("instance_type", r"^ml\.[a-z0-9]+\.[a-z0-9]+$", "is not a SageMaker instance type (e.g. ml.m5.xlarge)")

# VPC settings (the Lambda's vpc_config and SageMaker's VpcConfig). SageMaker's pattern is
# [-0-9a-zA-Z]+ (at most 32 characters, https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_VpcConfig.html);
# EC2's IDs are subnet-/sg- and 8 or 17 hex digits (https://docs.aws.amazon.com/vpc/latest/userguide/how-it-works.html).
SUBNET_ID = InputRule("subnet_ids", r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$", "must be subnet IDs (subnet- and 8 or 17 hex digits)")
SECURITY_GROUP_ID = InputRule(
    "security_group_ids", r"^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$", "must be security group IDs (sg- and 8 or 17 hex digits)"
)
# A Lambda code signing configuration: arn:PARTITION:lambda:REGION:ACCOUNT:code-signing-config:csc-<17 chars>
# (the CodeSigningConfigArn shape's pattern in botocore's lambda/2015-03-31 service model, as CreateFunction
# takes it: https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html).
CODE_SIGNING_CONFIG_ARN = InputRule(
    "code_signing_config_arn",
    r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:code-signing-config:csc-[a-z0-9]{17}$",
    "must be a Lambda code signing configuration ARN (arn:aws:lambda:REGION:ACCOUNT:code-signing-config:csc-...)",
)
# An S3 bucket name (3-63 chars: a-z, 0-9, '.', '-'; begins and ends with a letter or digit):
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
BUCKET_NAME = InputRule("bucket_name", r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", "must be a valid S3 bucket name (3-63 chars: a-z, 0-9, '.', '-')")
# Your data: an S3 location the jobs read everything under. A bucket name as S3 names them
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html: 3-63 characters,
# a-z 0-9 . -, starting and ending with a letter or digit), then an optional key prefix of the
# characters a Step Functions tag value may hold (the state machine declares it in a tag:
# "Unicode letters, digits, white space, or these symbols: _ . : / = + - @", at most 256,
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_Tag.html).
S3_URI = InputRule(
    "s3_uri",
    r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>[A-Za-z0-9 _.:/=+@-]{0,180}))?$",
    "must be an S3 location s3://BUCKET/PREFIX/ (bucket: 3-63 chars a-z, 0-9, '.', '-'; prefix: up to 180 of "
    "A-Z a-z 0-9 space _ . : / = + - @)",
)
# A processing output's name is also the training channel that reads it: ChannelName's pattern
# [A-Za-z0-9\.\-_]+, 1-64 characters (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Channel.html),
# without '.' (the name is a folder of runs/<execution>/ and of /opt/ml/processing/output/).
DATA_NAME = InputRule(
    "output",
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
    "must be 1-64 characters of A-Z, a-z, 0-9, '_', '-', starting with a letter or digit (a SageMaker channel name)",
)
# Environment variable names of a processing job (ProcessingJob Environment: key pattern
# [a-zA-Z_][a-zA-Z0-9_]*, at most 256 characters;
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateProcessingJob.html#sagemaker-CreateProcessingJob-request-Environment).
ENV_NAME = InputRule(
    "environment",
    r"^[a-zA-Z_][a-zA-Z0-9_]{0,255}$",
    "must be an environment variable name ([a-zA-Z_][a-zA-Z0-9_]*, at most 256 characters)",
)
