"""Lambda invokes run the function's packaged handler (Python runtimes), without Docker.

What moto lacks: without Docker, moto cannot run a function; its Docker-less backend
(``moto/awslambda_simple``) answers every invoke with the input echoed back, so a
state machine "succeeds" without the handler ever running.

The patch replaces ``LambdaFunction.invoke``: the function's zip is extracted to a private
temp directory and the handler (``Handler`` = ``module.function``) runs in a subprocess with
the local Python (:mod:`pipeline_tools.emulator.lambda_runtime`), with the function's
environment variables plus ``AWS_ENDPOINT_URL`` (this emulator), ``AWS_CA_BUNDLE``, test
credentials and the region, so its boto3 calls land here over verified TLS. The function's
``Timeout`` is enforced. An exception in the handler becomes a function error
(``X-Amz-Function-Error: Unhandled``, payload ``{"errorMessage", "errorType", "stackTrace"}``),
which Step Functions' Retry/Catch see as they do on AWS. Handler output goes to the server log.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from ..jobs.common import sandbox_env

PYTHON_RUNTIME_PREFIX = "python"


def run_handler(
    code_zip: bytes,
    handler: str,
    event: Any,
    environment: dict[str, str],
    timeout_seconds: float,
    function_name: str = "function",
) -> tuple[Any, bool]:
    """Run ``handler`` from ``code_zip`` on ``event``; returns (payload, errored)."""
    with tempfile.TemporaryDirectory(prefix=f"lambda-{function_name}-") as root:
        task_dir = Path(root) / "task"
        with zipfile.ZipFile(io.BytesIO(code_zip)) as archive:
            archive.extractall(task_dir)
        result_path = Path(root) / "result.json"
        region = environment.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        env = {
            **sandbox_env(root),
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_CONFIG_FILE": _path_style_config(Path(root)),
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_seconds),
            "LAMBDA_TASK_ROOT": str(task_dir),
            **{str(k): str(v) for k, v in environment.items()},
        }
        try:
            completed = subprocess.run(
                [sys.executable, "-m", "pipeline_tools.emulator.lambda_runtime", handler, str(result_path)],
                input=json.dumps(event).encode(),
                cwd=task_dir,
                env=env,
                capture_output=True,
                timeout=timeout_seconds,
            )
        except subprocess.TimeoutExpired:
            return {
                "errorMessage": f"Task timed out after {float(timeout_seconds):.2f} seconds",
                "errorType": "Sandbox.Timedout",
            }, True
        log = (completed.stdout + completed.stderr).decode(errors="replace")
        if log.strip():
            print(f"[lambda {function_name}] {log.rstrip()}", flush=True)
        try:
            outcome = json.loads(result_path.read_text())
        except (OSError, ValueError):
            tail = log.strip().splitlines()[-1] if log.strip() else f"exit code {completed.returncode}"
            return {"errorMessage": f"Runtime exited: {tail}", "errorType": "Runtime.ExitError"}, True
        if outcome.pop("ok"):
            return outcome["result"], False
        return outcome, True


def _path_style_config(root: Path) -> str:
    """An AWS config file asking for path-style S3 (no ``<bucket>.127.0.0.1`` host names)."""
    path = root / "aws-config"
    path.write_text("[default]\ns3 =\n    addressing_style = path\n")
    return str(path)


def apply() -> None:
    from moto.awslambda.models import LambdaFunction

    original_invoke = LambdaFunction.invoke

    def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        if not str(self.run_time or "").startswith(PYTHON_RUNTIME_PREFIX) or not self.code_bytes:
            return original_invoke(self, body, request_headers, response_headers)
        event = json.loads(body) if body else {}
        environment = {**dict(self.environment_vars or {}), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size)}
        environment["PIPELINE_TOOLS_LAMBDA_ARN"] = self.function_arn
        payload, errored = run_handler(
            self.code_bytes, self.handler, event, environment, float(self.timeout or 3), self.function_name
        )
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(payload).encode()

    LambdaFunction.invoke = invoke
