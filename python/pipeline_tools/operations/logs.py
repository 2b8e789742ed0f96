"""A run's logs from every state, in time order: what `pipeline-tools logs` prints.

Target-agnostic: only Step Functions, Lambda and CloudWatch Logs APIs, so the same code reads AWS
and the local emulator (which writes logs as the services do: emulator/job_logs.py,
emulator/lambda_logs.py). The execution's history says which task ran what
(``TaskScheduled``: the resource and its parameters; ``LambdaFunctionScheduled``: the function):

* a SageMaker job (``createProcessingJob``/``createTrainingJob``/``createTransformJob``) logs to
  ``/aws/sagemaker/{ProcessingJobs,TrainingJobs,TransformJobs}``, one stream per host named
  ``<job>/<host>-<epoch>`` (https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html):
  FilterLogEvents with ``logStreamNamePrefix=<job>/``;
* a Lambda task logs to the function's log group (``LoggingConfig.LogGroup``, default
  ``/aws/lambda/<name>``), one stream per execution environment, which other executions may share:
  the invocations whose ``START`` falls while the state ran (FilterLogEvents with that window), each
  from its ``START RequestId`` line through its ``REPORT`` line, plus output outside any invocation
  (an environment's Init phase) in that window.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..errors import EnvironmentProblem, UsageError
from ..execution import TERMINAL, Clients, find_state_machine, history
from ..synthesis import read_config

JOB_LOG_GROUPS = {
    "createProcessingJob": ("/aws/sagemaker/ProcessingJobs", "ProcessingJobName"),
    "createTrainingJob": ("/aws/sagemaker/TrainingJobs", "TrainingJobName"),
    "createTransformJob": ("/aws/sagemaker/TransformJobs", "TransformJobName"),
}
SLACK_MS = 1000  # clock slack around a Lambda state's window
LOOKBACK_MS = 10_000  # --follow re-reads this far back: events can be ingested after later ones
_EPOCH_SUFFIX = re.compile(r"-\d+(?=/|$)")
_START = re.compile(r"^START RequestId: (\S+)")
_REPORT = re.compile(r"^REPORT RequestId: (\S+)")


@dataclass
class Source:
    """Where one state's logs are: a log group, and a job's stream prefix or a Lambda's time window."""

    state: str
    group: str
    prefix: str | None = None  # a SageMaker job's streams: "<job>/"
    window: tuple[int, int | None] | None = None  # a Lambda task: (entered, exited or None) in ms
    seen: set = field(default_factory=set)
    since: int = 0

    @property
    def label(self) -> str:
        """The state's name up to a colon ("Standardization: x' = ..." -> "Standardization")."""
        return self.state.split(":", 1)[0].strip() or self.state

    def host(self, stream: str) -> str:
        """The host in a job's stream ("run-1/algo-2-1764000000" -> "algo-2"); a Lambda environment's
        first 8 hex digits."""
        if self.prefix is not None:
            return _EPOCH_SUFFIX.sub("", stream[len(self.prefix) :]) or stream
        return stream.rsplit("]", 1)[-1][:8] or stream


@dataclass
class Line:
    timestamp: int
    source: Source
    stream: str
    message: str

    def render(self, width: int, host_width: int = 0) -> str:
        return f"{self.source.label:<{width}} {self.source.host(self.stream):<{host_width}} | {self.message.rstrip()}"


def _ms(value: Any) -> int:
    return int(value.timestamp() * 1000)


