"""The context object's times in Step Functions' format, ``YYYY-MM-DDTHH:MM:SS.mmmZ``.

What moto 5.2.5 does: ``$$.Execution.StartTime`` is the execution's start as a Python
``datetime`` (moto ``backend/execution_worker.py``), so a state that puts it in its output makes
``DescribeExecution`` answer HTTP 500 (``json.dumps`` meets a datetime), and
``$$.State.EnteredTime`` is ``datetime.isoformat()``, ``2026-12-04T17:44:59.889504+00:00``.

AWS's page, "Accessing execution data from the Context object in Step Functions", gives the
format of both as "Format: ISO 8601" and shows them as ``"StartTime": "2019-03-26T20:14:13.192Z"``
and ``"EnteredTime": "2019-03-26T20:14:13.192Z"``: UTC, milliseconds, ``Z``
(https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html).
The patch writes both that way, for JSONPath (``$$``) and JSONata (``$states.context``) alike.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any


def aws_timestamp(value: Any) -> Any:
    """A datetime (or an ISO 8601 string) as ``2019-03-26T20:14:13.192Z``; anything else as is."""
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, _dt.datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    value = value.astimezone(_dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.state import state as state_module
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original_environment = ExecutionWorker._get_evaluation_environment

    def _get_evaluation_environment(self: ExecutionWorker) -> Any:
        env = original_environment(self)
        execution = env.states.context_object.context_object_data["Execution"]
        execution["StartTime"] = aws_timestamp(execution.get("StartTime"))
        return env

    ExecutionWorker._get_evaluation_environment = _get_evaluation_environment

    original_state_data = state_module.StateData

    def state_data(**fields: Any) -> Any:
        if "EnteredTime" in fields:
            fields["EnteredTime"] = aws_timestamp(fields["EnteredTime"])
        return original_state_data(**fields)

    state_module.StateData = state_data
