"""SageMaker service integrations in moto's Step Functions interpreter, including ``.sync``.

What moto lacks: ``sagemaker`` is on the interpreter's list of unsupported services
(``state_task_service_factory._UNSUPPORTED_SERVICE_NAMES``), which only allows
``.waitForTaskToken``; ``arn:aws:states:::sagemaker:createTrainingJob.sync`` fails the
execution with ``States.Runtime``.

The patch adds a task service for ``sagemaker`` (request-response and ``.sync``), modelled on
moto's Glue one: call CreateProcessingJob/CreateTrainingJob/CreateTransformJob, then (for
``.sync``) poll the matching Describe call until the job is ``Completed`` (the task's result
is the describe output), or ``Failed``/``Stopped`` (the task fails with ``States.TaskFailed``
and the job's ``FailureReason`` as cause, as on AWS). Datetimes in the result become epoch
milliseconds, as Step Functions' JSON has them (moto otherwise fails DescribeExecution with
"datetime is not JSON serializable"). API errors surface as Step Functions names an integration's
errors, ``<Service>.<Exception>``
(https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html): an error the
SageMaker API models (ResourceLimitExceeded, ResourceInUse, ResourceNotFound, ConflictException in
botocore's service model) as ``SageMaker.<Error>Exception`` (the SDK's exception class), anything
else (validation errors, throttling, access denied) as ``SageMaker.AmazonSageMakerException``, the
SDK's base class.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

ERROR_NAME = "SageMaker.AmazonSageMakerException"

# API action (camelCase in the resource ARN) -> (name parameter, describe call, status field).
JOBS = {
    "createProcessingJob": ("ProcessingJobName", "describe_processing_job", "ProcessingJobStatus"),
    "createTrainingJob": ("TrainingJobName", "describe_training_job", "TrainingJobStatus"),
    "createTransformJob": ("TransformJobName", "describe_transform_job", "TransformJobStatus"),
}
OTHER_ACTIONS = {"createModel", "createEndpoint", "createEndpointConfig", "updateEndpoint", "createHyperParameterTuningJob", "createLabelingJob"}
SUCCEEDED = {"Completed"}
FAILED = {"Failed", "Stopped"}


@cache
def _modeled_errors() -> frozenset[str]:
    """The error shapes botocore's SageMaker service model declares."""
    import botocore.session

    return frozenset(shape.name for shape in botocore.session.get_session().get_service_model("sagemaker").error_shapes)


def error_name(code: str) -> str:
    """The Step Functions error name of a SageMaker API error code (see the module docstring)."""
    if code in _modeled_errors():
        return f"SageMaker.{code if code.endswith('Exception') else code + 'Exception'}"
    return ERROR_NAME


