"""A minimal Lambda runtime: ``python -m pipeline_tools.emulator.lambda_runtime HANDLER CONTROL_FD``.

One process is one execution environment, as on AWS: it runs in the extracted function package
(its working directory, first on ``sys.path``, as ``/var/task`` is on AWS), imports the handler
module once, and then serves invocations one at a time until its stdin closes, so module-level
state (SDK clients, caches) survives from one invoke to the next, as in a warm Lambda.

Init phase, as on AWS: the runtime imports the handler module (the function's static code) as soon
as it starts, then writes ``ready`` to CONTROL_FD; the caller starts an invocation's timeout clock
only after that (init has its own limit). An import error is reported to every invocation of this
environment as its function error.

Each invocation is one JSON line on stdin, ``{"event": ..., "result_path": ..., "timeout": s}``.
The runtime calls ``module.function(event, context)``, writes ``{"ok": true, "result": ...}`` or
``{"ok": false, "errorMessage", "errorType", "requestId", "stackTrace"}`` to ``result_path`` and then one line
to CONTROL_FD, so the handler's own prints (stdout/stderr) stay its log, as on AWS.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
import uuid
from typing import Any, Callable


class LambdaContext:
    """The attributes of AWS's context object that handlers commonly use."""

    def __init__(self, timeout_seconds: float, request_id: str | None = None) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("PIPELINE_TOOLS_LAMBDA_ARN", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = request_id or str(uuid.uuid4())  # the one in the START/END/REPORT lines
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{self.function_name}")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", self.aws_request_id)
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


_REQUEST_ID = ""  # the invocation being served ("" during Init)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _REQUEST_ID
        return True


def _setup_logging() -> None:
    """The root logger's handler as AWS's Python runtime installs it for the Text log format:
    ``[LEVEL]\t<UTC time>.<ms>Z\t<request id>\t<message>``, UTC, the root level left at Python's
    default (WARNING) unless ``AWS_LAMBDA_LOG_LEVEL`` sets one (awslambdaric/bootstrap.py,
    github.com/aws/aws-lambda-python-runtime-interface-client; there each record is one CloudWatch
    event, here one per line)."""
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging._nameToLevel:
        root.setLevel(level)
    root.addHandler(handler)


def _function_error(error: BaseException, skip_frames: int, request_id: str = "") -> str:
    """The error document Lambda's Python runtime returns: errorMessage, errorType, requestId (the
    invocation's; "" for an Init error) and stackTrace, in that order (AWS's runtime interface
    client, awslambdaric ``bootstrap.make_error``)."""
    traceback.print_exc()
    sys.stderr.flush()
    return json.dumps(
        {
            "ok": False,
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "requestId": request_id,
            "stackTrace": traceback.format_tb(error.__traceback__)[skip_frames:],  # without this runtime's frames
        }
    )


def invoke(handler: Callable, event: Any, timeout_seconds: float, request_id: str | None = None) -> str:
    """One invocation's outcome as JSON."""
    global _REQUEST_ID
    context = LambdaContext(timeout_seconds, request_id)
    _REQUEST_ID = context.aws_request_id
    try:
        result = handler(event, context)
        return json.dumps({"ok": True, "result": result})
    except Exception as error:  # noqa: BLE001 - every handler error becomes a function error
        return _function_error(error, 1, context.aws_request_id)


def main() -> int:
    handler_spec, control = sys.argv[1], int(sys.argv[2])
    sys.path[0] = os.getcwd()  # the function package, not this module's directory
    module_name, _, function_name = handler_spec.rpartition(".")
    _setup_logging()
    # Init phase: the handler's module and its static code, before any invocation's clock starts.
    handler: Callable | None = None
    init_error: str | None = None
    try:
        handler = getattr(importlib.import_module(module_name.replace("/", ".")), function_name)
    except Exception as error:  # noqa: BLE001 - reported to the invocations, as on AWS
        init_error = _function_error(error, 0)
    os.write(control, b"ready\n" if init_error is None else b"init-error\n")

    for line in sys.stdin:
        request = json.loads(line)
        text = init_error if handler is None else invoke(handler, request["event"], float(request["timeout"]), request.get("request_id"))
        sys.stdout.flush()
        with open(request["result_path"], "w") as handle:
            handle.write(text)
        os.write(control, b"done\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
