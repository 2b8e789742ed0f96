"""The state machine's interpreter calls services as the state machine's role (with IAM enforcement).

What moto lacks: its interpreter signs every task's calls with the fixed test credentials
(``ak``/``sk``), whatever the state machine's ``roleArn``; the role is never assumed and its
policies never matter.

On AWS, Step Functions assumes the state machine's execution role (``states.amazonaws.com``, its
trust policy evaluated with ``aws:SourceAccount`` = the account and ``aws:SourceArn`` = the state
machine's ARN: https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html,
"Prevent cross-service confused deputy issue") and calls the task's service with those credentials.

The patch records, for the thread that evaluates a state (``ExecutionState._eval_execution`` and
its overrides, where the task's service calls and a ``.sync`` task's polling happen), which
execution, state machine, role and state it runs; :mod:`.callback_tls` then builds that thread's
clients with the role session's credentials (one session per execution, so every call it makes is
recorded in the execution's access log). A role the service may not assume fails the task with the
reason. Also: a Lambda task whose Invoke call is refused fails with ``Lambda.<error code>`` and the
service's message (moto reports a bare ``Exception``), as Step Functions names an integration's
errors "<Service>.<Exception>"
(https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

_local = threading.local()

SERVICE = "states.amazonaws.com"


@dataclass(frozen=True)
class InterpreterContext:
    execution_arn: str
    state_machine_arn: str
    role_arn: str
    state_name: str | None


def current() -> InterpreterContext | None:
    return getattr(_local, "context", None)


def _context_of(env: Any) -> InterpreterContext | None:
    try:
        data = env.states.context_object.context_object_data
        execution, machine = data["Execution"], data["StateMachine"]
        state = (data.get("State") or {}).get("Name")
        return InterpreterContext(execution["Id"], machine["Id"], execution["RoleArn"], state)
    except (AttributeError, KeyError, TypeError):
        return None


def _wrap(cls: type) -> None:
    original = cls.__dict__["_eval_execution"]

    def _eval_execution(self: Any, env: Any) -> None:
        previous = current()
        _local.context = _context_of(env) or previous
        try:
            return original(self, env)
        finally:
            _local.context = previous

    _eval_execution.__wrapped__ = original  # type: ignore[attr-defined]
    cls._eval_execution = _eval_execution


def _all_subclasses(cls: type) -> list[type]:
    found, stack = [], [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            found.append(sub)
            stack.append(sub)
    return found


def apply() -> None:
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda

    for cls in [ExecutionState, *_all_subclasses(ExecutionState)]:
        if "_eval_execution" in cls.__dict__ and not getattr(cls.__dict__["_eval_execution"], "__wrapped__", None):
            _wrap(cls)

    original_from_error = StateTaskLambda._from_error

    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        event = original_from_error(self, env, ex)
        if isinstance(ex, ClientError):
            from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName

            name = f"Lambda.{ex.response['Error'].get('Code', 'Exception')}"
            event.error_name = CustomErrorName(name)
            details = event.event_details.get("lambdaFunctionFailedEventDetails")
            if details is not None:
                details["error"] = name
        return event

    StateTaskLambda._from_error = _from_error

    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original_start = StepFunctionsParserBackend.start_execution

    def start_execution(self: Any, state_machine_arn: str, *args: Any, **kwargs: Any) -> Any:
        execution = original_start(self, state_machine_arn, *args, **kwargs)
        _execution_started(self, state_machine_arn, execution)
        return execution

    StepFunctionsParserBackend.start_execution = start_execution


def _execution_started(backend: Any, state_machine_arn: str, execution: Any) -> None:
    """Log delivery and X-Ray, as the state machine role, for an execution of a machine that has them on."""
    from ..authz import enforce, service_side

    if not enforce.enabled():
        return
    machine = backend.describe_state_machine(state_machine_arn)
    logging = str((getattr(machine, "loggingConfiguration", None) or {}).get("level", "OFF")).upper() != "OFF"
    tracing = bool((getattr(machine, "tracingConfiguration", None) or {}).get("enabled"))
    arn = execution.execution_arn
    service_side.execution_started(machine.roleArn, arn.rsplit(":", 1)[-1], arn, logging, tracing)
