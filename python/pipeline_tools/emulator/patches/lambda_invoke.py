"""Lambda invokes run the function's packaged handler (Python runtimes), without Docker.

What moto lacks: without Docker, moto cannot run a function; its Docker-less backend
(``moto/awslambda_simple``) answers every invoke with the input echoed back, so a
state machine "succeeds" without the handler ever running.

The patch replaces ``LambdaFunction.invoke``: the function's zip is extracted to a private
temp directory and the handler (``Handler`` = ``module.function``) runs in a runtime process
with the local Python (:mod:`pipeline_tools.emulator.lambda_runtime`), with the function's
environment variables plus ``AWS_ENDPOINT_URL`` (this emulator), ``AWS_CA_BUNDLE``, test
credentials and the region, so its boto3 calls land here over verified TLS. The function's
``Timeout`` is enforced on the invocation only: as on AWS, the Init phase (runtime start and the
handler module's import, its static code) does not count against it but has its own limit,
:data:`INIT_TIMEOUT_SECONDS`; an init that outlasts it goes on within the first invocation, under
the function timeout (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
An exception in the handler becomes a function error
(``X-Amz-Function-Error: Unhandled``, payload ``{"errorMessage", "errorType", "requestId", "stackTrace"}``),
which Step Functions' Retry/Catch see as they do on AWS. Handler output goes to the server log
and, with START/END/REPORT, to the function's CloudWatch Logs group, one stream per execution
environment, as Lambda writes it (:mod:`pipeline_tools.emulator.lambda_logs`).

Execution environments are reused, as on AWS: after an invocation the runtime process stays,
idle, for :func:`idle_seconds` (5 minutes; ``PIPELINE_TOOLS_LAMBDA_IDLE_SECONDS`` in the
emulator's environment changes it), and the next invocation of the same function (same code,
handler and configuration) runs in it without a new interpreter, imports or package
extraction (a warm start, ~0.3 s less); module-level state and ``/tmp`` files survive between
invocations there, as they can on AWS. Concurrent invocations each get an environment of
their own. A timed-out invocation ends its environment, as on AWS.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from ..jobs.common import sandbox_env
from ..service_logs import LineTail, now_ms

PYTHON_RUNTIME_PREFIX = "python"
IDLE_SECONDS = 300.0  # AWS keeps an idle environment for minutes; so do we, then end it
IDLE_SECONDS_ENV = "PIPELINE_TOOLS_LAMBDA_IDLE_SECONDS"
# AWS: "The Init phase is limited to 10 seconds. If all three tasks do not complete within 10
# seconds, Lambda retries the Init phase at the time of the first function invocation with the
# configured function timeout." (lambda-runtime-environment.html, on-demand functions)
INIT_TIMEOUT_SECONDS = 10.0
OUTPUT_POLL_SECONDS = 0.1  # how often a running invocation's output is read (its lines' timestamps)


def idle_seconds() -> float:
    """How long an idle execution environment is kept (read each time: tests and users set it)."""
    value = os.environ.get(IDLE_SECONDS_ENV)
    try:
        return float(value) if value else IDLE_SECONDS
    except ValueError:
        return IDLE_SECONDS


class Environment:
    """One execution environment: the extracted package and a runtime process serving invokes."""

    def __init__(
        self, code_zip: bytes, handler: str, environment: dict[str, str], function_name: str,
        log_group: str | None = None, log_stream: str | None = None,
    ) -> None:
        self.created = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix=f"lambda-{function_name}-"))
        task_dir = self.root / "task"
        with zipfile.ZipFile(io.BytesIO(code_zip)) as archive:
            archive.extractall(task_dir)
        self.log_path = self.root / "runtime.log"
        env = {
            **sandbox_env(self.root),
            "AWS_CONFIG_FILE": _path_style_config(self.root),
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "LAMBDA_TASK_ROOT": str(task_dir),
            **environment,
        }
        # Lambda's reserved variables naming the environment's log group and stream
        # (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime)
        self.log_stream = log_stream
        if log_group and log_stream:
            env.update(AWS_LAMBDA_LOG_GROUP_NAME=log_group, AWS_LAMBDA_LOG_STREAM_NAME=log_stream)
        control_read, control_write = os.pipe()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipeline_tools.emulator.lambda_runtime", handler, str(control_write)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=task_dir,
                env=env,
                pass_fds=(control_write,),
            )
        os.close(control_write)
        self.control = os.fdopen(control_read, "rb", buffering=0)
        self.idle_since = time.monotonic()
        self.initialized = False  # the runtime has reported the end of its Init phase
        self.init_failed = False  # ... with an error: every invocation reports it; not reused
        self.init_ms: float | None = None  # how long the Init phase took (reported once, by the first invocation)
        self.tail = LineTail(self.log_path)  # the output read so far, with when it was read
        self.lines: list[tuple[int, str]] = []

    def _await_init(self, timeout_seconds: float) -> tuple[dict[str, str] | None, float]:
        """Wait for the Init phase (its own limit, then the function timeout, as on AWS).
        Returns (an error payload or None, seconds of the function timeout init used up)."""
        ready, _, _ = select.select([self.control], [], [], INIT_TIMEOUT_SECONDS)
        used = 0.0
        if not ready:  # init goes on within this invocation, under the function timeout
            started = time.monotonic()
            ready, _, _ = select.select([self.control], [], [], timeout_seconds)
            used = time.monotonic() - started
            if not ready:
                return {"errorMessage": f"Task timed out after {float(timeout_seconds):.2f} seconds", "errorType": "Sandbox.Timedout"}, used
        line = self.control.readline()
        if line not in (b"ready\n", b"init-error\n"):
            tail = self._log_since(0).strip().splitlines()
            return {"errorMessage": f"Runtime exited during init: {tail[-1] if tail else self.process.poll()}", "errorType": "Runtime.ExitError"}, used
        self.initialized, self.init_failed = True, line == b"init-error\n"
        self.init_ms = (time.monotonic() - self.created) * 1000
        return None, used

    def _read_output(self, final: bool = False) -> None:
        stamp = now_ms()
        self.lines.extend((stamp, line) for line in self.tail.read(final))

    def _await_result(self, limit: float) -> bool:
        """Wait up to ``limit`` s for the runtime's next control line, reading its output meanwhile."""
        deadline = time.monotonic() + limit
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            ready, _, _ = select.select([self.control], [], [], min(OUTPUT_POLL_SECONDS, remaining))
            self._read_output()
            if ready:
                return True

    def invoke(self, event: Any, timeout_seconds: float, request_id: str | None = None) -> tuple[Any, bool, str, bool]:
        """Returns (payload, errored, this invocation's log, environment still usable); the output
        lines with their times are in :attr:`lines` (init output first), the invocation's span in
        :attr:`span` (start and end, ms since the epoch, and duration in ms)."""
        offset = self.log_path.stat().st_size
        self.lines = []
        self.span = (now_ms(), now_ms(), 0.0)
        limit = timeout_seconds
        if not self.initialized:
            error, used = self._await_init(timeout_seconds)
            if error is not None:
                log = self._log_since(offset)
                self._read_output(final=True)
                self.init_lines, self.lines = self.lines, []
                self.close()
                return error, True, log, False
            limit = max(0.0, timeout_seconds - used)
        self._read_output(final=True)
        self.init_lines, self.lines = self.lines, []
        result_path = self.root / f"result-{uuid.uuid4().hex}.json"
        request = json.dumps({"event": event, "result_path": str(result_path), "timeout": limit, "request_id": request_id})
        started, started_ms = time.monotonic(), now_ms()
        try:
            self.process.stdin.write(request.encode() + b"\n")
            self.process.stdin.flush()
            ready = self._await_result(limit)
            done = ready and self.control.readline() == b"done\n"
        except (BrokenPipeError, OSError):
            ready, done = True, False
        self._read_output(final=True)
        self.span = (started_ms, now_ms(), (time.monotonic() - started) * 1000)
        log = self._log_since(offset)
        if not ready:
            self.close()
            return {"errorMessage": f"Task timed out after {float(timeout_seconds):.2f} seconds", "errorType": "Sandbox.Timedout"}, True, log, False
        if not done:
            self.close()
            tail = log.strip().splitlines()[-1] if log.strip() else f"exit code {self.process.poll()}"
            return {"errorMessage": f"Runtime exited: {tail}", "errorType": "Runtime.ExitError"}, True, log, False
        outcome = json.loads(result_path.read_text())
        result_path.unlink()
        if outcome.pop("ok"):
            return outcome["result"], False, log, True
        return outcome, True, log, not self.init_failed  # a failed init is retried in a new environment

    def _log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.control):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


