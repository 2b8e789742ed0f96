"""The stack's SageMaker model package group (``[quality_gate]``): where the state machine registers a
model that passed the gate, one version per passing execution
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-model-group.html)."""

from __future__ import annotations

from cdktn_provider_aws.sagemaker_model_package_group import SagemakerModelPackageGroup
from constructs import Construct

from ..config import PipelineConfig


class ModelRegistry:
    def __init__(self, scope: Construct, config: PipelineConfig) -> None:
        gate = config.quality_gate
        self.group = SagemakerModelPackageGroup(
            scope,
            "model-package-group",
            model_package_group_name=config.model_package_group_name,
            model_package_group_description=(
                f"{config.name_prefix}: models that reached {gate.metric} {'>=' if _higher(gate.metric) else '<='} {gate.threshold!r} "
                "on rows training never saw"
            ),
        )

    @property
    def name(self) -> str:
        """The group's name, as a Terraform reference (the state machine then depends on the group)."""
        return self.group.model_package_group_name


def _higher(metric: str) -> bool:
    from ..quality import METRICS

    return METRICS[metric].higher_is_better
