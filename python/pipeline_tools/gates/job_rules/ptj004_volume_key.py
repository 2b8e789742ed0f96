"""PTJ004: a job whose storage volume is not encrypted with the stack's key, when the stack has one.

``ResourceConfig.VolumeKmsKeyId`` (training), ``ProcessingResources.ClusterConfig.VolumeKmsKeyId``
(processing), ``TransformResources.VolumeKmsKeyId`` (transform): "The AWS KMS key that SageMaker uses
to encrypt data on the storage volume attached to the ML compute instance(s)". Not on instance types
with local storage: "Local storage volumes are encrypted using a hardware module on the instance. You
can't request a VolumeKmsKeyId when using an instance type with local storage"
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ResourceConfig.html; the families:
``sfn_ml_pipeline.job_security.LOCAL_STORAGE``). The stack's key is the one its data bucket is
encrypted with.
"""

from __future__ import annotations

from sfn_ml_pipeline.job_security import has_local_storage

from . import PROCESSING, TRAINING, TRANSFORM, Context, JobRule, literal, show

RULE = JobRule(
    id="PTJ004",
    name="volume-key",
    severity="medium",
    applies_to="createTrainingJob, createProcessingJob and createTransformJob tasks of a stack with a customer-managed key",
    description="Job storage volumes must be encrypted with the stack's key (except on instance types with local storage).",
    follows="SageMaker API reference, ResourceConfig / ProcessingClusterConfig / TransformResources VolumeKmsKeyId",
    url="https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ResourceConfig.html",
)

_RESOURCES = {TRAINING: ("ResourceConfig",), PROCESSING: ("ProcessingResources", "ClusterConfig"), TRANSFORM: ("TransformResources",)}


def check(context: Context):
    for task in context.tasks:
        key = context.keys.get(task.machine)
        if task.api not in _RESOURCES or key is None:
            continue
        path = _RESOURCES[task.api]
        where = ".".join(path + ("VolumeKmsKeyId",))
        if has_local_storage(literal(task.parameters, *path, "InstanceType")):
            continue  # hardware-encrypted local storage; SageMaker refuses a volume key there
        value = literal(task.parameters, *path, "VolumeKmsKeyId")
        problem = None if value == key else f"{where} is {show(value)}, not the stack's key {key}"
        yield context.result(RULE, task, problem, f"{where} = the stack's key")
