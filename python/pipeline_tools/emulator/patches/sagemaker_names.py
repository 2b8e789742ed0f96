"""SageMaker refuses job and model names outside its pattern, in its own words.

What moto 5.2.5 lacks: ``CreateProcessingJob``, ``CreateTrainingJob``, ``CreateTransformJob`` and
``CreateModel`` accept any name. SageMaker's are "Length Constraints: Minimum length of 1. Maximum
length of 63. Pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html#sagemaker-CreateTrainingJob-request-TrainingJobName;
the same for ProcessingJobName, TransformJobName and ModelName), while Step Functions accepts
execution names of up to 80 characters with ``_`` and ``.`` (StartExecution). A name outside it is
answered with AWS's validation message, every failed constraint listed, as SageMaker answered
"2 validation errors detected: Value '...' at 'trainingJobName' failed to satisfy constraint: Member
must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}; Value '...' at
'trainingJobName' failed to satisfy constraint: Member must have length less than or equal to 63"
(quoted in github.com/zenml-io/zenml/issues/1502), and nothing is created.
"""

from __future__ import annotations

import re
from typing import Any

PATTERN = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
MAX_LENGTH = 63
_NAME = re.compile(PATTERN)
# Create operation -> (request parameter, its name in AWS's validation messages).
NAMED = {
    "create_processing_job": ("ProcessingJobName", "processingJobName"),
    "create_training_job": ("TrainingJobName", "trainingJobName"),
    "create_transform_job": ("TransformJobName", "transformJobName"),
    "create_model": ("ModelName", "modelName"),
}


def violations(name: str, member: str) -> list[str]:
    """AWS's words for each constraint ``name`` breaks (none: the name is valid)."""
    found = []
    if not _NAME.fullmatch(name):
        found.append(f"Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: {PATTERN}")
    if len(name) > MAX_LENGTH:
        found.append(f"Value '{name}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {MAX_LENGTH}")
    return found


def message(found: list[str]) -> str:
    count = len(found)
    return f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(found)


def apply() -> None:
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.responses import SageMakerResponse

    for method, (parameter, member) in NAMED.items():
        original = getattr(SageMakerResponse, method)

        def checked(self: SageMakerResponse, __original: Any = original, __parameter: str = parameter, __member: str = member) -> Any:
            name = self._get_param(__parameter)
            found = violations(str(name), __member) if name is not None else []
            if found:
                raise ValidationError(message(found))
            return __original(self)

        setattr(SageMakerResponse, method, checked)
