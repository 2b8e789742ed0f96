"""Injected faults: make the next N calls of one API operation fail with a given AWS error, so a
test can show a Retry policy at work end to end (the emulator has no transient failures of its own).

``POST /_pipeline_tools/faults`` with ``{"target": "SageMaker.CreateProcessingJob", "code":
"ResourceLimitExceeded", "message": "...", "times": 1}`` registers one. It applies to the JSON
protocol's ``X-Amz-Target`` operations (SageMaker, Step Functions, CloudWatch Logs, ...), answered as
those services answer an error: HTTP 400 with ``{"__type": code, "message": ...}``
(https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization).
The emulator serves 127.0.0.1 only; this is a test aid, not an API of AWS.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

PATH = "/_pipeline_tools/faults"
_lock = threading.Lock()
_pending: dict[str, list[dict[str, Any]]] = {}


def register(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        fault = json.loads(environ["wsgi.input"].read(length) or b"{}")
        target, code = str(fault["target"]), str(fault["code"])
        times = int(fault.get("times", 1))
    except (KeyError, ValueError, TypeError) as error:
        body = json.dumps({"error": f"a fault needs target, code and optionally message and times: {error}"}).encode()
        start_response("400 Bad Request", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    with _lock:
        _pending.setdefault(target, []).extend([{"code": code, "message": str(fault.get("message", code))}] * times)
    start_response("204 No Content", [("Content-Length", "0")])
    return [b""]


def take(environ: dict[str, Any]) -> dict[str, Any] | None:
    """The fault to answer this request with, if one is pending for its operation (consumed)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if not target:
        return None
    with _lock:
        queue = _pending.get(target)
        return queue.pop(0) if queue else None


def respond(fault: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    body = json.dumps({"__type": fault["code"], "message": fault["message"]}).encode()
    start_response(
        "400 Bad Request",
        [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", fault["code"]), ("Content-Length", str(len(body)))],
    )
    return [body]


def inject(endpoint: str, ca_bundle: str | None, target: str, code: str, message: str = "", times: int = 1) -> None:
    """Register a fault on a running emulator (tests and benchmarks)."""
    import ssl
    import urllib.request

    request = urllib.request.Request(
        endpoint.rstrip("/") + PATH,
        data=json.dumps({"target": target, "code": code, "message": message or code, "times": times}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:  # noqa: S310 - loopback emulator
        answer.read()
