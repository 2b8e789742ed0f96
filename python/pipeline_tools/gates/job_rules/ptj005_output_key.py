"""PTJ005: a job whose outputs are not encrypted with the stack's key, when the stack has one.

``OutputDataConfig.KmsKeyId`` (training), ``ProcessingOutputConfig.KmsKeyId`` (processing),
``TransformOutput.KmsKeyId`` (transform): without one, "SageMaker uses the default KMS key for Amazon S3
for your role's account" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputDataConfig.html),
not the key the stack encrypts its data with. The stack's key is the one its data bucket is encrypted with.
"""

from __future__ import annotations

from . import PROCESSING, TRAINING, TRANSFORM, Context, JobRule, literal, show

RULE = JobRule(
    id="PTJ005",
    name="output-key",
    severity="medium",
    applies_to="createTrainingJob, createProcessingJob and createTransformJob tasks of a stack with a customer-managed key",
    description="Job outputs must be encrypted with the stack's key (else SageMaker uses the account's default S3 key).",
    follows="SageMaker API reference, OutputDataConfig / ProcessingOutputConfig / TransformOutput KmsKeyId",
    url="https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputDataConfig.html",
)

_OUTPUT = {TRAINING: "OutputDataConfig", PROCESSING: "ProcessingOutputConfig", TRANSFORM: "TransformOutput"}


def check(context: Context):
    for task in context.tasks:
        key = context.keys.get(task.machine)
        if task.api not in _OUTPUT or key is None or _OUTPUT[task.api] not in task.parameters:
            continue
        value = literal(task.parameters, _OUTPUT[task.api], "KmsKeyId")
        where = f"{_OUTPUT[task.api]}.KmsKeyId"
        problem = None if value == key else f"{where} is {show(value)}, not the stack's key {key}"
        yield context.result(RULE, task, problem, f"{where} = the stack's key")
