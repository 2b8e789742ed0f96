"""Every SageMaker job and model the pipeline creates, held to the stack's standard.

One place for the request fields that lock a job down, merged into each SageMaker task's
Parameters by ``definition.pipeline_tasks`` (:func:`secure`), whoever wrote the task: the fields
are derived from the task's own Parameters (its instance count and types) and the stack's
settings (its key, its ``[network]``), so a task added later is held to the same standard.

* **Network isolation**, by default: training jobs and models (``EnableNetworkIsolation``) and
  processing jobs (``NetworkConfig.EnableNetworkIsolation``); ``network_isolation = false`` in
  ``[processing]`` or ``[training]`` turns it off for that job (your code's requirements.txt needs a
  package index; rule PTJ001 then reports it). "If you enable network isolation,
  the containers can't make any outbound network calls, even to other AWS services such as Amazon
  S3. Additionally, no AWS credentials are made available to the container runtime environment ...
  SageMaker still performs download and upload operations against Amazon S3 using your SageMaker
  execution role in isolation from the training or inference container"
  (https://docs.aws.amazon.com/sagemaker/latest/dg/mkt-algo-model-internet-free.html). The built-in
  XGBoost container supports it: that page lists the managed containers that do not ("as they require
  access to Amazon S3"), and the built-in XGBoost algorithm is not among them. A transform job has no isolation field of its own: it runs the
  model's containers with the model's setting (CreateTransformJob has none;
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTransformJob.html). Security
  Hub's control [SageMaker.5] "SageMaker models should have network isolation enabled" checks the
  model's (https://docs.aws.amazon.com/securityhub/latest/userguide/sagemaker-controls.html#sagemaker-5).
* **Inter-container traffic encryption** when a job has more than one host ("Enabling
  inter-container traffic encryption doesn't affect training jobs with a single compute instance";
  XGBoost's training time is "typically not affected",
  https://docs.aws.amazon.com/sagemaker/latest/dg/train-encrypt.html): training's
  ``EnableInterContainerTrafficEncryption``, processing's ``NetworkConfig.EnableInterContainerTrafficEncryption``
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_NetworkConfig.html).
* **The stack's key** (its own, or ``kms_key_arn``), where there is one, for every job's outputs
  (``OutputDataConfig.KmsKeyId``, ``ProcessingOutputConfig.KmsKeyId``, ``TransformOutput.KmsKeyId``:
  without one "SageMaker uses the default KMS key for Amazon S3 for your role's account",
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputDataConfig.html) and volumes
  (``ResourceConfig.VolumeKmsKeyId``, ``ProcessingClusterConfig.VolumeKmsKeyId``,
  ``TransformResources.VolumeKmsKeyId``), except on instance types with local instance storage:
  "Certain Nitro-based instances include local storage ... encrypted using a hardware module on the
  instance. You can't request a VolumeKmsKeyId when using an instance type with local storage"
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ResourceConfig.html), see
  :func:`has_local_storage`.
* **Your VPC** with ``[network]``: each API's own field, training's and the model's ``VpcConfig``
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModel.html), processing's
  ``NetworkConfig.VpcConfig`` (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateProcessingJob.html);
  a transform job runs in the model's VPC (https://docs.aws.amazon.com/sagemaker/latest/dg/batch-vpc.html).

``pipeline-tools scan`` checks the result (rules PTJ001-PTJ006, ``pipeline_tools/gates/job_rules``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from .config import PipelineConfig
from .tasks import (
    DefinitionRefs,
    SageMakerCreateModel,
    SageMakerCreateProcessingJob,
    SageMakerCreateTrainingJob,
    SageMakerCreateTransformJob,
    Task,
)

__all__ = ["LOCAL_STORAGE", "has_local_storage", "model_fields", "processing_fields", "secure", "training_fields", "transform_fields"]

# Instance families with local NVMe instance storage, on which SageMaker refuses VolumeKmsKeyId (above):
# a family whose attributes carry "d" ("d - Instance store volumes", EC2's naming conventions,
# https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html: ml.m5d, ml.c5d, ml.r5d,
# ml.g4dn, ml.p3dn, ml.p4d, ml.p4de, ml.m6id ...), and the accelerated families whose instance store
# has no letter in the name: SageMaker names ml.g5 with ml.p4d and ml.g4dn as "ML instance families with
# the NVMe-type instance storage" (https://docs.aws.amazon.com/sagemaker/latest/dg/model-train-storage-tips-considerations.html);
# g6, g6e, p5, p5e, p5en, trn1, trn1n and trn2 list NVMe SSD instance store volumes in EC2's accelerated
# computing specifications (https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html).
# The same pattern is the exported module's (Terraform RE2 and Python read it alike).
LOCAL_STORAGE = r"^ml\.(?:[a-z]+[0-9]+[a-z]*d[a-z]*|g5|g6|g6e|p5|p5e|p5en|trn1|trn1n|trn2)\.[a-z0-9]+$"
_LOCAL_STORAGE = re.compile(LOCAL_STORAGE)


def has_local_storage(instance_type: Any) -> bool:
    """Whether SageMaker refuses a VolumeKmsKeyId for this instance type (see :data:`LOCAL_STORAGE`).
    A value known only at run time (a JSONPath) is taken to have none: the key is then requested."""
    return isinstance(instance_type, str) and bool(_LOCAL_STORAGE.match(instance_type))


def _several(count: Any) -> bool:
    """More than one host (a count known only at run time counts as several: the setting is harmless on one)."""
    return not isinstance(count, int) or count > 1


def _vpc(config: PipelineConfig) -> dict[str, Any]:
    network = config.network
    return {"VpcConfig": {"Subnets": list(network.subnet_ids), "SecurityGroupIds": list(network.security_group_ids)}} if network else {}


def processing_fields(parameters: dict[str, Any], config: PipelineConfig, refs: DefinitionRefs) -> dict[str, Any]:
    """CreateProcessingJob: NetworkConfig (isolation, traffic encryption, VPC), the volume and output keys."""
    cluster = (parameters.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    network: dict[str, Any] = {"EnableNetworkIsolation": config.processing.network_isolation}
    if _several(cluster.get("InstanceCount", 1)):
        network["EnableInterContainerTrafficEncryption"] = True
    network.update(_vpc(config))
    fields: dict[str, Any] = {"NetworkConfig": network}
    if refs.kms_key_arn:
        if not has_local_storage(cluster.get("InstanceType")):
            fields["ProcessingResources"] = {"ClusterConfig": {"VolumeKmsKeyId": refs.kms_key_arn}}
        if "ProcessingOutputConfig" in parameters:
            fields["ProcessingOutputConfig"] = {"KmsKeyId": refs.kms_key_arn}
    return fields


def training_fields(parameters: dict[str, Any], config: PipelineConfig, refs: DefinitionRefs) -> dict[str, Any]:
    """CreateTrainingJob: isolation, traffic encryption, VPC, the volume and output keys."""
    resources = parameters.get("ResourceConfig") or {}
    fields: dict[str, Any] = {"EnableNetworkIsolation": config.training.network_isolation}
    if _several(resources.get("InstanceCount", 1)):
        fields["EnableInterContainerTrafficEncryption"] = True
    fields.update(_vpc(config))
    if refs.kms_key_arn:
        if not has_local_storage(resources.get("InstanceType")):
            fields["ResourceConfig"] = {"VolumeKmsKeyId": refs.kms_key_arn}
        fields["OutputDataConfig"] = {"KmsKeyId": refs.kms_key_arn}
    return fields


def model_fields(parameters: dict[str, Any], config: PipelineConfig, refs: DefinitionRefs) -> dict[str, Any]:
    """CreateModel: isolation and VPC (a transform job runs the model's containers with both)."""
    return {"EnableNetworkIsolation": True, **_vpc(config)}


def transform_fields(parameters: dict[str, Any], config: PipelineConfig, refs: DefinitionRefs) -> dict[str, Any]:
    """CreateTransformJob: the volume and output keys (isolation and VPC are the model's)."""
    if not refs.kms_key_arn:
        return {}
    resources = parameters.get("TransformResources") or {}
    fields: dict[str, Any] = {"TransformOutput": {"KmsKeyId": refs.kms_key_arn}}
    if not has_local_storage(resources.get("InstanceType")):
        fields["TransformResources"] = {"VolumeKmsKeyId": refs.kms_key_arn}
    return fields


_FIELDS = (
    (SageMakerCreateProcessingJob, processing_fields),
    (SageMakerCreateTrainingJob, training_fields),
    (SageMakerCreateTransformJob, transform_fields),
    (SageMakerCreateModel, model_fields),
)


def _merge(base: dict[str, Any], extra: dict[str, Any], path: str = "") -> dict[str, Any]:
    """``base`` with ``extra`` merged in, objects recursively. A value the task already sets
    differently is a mistake in the task (it would silently win or lose): refused."""
    merged = dict(base)
    for key, value in extra.items():
        if key in merged and isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = _merge(merged[key], value, f"{path}{key}.")
        elif key in merged and merged[key] != value:
            raise ValueError(f"job security: the task sets {path}{key} = {merged[key]!r}, the stack's standard is {value!r}")
        else:
            merged[key] = value
    return merged


def secure(task: Task, config: PipelineConfig, refs: DefinitionRefs) -> Task:
    """The task with its job-security fields merged into its Parameters (other tasks unchanged)."""
    for kind, fields in _FIELDS:
        if isinstance(task, kind):
            return replace(task, parameters=_merge(task.parameters, fields(task.parameters, config, refs)))
    return task
