"""Task types: each owns the state it renders (ASL) and what it needs (IAM), as AWS CDK's Step
Functions task constructs do (``SageMakerCreateTrainingJob``: ``_renderTask`` + ``makePolicyStatements``).

A pipeline builds its states from these (``definition.py``) and the state machine role's policy is
the union of the same tasks' statements (``iam.state_machine_statements``), so a task can no longer
be added without its grants, its ``iam:PassRole`` or its ``.sync`` EventBridge rule. The documented
minimum (``pipeline_tools/data/iam_minimum.toml``) stays an independent, cited file: it is what the
generated grants are checked against.
"""

from __future__ import annotations

from ..statements import merge_statements
from .aws_sdk import AwsSdkTask, S3GetObject, SageMakerCreateModelPackage
from .base import DefinitionRefs, Task
from .lambda_invoke import LambdaInvoke
from .sagemaker import (
    SageMakerCreateModel,
    SageMakerCreateProcessingJob,
    SageMakerCreateTrainingJob,
    SageMakerCreateTransformJob,
    SageMakerSyncJob,
)

__all__ = [
    "AwsSdkTask",
    "DefinitionRefs",
    "LambdaInvoke",
    "S3GetObject",
    "SageMakerCreateModel",
    "SageMakerCreateModelPackage",
    "SageMakerCreateProcessingJob",
    "SageMakerCreateTrainingJob",
    "SageMakerCreateTransformJob",
    "SageMakerSyncJob",
    "Task",
    "merge_statements",
]
