"""moto's Step Functions interpreter calls back into the server over HTTPS.

What moto lacks: ``moto.stepfunctions.parser.asl.utils.boto_client.boto_client_for`` builds
clients for ``http://localhost:<MOTO_PORT>``, hard-coding plain HTTP. A server that only
speaks TLS (``moto_server -s``/``-c -k``) cannot run a Lambda, SQS, ... task then.

The patch: build the same client for the server's own HTTPS endpoint
(``PIPELINE_TOOLS_EMULATOR_ENDPOINT``, ``https://127.0.0.1:<port>``: no name lookup, no
``::1`` attempt first), verified against ``AWS_CA_BUNDLE``, and with path-style S3 so no
``<bucket>.localhost`` name has to resolve. ``boto_client_for`` is imported by name into each
task module, so every module that holds it is re-pointed.

Also cached: moto builds a new client from boto3's default session for every task (not
thread-safe across threads, and ~0.1 s each inside the busy server process: a Lambda task,
then each SageMaker task and its ``.sync`` poller). One client per (region, service) is built
once and shared; botocore clients are thread-safe, and the credentials are moto's fixed
``ak``/``sk`` whatever the state's credentials say, as in moto.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import threading
from typing import Any

ORIGINAL_QUALNAME = "boto_client_for"

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    with _clients_lock:
        client = _clients.get((region, service))
        if client is None:
            client = _clients[(region, service)] = _new_client(region, service)
    return client


def _new_client(region: str, service: str) -> Any:
    import boto3
    from botocore.config import Config
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    endpoint = os.environ.get("PIPELINE_TOOLS_EMULATOR_ENDPOINT") or f"https://localhost:{moto_server_port()}"
    return boto3.session.Session().client(
        aws_access_key_id="ak",
        region_name=region,
        service_name=service,
        aws_secret_access_key="sk",
        endpoint_url=endpoint,
        verify=os.environ.get("AWS_CA_BUNDLE") or True,
        config=Config(
            parameter_validation=False,
            retries={"max_attempts": 0, "total_max_attempts": 1},
            connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            s3={"addressing_style": "path"},
        ),
    )


def apply() -> None:
    import moto.stepfunctions.parser as parser
    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    # Import every interpreter module now, so none binds the original later.
    for info in pkgutil.walk_packages(parser.__path__, prefix=f"{parser.__name__}."):
        try:
            importlib.import_module(info.name)
        except Exception:  # noqa: BLE001 - optional parts (e.g. needing extras) are not our concern
            continue
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("moto.") and getattr(module, ORIGINAL_QUALNAME, None) is original:
            setattr(module, ORIGINAL_QUALNAME, boto_client_for)