class EnvironmentPool:
    """Idle environments per function version; ended after :func:`idle_seconds` idle, or at exit."""

    def __init__(self) -> None:
        self._idle: dict[str, list[Environment]] = {}
        self._lock = threading.Lock()
        self._reaper: threading.Thread | None = None
        atexit.register(self.close_all)

    def acquire(self, key: str) -> Environment | None:
        """An idle environment for ``key`` whose runtime is still alive (a dead one is dropped)."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                environment = idle.pop() if idle else None
            if environment is None:
                return None
            if environment.process.poll() is None and time.monotonic() - environment.idle_since <= idle_seconds():
                return environment
            environment.close()  # its runtime died, or it idled past its time (the reaper may not have run yet)

    def release(self, key: str, environment: Environment) -> None:
        environment.idle_since = time.monotonic()
        with self._lock:
            self._idle.setdefault(key, []).append(environment)
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap, name="lambda-environment-reaper", daemon=True)
                self._reaper.start()

    def _reap(self) -> None:
        while True:
            limit = idle_seconds()
            time.sleep(max(0.05, min(30.0, limit / 4)))
            cutoff = time.monotonic() - limit
            with self._lock:
                expired = [e for envs in self._idle.values() for e in envs if e.idle_since < cutoff]
                for key in list(self._idle):
                    self._idle[key] = [e for e in self._idle[key] if e.idle_since >= cutoff]
            for environment in expired:
                environment.close()

    def close_all(self) -> None:
        with self._lock:
            environments = [e for envs in self._idle.values() for e in envs]
            self._idle.clear()
        for environment in environments:
            environment.close()


POOL = EnvironmentPool()


def run_handler(
    code_zip: bytes,
    handler: str,
    event: Any,
    environment: dict[str, str],
    timeout_seconds: float,
    function_name: str = "function",
    credentials: Any = None,
    logs: Any = None,
) -> tuple[Any, bool]:
    """Run ``handler`` from ``code_zip`` on ``event`` in a warm environment if one is idle (else
    a new one); returns (payload, errored). ``credentials`` (IAM enforcement): a callable giving a
    new environment its execution role's credentials (variables), as Lambda gives each one.
    ``logs`` (a :class:`~pipeline_tools.emulator.lambda_logs.FunctionLogs`): where the invocation's
    log events go, one stream per environment."""
    region = environment.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    environment = {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_seconds),
        **{str(k): str(v) for k, v in environment.items()},
    }
    key = hashlib.sha256(
        json.dumps([hashlib.sha256(code_zip).hexdigest(), handler, function_name, environment, logs and logs.group], sort_keys=True).encode()
    ).hexdigest()
    runtime = POOL.acquire(key)
    cold = runtime is None
    if runtime is None:
        role_variables = credentials() if credentials else {}
        stream = logs.new_stream() if logs is not None else None
        runtime = Environment(code_zip, handler, {**environment, **role_variables}, function_name, logs and logs.group, stream)
        runtime.access_key = role_variables.get("AWS_ACCESS_KEY_ID")
    from ..authz import enforce  # what the environment does now is done for the invoker's execution

    request_id = str(uuid.uuid4())
    with enforce.acting_for(getattr(runtime, "access_key", None), enforce.current_execution()):
        payload, errored, log, usable = runtime.invoke(event, timeout_seconds, request_id)
    if log.strip():
        print(f"[lambda {function_name}] {log.rstrip()}", flush=True)
    if logs is not None and runtime.log_stream:
        _write_logs(logs, runtime, request_id, cold)
    if usable:
        POOL.release(key, runtime)
    return payload, errored


def _write_logs(logs: Any, runtime: Environment, request_id: str, cold: bool) -> None:
    from ..lambda_logs import Invocation, peak_memory_mb

    started_ms, ended_ms, duration_ms = runtime.span
    invocation = Invocation(
        request_id, started_ms, ended_ms, duration_ms, list(getattr(runtime, "init_lines", [])), list(runtime.lines),
        runtime.init_ms if cold else None, peak_memory_mb(runtime.process.pid),
    )
    try:
        logs.write(runtime.log_stream, invocation)
    except Exception as error:  # noqa: BLE001 - logs are a by-product; the invocation's outcome stands
        print(f"[lambda {logs.function_name}] logs not written: {type(error).__name__}: {error}", flush=True)


def _path_style_config(root: Path) -> str:
    """An AWS config file asking for path-style S3 (no ``<bucket>.127.0.0.1`` host names)."""
    path = root / "aws-config"
    path.write_text("[default]\ns3 =\n    addressing_style = path\n")
    return str(path)


def _role_credentials(function: Any) -> Any:
    """With IAM enforcement: a callable giving the function's execution role credentials, obtained
    as lambda.amazonaws.com (its trust policy evaluated; session name = the function's name, as
    Lambda names it: https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html).
    A role Lambda may not assume fails the invoke with Lambda's words for it."""
    from ..authz import enforce

    if not enforce.enabled():
        return None

    def variables() -> dict[str, str]:
        from moto.awslambda.exceptions import InvalidParameterValueException

        try:
            return enforce.credentials_for(
                "lambda.amazonaws.com", function.role, function.function_name, execution_arn=enforce.current_execution()
            ).environment()
        except enforce.AssumeRoleDenied:
            raise InvalidParameterValueException("The role defined for the function cannot be assumed by Lambda.") from None

    return variables


def apply() -> None:
    from moto.awslambda.models import LambdaFunction

    original_invoke = LambdaFunction.invoke

    def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        if not str(self.run_time or "").startswith(PYTHON_RUNTIME_PREFIX) or not self.code_bytes:
            return original_invoke(self, body, request_headers, response_headers)
        event = json.loads(body) if body else {}
        environment = {**dict(self.environment_vars or {}), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size)}
        environment["PIPELINE_TOOLS_LAMBDA_ARN"] = self.function_arn
        from ..lambda_logs import FunctionLogs

        payload, errored = run_handler(
            self.code_bytes, self.handler, event, environment, float(self.timeout or 3), self.function_name,
            credentials=_role_credentials(self), logs=FunctionLogs(self),
        )
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(payload).encode()

    LambdaFunction.invoke = invoke
