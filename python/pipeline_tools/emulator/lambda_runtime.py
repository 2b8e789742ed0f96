"""A minimal Lambda runtime: ``python -m pipeline_tools.emulator.lambda_runtime HANDLER RESULT_FILE``.

Runs in a subprocess whose working directory is the extracted function package (on
``sys.path`` first, as ``/var/task`` is on AWS). Reads the event (JSON) on stdin, calls
``module.function(event, context)`` and writes ``{"ok": true, "result": ...}`` or
``{"ok": false, "errorMessage", "errorType", "stackTrace"}`` to RESULT_FILE, so the handler's
own prints (stdout/stderr) stay its log, as on AWS.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid


class LambdaContext:
    """The attributes of AWS's context object that handlers commonly use."""

    def __init__(self) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("PIPELINE_TOOLS_LAMBDA_ARN", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.aws_request_id
        self._deadline = time.monotonic() + float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> int:
    handler_spec, result_path = sys.argv[1], sys.argv[2]
    sys.path.insert(0, os.getcwd())
    try:
        event = json.loads(sys.stdin.read() or "{}")
        module_name, _, function_name = handler_spec.rpartition(".")
        handler = getattr(importlib.import_module(module_name.replace("/", ".")), function_name)
        result = handler(event, LambdaContext())
        payload = {"ok": True, "result": result}
        text = json.dumps(payload)
    except Exception as error:  # noqa: BLE001 - every handler error becomes a function error
        traceback.print_exc()
        text = json.dumps(
            {
                "ok": False,
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_tb(error.__traceback__)[1:],  # without this runtime's frame
            }
        )
    with open(result_path, "w") as handle:
        handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