def to_sfn_json(value: Any) -> Any:
    """Datetimes -> epoch milliseconds, recursively (what AWS Step Functions returns)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: to_sfn_json(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [to_sfn_json(v) for v in value]
    return value


def _service_class() -> type:
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.utils import boto_client

    class StateTaskServiceSageMaker(StateTaskServiceCallback):
        def __init__(self) -> None:
            # WaitForTaskToken is listed so moto's callback machinery sets up the endpoint that
            # its .sync loop also uses (moto's own Glue .sync trips over the missing endpoint).
            super().__init__(supported_integration_patterns={ResourceCondition.Sync, ResourceCondition.WaitForTaskToken})

        def _validate_service_integration_is_supported(self) -> None:
            action = self.resource.api_action
            if action not in JOBS and action not in OTHER_ACTIONS:
                raise ValueError(f"The resource provided {self.resource.resource_arn} not recognized.")
            if self.resource.condition and action not in JOBS:
                raise ValueError(f"The resource provided {self.resource.resource_arn} has no .sync pattern.")

        def _get_supported_parameters(self) -> set[str] | None:
            return None  # any parameter of the API call is passed through

        def _client(self, region: str, credentials: Any) -> Any:
            # Looked up at call time: the callback_tls patch may have replaced it.
            return boto_client.boto_client_for(region=region, service="sagemaker", state_credentials=credentials)

        def _from_error(self, env: Any, ex: Exception) -> Any:
            if isinstance(ex, ClientError):
                name = error_name(ex.response.get("Error", {}).get("Code", ""))
                return FailureEvent(
                    env=env,
                    error_name=CustomErrorName(name),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(
                        taskFailedEventDetails=TaskFailedEventDetails(
                            error=name,
                            cause=ex.response["Error"].get("Message", str(ex)),
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                        )
                    ),
                )
            return super()._from_error(env=env, ex=ex)

        def _eval_service_task(self, env: Any, resource_runtime_part: Any, normalised_parameters: dict, state_credentials: Any) -> None:
            client = self._client(resource_runtime_part.region, state_credentials)
            if self.resource.condition:
                _managed_rule(self.resource.api_action)
            response = getattr(client, self._get_boto_service_action())(**normalised_parameters)
            env.stack.append(to_sfn_json(response))

        def _eval_sync(self, env: Any, sync_resolver: Any, timeout_seconds: Any, callback_endpoint: Any, heartbeat_endpoint: Any) -> Any:
            outcome = super()._eval_sync(env, sync_resolver, timeout_seconds, callback_endpoint, heartbeat_endpoint)
            if not env.is_running():
                _stop_job(self, env)  # the execution was stopped (or timed out) while the job ran
            else:
                _running_jobs.pop(id(env), None)
            return outcome

        def _build_sync_resolver(self, env: Any, resource_runtime_part: Any, normalised_parameters: dict, state_credentials: Any) -> Any:
            name_param, describe, status_field = JOBS[self.resource.api_action]
            job_name = normalised_parameters[name_param]
            env.stack.pop()  # the Create call's output: .sync returns the describe output instead
            client = self._client(resource_runtime_part.region, state_credentials)
            _running_jobs[id(env)] = (client, self.resource.api_action, job_name)

            def resolve() -> Any:
                description = to_sfn_json(getattr(client, describe)(**{name_param: job_name}))
                status = description.get(status_field)
                if status in SUCCEEDED:
                    return description
                if status in FAILED:
                    reason = description.get("FailureReason") or f"{name_param} {job_name}: {status}"
                    raise FailureEventException(
                        FailureEvent(
                            env=env,
                            error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                            event_type=HistoryEventType.TaskFailed,
                            event_details=EventDetails(
                                taskFailedEventDetails=TaskFailedEventDetails(
                                    resource=self._get_sfn_resource(),
                                    resourceType=self._get_sfn_resource_type(),
                                    error=StatesErrorNameType.StatesTaskFailed.to_name(),
                                    cause=reason,
                                )
                            ),
                        )
                    )
                return None  # InProgress / Stopping: poll again

            return resolve

    return StateTaskServiceSageMaker


# id(env) -> (client, create action, job name) of the job a .sync state waits for, so that stopping
# the execution stops the job: Step Functions calls Stop<Job> as the state machine role on
# StopExecution (the reason .sync needs sagemaker:Stop*: https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html).
_running_jobs: dict[int, tuple[Any, str, str]] = {}
STOP_CALLS = {"createProcessingJob": "stop_processing_job", "createTrainingJob": "stop_training_job", "createTransformJob": "stop_transform_job"}


def _stop_job(state: Any, env: Any) -> None:
    entry = _running_jobs.pop(id(env), None)
    if entry is None:
        return
    client, action, job_name = entry
    name_param = JOBS[action][0]
    try:
        status = getattr(client, JOBS[action][1])(**{name_param: job_name}).get(JOBS[action][2])
        if status in ("InProgress",):
            getattr(client, STOP_CALLS[action])(**{name_param: job_name})
    except Exception as error:  # noqa: BLE001 - the execution is already stopped; say why the job was not
        print(f"[sfn] could not stop {job_name} after the execution stopped: {error}", flush=True)


def _managed_rule(api_action: str) -> None:
    """The .sync task's managed EventBridge rule, as the state machine role (IAM enforcement on)."""
    from botocore.exceptions import ClientError

    from ..authz import enforce, service_side
    from . import sfn_execution_role

    context = sfn_execution_role.current()
    if context is None or not enforce.enabled():
        return
    try:
        service_side.managed_rule(context.role_arn, context.execution_arn.rsplit(":", 1)[-1], api_action, context.execution_arn)
    except enforce.Denied:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": f"'{context.role_arn}' is not authorized to create managed-rule."}},
            "CreateManagedRule",
        ) from None


# moto re-checks a .sync condition every 0.5 s. A local job's status is known the moment it changes,
# and every .sync state waits half the interval on average: poll a describe call (in-process, cheap)
# every 0.1 s instead.
SYNC_POLL_SECONDS = 0.1


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback,
        state_task_service_factory,
    )

    state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = SYNC_POLL_SECONDS

    service_class = _service_class()
    original = state_task_service_factory.state_task_service_for

    def state_task_service_for(service_name: str) -> Any:
        if service_name == "sagemaker":
            return service_class()
        return original(service_name)

    state_task_service_factory.state_task_service_for = state_task_service_for
    state_task_factory.state_task_service_for = state_task_service_for
