"""Lambda function logs in CloudWatch Logs, as Lambda writes them.

What moto 5.2.5 lacks: a function it runs writes no logs (the emulator's runtime kept the handler's
output in the server log only). On AWS:

* the log group is ``/aws/lambda/<function name>``, or the function's ``LoggingConfig.LogGroup``
  (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html), which
  Lambda creates when no group of that name exists;
* "Each instance of a Lambda function has a dedicated log stream", named
  ``YYYY/MM/DD/[Function version][Execution environment GUID]``, and "A single execution environment
  writes to the same log stream during its lifetime"
  (https://docs.aws.amazon.com/lambda/latest/operatorguide/log-structure.html), e.g.
  ``2025/08/31/[$LATEST]3893xmpl7fac4485b47bb75b671a283c``; in a custom log group the function's name
  comes first: ``YYYY/MM/DD/<function_name>[<function_version>][<execution_environment_GUID>]``
  (monitoring-cloudwatchlogs-loggroups.html). The runtime sees both names in
  ``AWS_LAMBDA_LOG_GROUP_NAME`` and ``AWS_LAMBDA_LOG_STREAM_NAME``;
* each invocation writes ``START RequestId: <id> Version: $LATEST``, the function's output,
  ``END RequestId: <id>`` and ``REPORT RequestId: <id>`` with ``Duration``, ``Billed Duration``,
  ``Memory Size``, ``Max Memory Used`` and, on a cold start, ``Init Duration``
  (https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html, whose example bills the init
  phase too: 15.74 ms + 130.49 ms init -> ``Billed Duration: 147 ms``).

Here the output lines carry the time the emulator read them from the runtime (every 0.1 s while
the invocation runs); output of the Init phase comes before ``START``. ``Max Memory Used`` is the
runtime process's peak resident memory. Not written: ``INIT_START`` (it names a runtime version
ARN the emulator does not have) and the ``XRAY TraceId`` line.

With IAM enforcement, Lambda writes as the execution role (``logs:CreateLogStream``,
``logs:PutLogEvents``, and ``logs:CreateLogGroup`` when the group is missing,
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html); where the role may not,
the invocation's logs are lost, as on AWS, and the invocation is unaffected.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

from . import service_logs

VERSION = "$LATEST"  # the emulator invokes unpublished functions only


def stream_name(function_name: str, log_group: str, when: float | None = None) -> str:
    day = time.strftime("%Y/%m/%d", time.gmtime(when))
    custom = log_group != f"/aws/lambda/{function_name}"
    return f"{day}/{function_name if custom else ''}[{VERSION}]{uuid.uuid4().hex}"


def report_line(request_id: str, duration_ms: float, memory_mb: int, max_memory_mb: int, init_ms: float | None) -> str:
    billed = math.ceil(duration_ms + (init_ms or 0.0))
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_mb} MB",
    ]
    if init_ms is not None:
        fields.append(f"Init Duration: {init_ms:.2f} ms")
    return "\t".join(fields)


def peak_memory_mb(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in MB; 0 where /proc does not say."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return math.ceil(int(line.split()[1]) / 1024)
    except (OSError, ValueError):
        pass
    return 0


@dataclass
class Invocation:
    """What one invocation wrote, for :meth:`FunctionLogs.write`."""

    request_id: str
    started_ms: int
    ended_ms: int
    duration_ms: float
    init_lines: list[tuple[int, str]]
    lines: list[tuple[int, str]]
    init_ms: float | None  # a cold start's Init phase
    max_memory_mb: int


class FunctionLogs:
    """Where one function's invocations log (captured in the invoking request's thread: the
    execution the invocation acts for is that thread's)."""

    def __init__(self, function: Any) -> None:
        from .authz import enforce

        self.function_name = function.function_name
        self.group = (getattr(function, "logging_config", None) or {}).get("LogGroup") or f"/aws/lambda/{self.function_name}"
        parts = function.function_arn.split(":")
        self.region, self.account = parts[3], parts[4]
        self.role = function.role
        self.memory_mb = int(function.memory_size or 128)
        self.tracing = (getattr(function, "tracing_config", None) or {}).get("Mode") == "Active"
        self.execution_arn = enforce.current_execution()

    def new_stream(self) -> str:
        return stream_name(self.function_name, self.group)

    def write(self, stream: str, invocation: Invocation) -> bool:
        """Authorize Lambda's writes as the execution role, then put the invocation's events.
        Returns whether they were written."""
        from .authz import service_side

        exists = service_logs.group_exists(self.account, self.region, self.group)
        allowed = service_side.lambda_invocation(
            self.role, self.function_name, self.group, stream, self.tracing, self.execution_arn, group_exists=exists
        )
        if not allowed:
            return False
        rid = invocation.request_id
        events = [
            *invocation.init_lines,
            (invocation.started_ms, f"START RequestId: {rid} Version: {VERSION}"),
            *invocation.lines,
            (invocation.ended_ms, f"END RequestId: {rid}"),
            (invocation.ended_ms, report_line(rid, invocation.duration_ms, self.memory_mb, invocation.max_memory_mb, invocation.init_ms)),
        ]
        service_logs.write(self.account, self.region, self.group, stream, events)
        return True
