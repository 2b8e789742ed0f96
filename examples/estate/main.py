"""An estate composing the pipeline: two MlPipelines (different prefixes) sharing one KMS key.

CDK Terrain app (`cdktn`; the `cdktf` CLI drives it through cdktf.json). Run from this directory:

    python main.py                                  # synth to ./cdktf.out (real AWS provider)
    ESTATE_TARGET=local python main.py              # provider pointed at `pipeline-tools local up`
                                                    # (reads .pipeline-tools/emulator.json in ESTATE_PROJECT_DIR or .)

The key policy lets the account's IAM policies grant use of the key (as the default key policy
does), lets CloudWatch Logs encrypt this estate's log groups, and names the pipelines' Lambda and
SageMaker roles explicitly: each pipeline already grants its roles kms:Decrypt/GenerateDataKey on
the key it is given, so the key is usable from both sides.
"""

from __future__ import annotations

import os
from pathlib import Path

from cdktn import App, TerraformOutput, TerraformStack
from cdktn_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktn_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktn_provider_aws.data_aws_partition import DataAwsPartition
from cdktn_provider_aws.data_aws_region import DataAwsRegion
from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.provider import AwsProvider
from constructs import Construct

from sfn_ml_pipeline import MlPipeline, PipelineConfig

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

        partition = DataAwsPartition(self, "partition").partition
        account = DataAwsCallerIdentity(self, "account").account_id
        region = DataAwsRegion(self, "region").name

        key = KmsKey(self, "shared-key", description=f"{id}: pipelines' data and logs", enable_key_rotation=True, deletion_window_in_days=7)
        KmsAlias(self, "shared-key-alias", name=f"alias/{id}-pipelines", target_key_id=key.key_id)

        pipelines = [
            MlPipeline(self, prefix, config=PipelineConfig(name_prefix=prefix, region=REGION, kms_key_arn=key.arn, **settings))
            for prefix, settings in PIPELINES.items()
        ]

        roles = [role.arn for p in pipelines for role in (p.lambda_role, p.sagemaker_role)]
        policy = DataAwsIamPolicyDocument(
            self,
            "shared-key-policy",
            statement=[
                {
                    "sid": "AccountIamPolicies",
                    "actions": ["kms:*"],
                    "resources": ["*"],
                    "principals": [{"type": "AWS", "identifiers": [f"arn:{partition}:iam::{account}:root"]}],
                },
                {
                    "sid": "CloudWatchLogsOfThisAccount",
                    "actions": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    "resources": ["*"],
                    "principals": [{"type": "Service", "identifiers": [f"logs.{region}.amazonaws.com"]}],
                    "condition": [
                        {
                            "test": "ArnLike",
                            "variable": "kms:EncryptionContext:aws:logs:arn",
                            "values": [f"arn:{partition}:logs:{region}:{account}:log-group:*"],
                        }
                    ],
                },
                {
                    "sid": "PipelineRoles",
                    "actions": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "resources": ["*"],
                    "principals": [{"type": "AWS", "identifiers": roles}],
                },
            ],
        )
        key.policy = policy.json

        TerraformOutput(self, "shared_key_arn", value=key.arn, description="The estate's shared KMS key")


def local_endpoint():
    """The emulator started by `pipeline-tools local up` (its state file), when ESTATE_TARGET=local."""
    if os.environ.get("ESTATE_TARGET", "aws") != "local":
        return None
    import json

    from sfn_ml_pipeline.targets import LocalEndpoint

    project = Path(os.environ.get("ESTATE_PROJECT_DIR", "."))
    state = json.loads((project / ".pipeline-tools" / "emulator.json").read_text())
    return LocalEndpoint(url=state["endpoint"], ca_bundle=state.get("ca_bundle"))


def main() -> None:
    app = App()  # outdir from cdktf.json / CDKTF_OUTDIR when driven by the cdktf CLI, else ./cdktf.out
    Estate(app, "estate", local=local_endpoint())
    app.synth()


if __name__ == "__main__":
    main()
