"""Where the pipeline is deployed: the provider's partition, region and account (data sources)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktn_provider_aws.data_aws_partition import DataAwsPartition
from cdktn_provider_aws.data_aws_region import DataAwsRegion
from constructs import Construct


@dataclass(frozen=True)
class Environment:
    partition: str
    dns_suffix: str  # amazonaws.com, amazonaws.com.cn, ...
    region: str
    account: str

    @classmethod
    def of(cls, scope: Construct) -> "Environment":
        partition = DataAwsPartition(scope, "partition")
        account = DataAwsCallerIdentity(scope, "account").account_id
        region = DataAwsRegion(scope, "region").name
        return cls(partition.partition, partition.dns_suffix, region, account)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"
