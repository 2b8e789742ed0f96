"""The boxes of the architecture diagram, one module each, composed by ``MlPipeline``:

``Environment`` (partition, region, account) -> ``PipelineKey`` -> ``DataBucket`` -> ``PipelineRoles``
-> ``DatasetFunction`` (Generate dataset) -> ``PipelineStateMachine``; with ``[quality_gate]`` the
``ModelRegistry`` (the model package group the state machine registers passing models in).

They are plain classes that create their resources in the pipeline's scope, not nested constructs:
Terraform addresses derive from construct paths, so nesting would move every resource of existing
deployments to a new address (a destroy and re-create of a bucket holding data). Built this way the
synthesized stack is byte-identical to the one the single constructor made.
"""

from __future__ import annotations

from .bucket import DataBucket
from .dataset_function import DatasetFunction
from .environment import Environment
from .key import PipelineKey
from .model_registry import ModelRegistry
from .roles import PipelineRoles
from .state_machine import PipelineStateMachine

__all__ = ["DataBucket", "DatasetFunction", "Environment", "ModelRegistry", "PipelineKey", "PipelineRoles", "PipelineStateMachine"]
