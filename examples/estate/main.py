"""An estate composing the pipeline: two MlPipelines (different prefixes) sharing one KMS key.

CDK Terrain app (`cdktn`; the `cdktf` CLI drives it through cdktf.json). Run from this directory:

    python main.py                                  # synth to ./cdktf.out (real AWS provider)
    ESTATE_TARGET=local python main.py              # provider pointed at `pipeline-tools local up`
                                                    # (reads .pipeline-tools/emulator.json in ESTATE_PROJECT_DIR or .)

The shared key carries the key policy the construct gives its own key (sfn_ml_pipeline.iam.key_policy,
documented in docs/kms-key-policy.md): the account administers it, the account's principals use it only
through S3 and Lambda and only where their IAM policies allow (each pipeline grants its roles
kms:Decrypt/GenerateDataKey via S3), and CloudWatch Logs uses it for the four log groups only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cdktn import App, TerraformOutput, TerraformStack
from cdktn_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktn_provider_aws.data_aws_partition import DataAwsPartition
from cdktn_provider_aws.data_aws_region import DataAwsRegion
from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.provider import AwsProvider
from constructs import Construct

from sfn_ml_pipeline import MlPipeline, PipelineConfig
from sfn_ml_pipeline.iam import key_policy

REGION = "us-east-1"
PIPELINES = {
    # prefix -> what differs between the two teams' pipelines
    "churn": {"training": {"instance_type": "ml.m5.xlarge", "hyperparameters": {"objective": "reg:logistic", "eval_metric": "rmse", "num_round": "5"}}},
    "fraud": {"training": {"instance_type": "ml.m5.2xlarge", "hyperparameters": {"objective": "binary:logistic", "eval_metric": "auc", "num_round": "20"}}},
}


class Estate(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, local=None) -> None:
        super().__init__(scope, id)
        provider = AwsProvider(self, "aws", region=REGION, default_tags=[{"tags": {"Estate": id, "ManagedBy": "cdktn"}}])
        if local is not None:
            from sfn_ml_pipeline.stack import point_at_emulator

            point_at_emulator(provider, local)
        self.add_override("terraform.required_providers.aws.version", ">= 5.100, < 7")

        partition_data = DataAwsPartition(self, "partition")
        partition, dns_suffix = partition_data.partition, partition_data.dns_suffix
        account = DataAwsCallerIdentity(self, "account").account_id
        region = DataAwsRegion(self, "region").name

        configs = [PipelineConfig(name_prefix=prefix, region=REGION, **settings) for prefix, settings in PIPELINES.items()]
        log_groups = [f"arn:{partition}:logs:{region}:{account}:log-group:{name}" for c in configs for name in c.log_group_names]
        key = KmsKey(
            self,
            "shared-key",
            description=f"{id}: pipelines' data and logs",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            policy=json.dumps(key_policy(partition, dns_suffix, region, account, log_groups)),
        )
        KmsAlias(self, "shared-key-alias", name=f"alias/{id}-pipelines", target_key_id=key.key_id)
        for config in configs:
            MlPipeline(self, config.name_prefix, config=config.model_copy(update={"kms_key_arn": key.arn}))

        TerraformOutput(self, "shared_key_arn", value=key.arn, description="The estate's shared KMS key")


def local_endpoint():
    """The emulator started by `pipeline-tools local up` (its state file), when ESTATE_TARGET=local."""
    if os.environ.get("ESTATE_TARGET", "aws") != "local":
        return None
    import json

    from sfn_ml_pipeline.targets import LocalEndpoint

    project = Path(os.environ.get("ESTATE_PROJECT_DIR", "."))
    state = json.loads((project / ".pipeline-tools" / "emulator.json").read_text())
    return LocalEndpoint(url=state["endpoint"], ca_bundle=state.get("ca_bundle"), config_file=state.get("aws_config"))


def main() -> None:
    app = App()  # outdir from cdktf.json / CDKTF_OUTDIR when driven by the cdktf CLI, else ./cdktf.out
    Estate(app, "estate", local=local_endpoint())
    app.synth()


if __name__ == "__main__":
    main()
