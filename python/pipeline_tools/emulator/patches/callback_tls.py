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

With IAM enforcement on, a call made while a state of an execution is evaluated
(:mod:`.sfn_execution_role`) goes out with the state machine role's credentials instead: one role
session per execution, assumed as ``states.amazonaws.com`` with the source keys Step Functions
sends, and one client per (region, service, execution). A role the service may not assume raises
``AccessDeniedException`` from the client, which fails the task.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import threading
from typing import Any

from ..authz.enforce import RoleSessions

ORIGINAL_QUALNAME = "boto_client_for"

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()
_session: Any = None
_session_lock = threading.Lock()


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    from ..authz import enforce

    if enforce.enabled():
        from . import sfn_execution_role

        context = sfn_execution_role.current()
        if context is not None:
            return _role_client(region, service, context)
    with _clients_lock:
        client = _clients.get((region, service))
        if client is None:
            client = _clients[(region, service)] = _new_client(region, service)
    return client


_role_clients: dict[tuple[str, str, str], Any] = {}
_SESSIONS = RoleSessions()


def _role_client(region: str, service: str, context: Any) -> Any:
    """A client signed by the state machine role's session for this execution."""
    from botocore.exceptions import ClientError

    from ..authz import enforce

    key = (region, service, context.execution_arn)
    with _clients_lock:
        client = _role_clients.get(key)
    if client is not None:
        return client
    try:
        credentials = _SESSIONS.get(
            context.execution_arn,
            lambda: enforce.credentials_for(
                "states.amazonaws.com",
                context.role_arn,
                context.execution_arn.rsplit(":", 1)[-1],
                source_account=enforce.ACCOUNT.account,
                source_arn=context.state_machine_arn,
                execution_arn=context.execution_arn,
            ),
        )
    except enforce.AssumeRoleDenied as denied:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": str(denied)}, "ResponseMetadata": {"HTTPStatusCode": 400}},
            "AssumeRole",
        ) from None
    client = _new_client(region, service, credentials.boto_kwargs())
    with _clients_lock:
        _role_clients[key] = client
    return client


def _new_client(region: str, service: str, credentials: dict[str, str] | None = None) -> Any:
    import boto3
    from botocore.config import Config
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    endpoint = os.environ.get("PIPELINE_TOOLS_EMULATOR_ENDPOINT") or f"https://localhost:{moto_server_port()}"
    keys = credentials or {"aws_access_key_id": "ak", "aws_secret_access_key": "sk"}
    # One boto3 session for every client built here: a client from a session that has loaded the
    # service's model costs ~10 ms, from a new session ~0.2-0.3 s (role clients are built per
    # execution). Sessions are not thread-safe, so clients are built under a lock.
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client(
            **keys,
            region_name=region,
            service_name=service,
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
