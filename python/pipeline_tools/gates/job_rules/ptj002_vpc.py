"""PTJ002: with ``[network]`` (the stack's Lambda in the user's VPC), a SageMaker job or model outside it.

Each API's own field: training's and the model's ``VpcConfig``, processing's ``NetworkConfig.VpcConfig``
(https://docs.aws.amazon.com/sagemaker/latest/dg/train-vpc.html,
https://docs.aws.amazon.com/sagemaker/latest/dg/process-vpc.html,
https://docs.aws.amazon.com/sagemaker/latest/dg/host-vpc.html); a transform job runs in its model's
(https://docs.aws.amazon.com/sagemaker/latest/dg/batch-vpc.html). The subnets and security groups
must be the stack's, those of the function the state machine invokes.
"""

from __future__ import annotations

from . import MODEL, PROCESSING, TRAINING, Context, JobRule, literal, show

RULE = JobRule(
    id="PTJ002",
    name="vpc",
    severity="high",
    applies_to="createTrainingJob, createProcessingJob and createModel tasks of a stack whose Lambda runs in a VPC",
    description="With [network], every job and model runs in the stack's subnets with its security groups.",
    follows="SageMaker 'Give SageMaker Training Jobs Access to Resources in Your Amazon VPC' (and its processing and hosting pages)",
    url="https://docs.aws.amazon.com/sagemaker/latest/dg/train-vpc.html",
)

_FIELD = {TRAINING: ("VpcConfig",), MODEL: ("VpcConfig",), PROCESSING: ("NetworkConfig", "VpcConfig")}


def check(context: Context):
    for task in context.tasks:
        path = _FIELD.get(task.api)
        network = context.networks.get(task.machine)
        if path is None or network is None:
            continue
        subnets, groups = network
        vpc = literal(task.parameters, *path)
        where = ".".join(path)
        if not isinstance(vpc, dict):
            problem = f"{where} is {show(vpc)}: the stack's Lambda runs in {', '.join(subnets)}; set {where} to the same subnets and security groups"
        elif sorted(vpc.get("Subnets") or []) != sorted(subnets) or sorted(vpc.get("SecurityGroupIds") or []) != sorted(groups):
            problem = (f"{where} has subnets {vpc.get('Subnets')} and security groups {vpc.get('SecurityGroupIds')}, "
                       f"not the stack's {subnets} and {groups}")
        else:
            problem = None
        yield context.result(RULE, task, problem, f"{where} = the stack's subnets and security groups")
