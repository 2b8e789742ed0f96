"""The pipeline's own customer-managed KMS key (default), rotated yearly."""

from __future__ import annotations

import json

from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from constructs import Construct

from .. import iam
from ..config import PipelineConfig
from .environment import Environment


class PipelineKey:
    """Creates the key when the config asks for the stack's own (``config.stack_key``).

    The key policy is the key's own JSON, not an aws_iam_policy_document: checkov runs its IAM
    identity-policy checks (CKV_AWS_109/111/356) on policy documents and would read the key policy's
    ``"Resource": "*"`` (this key) as "every resource"; its key-policy checks (CKV_AWS_33, CKV2_AWS_64)
    still run on the key. verify-iam reads it either way (PTI014).
    """

    def __init__(self, scope: Construct, config: PipelineConfig, env: Environment) -> None:
        log_groups = [env.arn("logs", f"log-group:{name}") for name in config.stack_log_group_names]
        self.key = KmsKey(
            scope,
            "key",
            description=f"{config.name_prefix}: pipeline data, logs and Lambda environment",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=json.dumps(iam.key_policy(env.partition, env.dns_suffix, env.region, env.account, log_groups, lambda_function=config.generates_dataset)),
        )
        self.alias = KmsAlias(scope, "key-alias", name=f"alias/{config.name_prefix}-pipeline", target_key_id=self.key.key_id)

    @property
    def arn(self) -> str:
        return self.key.arn
