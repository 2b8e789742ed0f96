"""PTJ003: a training or processing job with more than one host whose inter-container traffic is not encrypted.

"When performing distributed training, you can further protect data that is transmitted between
instances ... use inter-container traffic encryption"; it "doesn't affect training jobs with a single
compute instance" (https://docs.aws.amazon.com/sagemaker/latest/dg/train-encrypt.html). Training:
``EnableInterContainerTrafficEncryption``; processing: ``NetworkConfig.EnableInterContainerTrafficEncryption``
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_NetworkConfig.html). A host count set at
run time counts as several.
"""

from __future__ import annotations

from . import PROCESSING, TRAINING, Context, JobRule, literal, show, several_hosts

RULE = JobRule(
    id="PTJ003",
    name="inter-container-encryption",
    severity="medium",
    applies_to="createTrainingJob and createProcessingJob tasks with more than one instance",
    description="Traffic between a job's hosts must be encrypted.",
    follows="SageMaker 'Protect Communications Between ML Compute Instances in a Distributed Training Job'",
    url="https://docs.aws.amazon.com/sagemaker/latest/dg/train-encrypt.html",
)

_COUNT = {TRAINING: ("ResourceConfig", "InstanceCount"), PROCESSING: ("ProcessingResources", "ClusterConfig", "InstanceCount")}
_FIELD = {TRAINING: ("EnableInterContainerTrafficEncryption",), PROCESSING: ("NetworkConfig", "EnableInterContainerTrafficEncryption")}


def check(context: Context):
    for task in context.tasks:
        if task.api not in _COUNT:
            continue
        count = literal(task.parameters, *_COUNT[task.api])
        if not several_hosts(count):
            continue
        value = literal(task.parameters, *_FIELD[task.api])
        where = ".".join(_FIELD[task.api])
        problem = None if value is True else f"{show(count)} instances and {where} is {show(value)}: set it to true"
        yield context.result(RULE, task, problem, f"{where} = true on {show(count)} instances")
