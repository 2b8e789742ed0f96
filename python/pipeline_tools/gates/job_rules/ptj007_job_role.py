"""PTJ007: a job or model that runs as a role the stack does not declare.

A training or processing job runs as its ``RoleArn``, a model (and the transform jobs that run it) as
its ``ExecutionRoleArn`` (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html). Only a
role of the stack, trusted by ``sagemaker.amazonaws.com``, is one whose grants ``verify-iam`` holds to the
documented minimum and whose trust carries the confused-deputy conditions
(https://docs.aws.amazon.com/sagemaker/latest/dg/security-confused-deputy-prevention.html); a role
named by a literal ARN or set at run time is outside both.
"""

from __future__ import annotations

import re

from . import MODEL, PROCESSING, TRAINING, Context, JobRule, literal, show

RULE = JobRule(
    id="PTJ007",
    name="job-role",
    severity="high",
    applies_to="createTrainingJob, createProcessingJob (RoleArn) and createModel (ExecutionRoleArn) tasks",
    description="Jobs and models run as a SageMaker role the stack declares (the one verify-iam checks).",
    follows="SageMaker 'How to use SageMaker AI execution roles' and confused-deputy prevention",
    url="https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html",
)

_FIELD = {TRAINING: "RoleArn", PROCESSING: "RoleArn", MODEL: "ExecutionRoleArn"}
_ROLE = re.compile(r"^\$\{(aws_iam_role\.[^.}]+)\.arn\}$")


def check(context: Context):
    for task in context.tasks:
        field = _FIELD.get(task.api)
        if field is None:
            continue
        value = literal(task.parameters, field)
        match = _ROLE.match(value) if isinstance(value, str) else None
        if match and match.group(1) in context.sagemaker_roles:
            problem = None
        elif match:
            problem = f"{field} is {match.group(1)}, a role of the stack that sagemaker.amazonaws.com may not assume"
        else:
            problem = f"{field} is {show(value)}, not a SageMaker role the stack declares"
        yield context.result(RULE, task, problem, f"{field} = {value}")