def find_execution(clients: Clients, machine_arn: str, execution: str | None) -> dict:
    """DescribeExecution of ``execution`` (a name or an ARN), or of the state machine's latest."""
    from botocore.exceptions import ClientError

    if execution is None:
        latest = None
        for page in clients.sfn.get_paginator("list_executions").paginate(stateMachineArn=machine_arn):
            for item in page["executions"]:
                if latest is None or item["startDate"] > latest["startDate"]:
                    latest = item
            if clients.target == "aws":
                break  # AWS lists the most recent first
        if latest is None:
            raise UsageError(f"no execution of {machine_arn.rsplit(':', 1)[-1]} on {clients.target} yet", f"start one: `pipeline-tools run --target {clients.target}`")
        arn = latest["executionArn"]
    elif execution.startswith("arn:"):
        arn = execution
    else:
        arn = machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{execution}"
    try:
        return clients.sfn.describe_execution(executionArn=arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("ExecutionDoesNotExist", "InvalidArn"):
            raise
    raise UsageError(
        f"execution {execution!r} not found on {clients.target}",
        f"give an execution name or ARN of {machine_arn.rsplit(':', 1)[-1]}, or none for the latest",
    )


def sources_of(events: list[dict], lambda_group: Callable[[str], str]) -> list[Source]:
    """The log sources of the execution's task states, in the order they were scheduled."""
    entered: dict[int, str] = {}
    windows: dict[str, list[int | None]] = {}
    sources: dict[tuple, Source] = {}
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            entered[event["id"]] = name
            windows[name] = [_ms(event["timestamp"]), None]
        elif kind.endswith("StateExited"):
            window = windows.get(event["stateExitedEventDetails"]["name"])
            if window is not None:
                window[1] = _ms(event["timestamp"])
        elif kind == "TaskScheduled":
            details = event["taskScheduledEventDetails"]
            state = entered.get(event.get("previousEventId"), "?")
            try:
                parameters = json.loads(details.get("parameters") or "{}")
            except ValueError:
                parameters = {}
            resource = details.get("resource", "").split(".", 1)[0]
            if details.get("resourceType") == "sagemaker" and resource in JOB_LOG_GROUPS:
                group, key = JOB_LOG_GROUPS[resource]
                if parameters.get(key):
                    sources.setdefault((group, parameters[key]), Source(state, group, prefix=f"{parameters[key]}/"))
            elif details.get("resourceType") == "lambda" and parameters.get("FunctionName"):  # lambda:invoke
                group = lambda_group(str(parameters["FunctionName"]))
                sources.setdefault((group, state), Source(state, group))
        elif kind == "LambdaFunctionScheduled":  # a Task whose Resource is the function's ARN
            state = entered.get(event.get("previousEventId"), "?")
            group = lambda_group(event["lambdaFunctionScheduledEventDetails"]["resource"])
            sources.setdefault((group, state), Source(state, group))
    for source in sources.values():
        if source.prefix is None:
            start, end = windows.get(source.state, [None, None])
            source.window = (start or 0, end)
    return list(sources.values())


def _filter_events(logs: Any, source: Source, start: int | None, end: int | None) -> list[dict]:
    from botocore.exceptions import ClientError

    kwargs: dict[str, Any] = {"logGroupName": source.group}
    if source.prefix is not None:
        kwargs["logStreamNamePrefix"] = source.prefix
    if start:
        kwargs["startTime"] = max(0, start)
    if end is not None:
        kwargs["endTime"] = end
    events: list[dict] = []
    try:
        for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
            events.extend(page.get("events", []))
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "ResourceNotFoundException":
            return []  # no log group yet: nothing logged yet
        if code in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException"):
            raise EnvironmentProblem(
                f"cannot read CloudWatch Logs group {source.group}: {error.response['Error'].get('Message', code)}",
                "allow logs:FilterLogEvents on it to your credentials",
            ) from None
        raise
    if source.prefix is not None:  # a service that ignores the prefix must not mix jobs
        events = [e for e in events if e.get("logStreamName", "").startswith(source.prefix)]
    return events


def _lambda_invocations(source: Source, events: list[dict]) -> list[dict]:
    """The events of the invocations that started while the state ran (see the module docstring)."""
    start, end = source.window or (0, None)
    low, high = start - SLACK_MS, (end + SLACK_MS) if end is not None else None
    kept, current = [], {}
    for event in sorted(events, key=lambda e: e["timestamp"]):  # stable: each stream keeps its order
        stream, message, stamp = event.get("logStreamName", ""), event.get("message", ""), event["timestamp"]
        started = _START.match(message)
        if started:
            current[stream] = low <= stamp and (high is None or stamp <= high)
        inside = current.get(stream)
        if inside is None:  # output outside any invocation (Init): by its own time
            inside = low <= stamp and (high is None or stamp <= high)
        if inside:
            kept.append(event)
        if _REPORT.match(message):
            current.pop(stream, None)
    return kept


def read(logs: Any, sources: Iterable[Source]) -> list[Line]:
    """The new lines of ``sources`` since the last read, in time order."""
    lines: list[Line] = []
    for source in sources:
        if source.prefix is None:
            start, end = source.window or (0, None)
            events = _lambda_invocations(source, _filter_events(logs, source, max(start - SLACK_MS, source.since - LOOKBACK_MS), None if end is None else end + SLACK_MS))
        else:
            events = _filter_events(logs, source, source.since - LOOKBACK_MS if source.since else None, None)
        for event in events:
            key = (event.get("logStreamName"), event.get("eventId"), event["timestamp"], event.get("message"))
            if key in source.seen:
                continue
            source.seen.add(key)
            source.since = max(source.since, event["timestamp"])
            lines.append(Line(event["timestamp"], source, event.get("logStreamName", ""), event.get("message", "")))
    lines.sort(key=lambda line: line.timestamp)  # stable: a stream's lines keep their order
    return lines


def matches(source: Source, state: str) -> bool:
    """``--state``: the state's name or its first words, any case ("train" -> "Train model (XGBoost)")."""
    return source.state.casefold().startswith(state.strip().casefold())


def select_state(sources: list[Source], state: str | None, described: dict) -> list[Source]:
    if state is None:
        return sources
    chosen = [s for s in sources if matches(s, state)]
    if not chosen:
        names = ", ".join(repr(s.label) for s in sources) or "none yet"
        raise UsageError(f"no state {state!r} with logs in execution {described['name']}", f"states with logs: {names}")
    return chosen


def _clients(target: str, region: str) -> tuple[Clients, Any, Any]:
    clients = Clients.for_target(target, region)
    if target == "local":
        from ..emulator import client

        return clients, client("logs", clients.emulator_state), client("lambda", clients.emulator_state)
    import boto3

    session = boto3.session.Session()
    return clients, session.client("logs", region_name=region), session.client("lambda", region_name=region)


def _lambda_group_finder(lambda_client: Any) -> Callable[[str], str]:
    cache: dict[str, str] = {}

    def group(function: str) -> str:
        if function not in cache:
            name = function.split(":function:", 1)[-1].split(":", 1)[0]
            try:
                config = lambda_client.get_function_configuration(FunctionName=function)
                cache[function] = (config.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}"
            except Exception:  # noqa: BLE001 - not allowed to read it, or gone: Lambda's default group
                cache[function] = f"/aws/lambda/{name}"
        return cache[function]

    return group


def _task_label_width(clients: Clients, execution_arn: str) -> int:
    """The longest label of the state machine's Task states (so --follow's columns stay put)."""
    try:
        definition = json.loads(clients.sfn.describe_state_machine_for_execution(executionArn=execution_arn)["definition"])
    except Exception:  # noqa: BLE001 - only alignment
        return 0
    states = definition.get("States", {})
    return max([len(Source(name, "").label) for name, state in states.items() if state.get("Type") == "Task"] + [0])


def show(config_path, target: str, execution: str | None, state: str | None, follow: bool, echo=print, interval: float | None = None) -> int:
    """Print the execution's log lines (``--follow``: until it ends). Returns the number of lines."""
    config = read_config(config_path)
    clients, logs, lambda_client = _clients(target, config.region)
    machine_arn = find_state_machine(clients, config)
    described = find_execution(clients, machine_arn, execution)
    arn = described["executionArn"]
    group_of = _lambda_group_finder(lambda_client)
    if interval is None:
        interval = 0.3 if target == "local" else 2.0
    sources: dict[tuple, Source] = {}
    printed = 0
    task_width = _task_label_width(clients, arn)
    while True:
        running = described["status"] not in TERMINAL
        for source in sources_of(history(clients, arn), group_of):
            known = sources.setdefault((source.group, source.prefix, source.state), source)
            known.window = source.window
        if state is not None and follow and running:  # the state may not have started yet
            chosen = [s for s in sources.values() if matches(s, state)]
        else:
            chosen = select_state(list(sources.values()), state, described)
        width = max([len(s.label) for s in sources.values()] + [task_width])
        lines = read(logs, chosen)
        host_width = max([len(line.source.host(line.stream)) for line in lines] + [6])
        for line in lines:
            echo(line.render(width, host_width))
            printed += 1
        if not follow or not running:
            return printed
        time.sleep(interval)
        described = clients.sfn.describe_execution(executionArn=arn)
        if described["status"] in TERMINAL and target == "aws":
            time.sleep(5)  # the services deliver a job's or invocation's last lines within seconds
