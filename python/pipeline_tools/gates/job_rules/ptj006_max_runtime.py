"""PTJ006: a training or processing job without a runtime limit of its own.

``StoppingCondition.MaxRuntimeInSeconds``: "The maximum length of time, in seconds, that a training or
compilation job can run before it is stopped ... When SageMaker ends a job because it exceeded
MaxRuntimeInSeconds ..." (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html;
processing: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingStoppingCondition.html).
Without one a training job may run a day by default and a hung job keeps its instances; the pipeline
sets the limit from its config. A limit set at run time (``.$``) is the execution input's, not the stack's.
"""

from __future__ import annotations

from . import PROCESSING, TRAINING, Context, JobRule, literal, show

RULE = JobRule(
    id="PTJ006",
    name="max-runtime",
    severity="low",
    applies_to="createTrainingJob and createProcessingJob tasks",
    description="Every job stops at a runtime limit the stack sets (StoppingCondition.MaxRuntimeInSeconds).",
    follows="SageMaker API reference, StoppingCondition / ProcessingStoppingCondition",
    url="https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html",
)


def check(context: Context):
    for task in context.tasks:
        if task.api not in (TRAINING, PROCESSING):
            continue
        value = literal(task.parameters, "StoppingCondition", "MaxRuntimeInSeconds")
        good = isinstance(value, int) and not isinstance(value, bool) and value > 0
        problem = None if good else f"StoppingCondition.MaxRuntimeInSeconds is {show(value)}: set a limit in seconds"
        yield context.result(RULE, task, problem, f"StoppingCondition.MaxRuntimeInSeconds = {value}")
