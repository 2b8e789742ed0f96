"""PTJ001: a SageMaker training job, processing job or model without network isolation.

"If you enable network isolation, the containers can't make any outbound network calls, even to
other AWS services such as Amazon S3. Additionally, no AWS credentials are made available to the
container runtime environment" while "SageMaker still performs download and upload operations
against Amazon S3 using your SageMaker execution role"
(https://docs.aws.amazon.com/sagemaker/latest/dg/mkt-algo-model-internet-free.html). For models this
is AWS Security Hub control [SageMaker.5] "SageMaker models should have network isolation enabled";
training jobs (``EnableNetworkIsolation``) and processing jobs (``NetworkConfig.EnableNetworkIsolation``,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_NetworkConfig.html) are held to the
same. A transform job runs its model's containers with the model's setting (no field of its own).
"""

from __future__ import annotations

from . import MODEL, PROCESSING, TRAINING, Context, JobRule, literal, show

RULE = JobRule(
    id="PTJ001",
    name="network-isolation",
    severity="high",
    applies_to="createTrainingJob, createProcessingJob and createModel tasks",
    description="Job and model containers must be network-isolated (no outbound calls, no AWS credentials inside).",
    follows="AWS Security Hub [SageMaker.5] (models); SageMaker 'Run Training and Inference Containers in Internet-Free Mode'",
    url="https://docs.aws.amazon.com/securityhub/latest/userguide/sagemaker-controls.html#sagemaker-5",
)

_FIELD = {TRAINING: ("EnableNetworkIsolation",), MODEL: ("EnableNetworkIsolation",), PROCESSING: ("NetworkConfig", "EnableNetworkIsolation")}


def check(context: Context):
    for task in context.tasks:
        path = _FIELD.get(task.api)
        if path is None:
            continue
        value = literal(task.parameters, *path)
        problem = None if value is True else f"{'.'.join(path)} is {show(value)}: set it to true"
        yield context.result(RULE, task, problem, f"{'.'.join(path)} = true")
