"""A log group of the pipeline: the config's retention, encrypted with the pipeline's key when there is one."""

from __future__ import annotations

from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from ..config import PipelineConfig


def pipeline_log_group(scope: Construct, id: str, name: str, config: PipelineConfig, kms_key_arn: str | None) -> CloudwatchLogGroup:
    return CloudwatchLogGroup(scope, id, name=name, retention_in_days=config.log_retention_days, kms_key_id=kms_key_arn)
