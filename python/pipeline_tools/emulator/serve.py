"""The emulator server process: ``python -m pipeline_tools.emulator.serve --port P --state-dir DIR``.

``--port 0`` lets the kernel pick a free port when the socket is bound (no probe-then-bind race
with another process); the port bound is written to ``DIR/emulator.port`` (``{"pid", "port"}``)
before the server answers, and the health probe reports it too.

moto's WSGI app, with our patches applied (:mod:`.patches`), served over HTTPS on
127.0.0.1 only, with the certificate from :mod:`.tls`. Started in the background by
``pipeline-tools local up`` (:func:`pipeline_tools.emulator.lifecycle.start_emulator`),
which waits for :data:`HEALTH_PATH` to answer with this process's pid.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import ssl
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

from . import faults
from .lifecycle import HEALTH_PATH, HOST, endpoint_for
from .request_context import set_secure_transport
from .state import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from .tls import tls_files

# GET: what journaling has cost so far (durable.Store.costs: seconds, flushes, bytes by origin).
DURABLE_COST_PATH = "/_pipeline_tools/durable-cost"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline_tools.emulator.serve")
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.host != HOST:
        parser.error(f"refusing to listen on {args.host}: the emulator serves {HOST} only")

    directory = args.state_dir.resolve()
    tls = tls_files(directory)

    from werkzeug.serving import make_server
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(tls.cert), str(tls.key))
    # Bound first (port 0: the kernel's pick), so everything below knows the real port.
    server = make_server(args.host, args.port, _not_ready, threaded=True, request_handler=MotoRequestHandler, ssl_context=context)
    port = server.port
    endpoint = endpoint_for(port)
    # Everything in this process that talks back to the emulator (moto's interpreter, the job
    # runners) reads these: the port moto calls itself on, our CA, throwaway credentials.
    os.environ.update(
        {
            "MOTO_PORT": str(port),
            "PIPELINE_TOOLS_EMULATOR_ENDPOINT": endpoint,
            "PIPELINE_TOOLS_EMULATOR_DIR": str(directory),
            "AWS_CA_BUNDLE": str(tls.ca),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
            # Calls back into the emulator must never go through a proxy from the environment.
            "NO_PROXY": ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1,localhost"])),
            "no_proxy": ",".join(filter(None, [os.environ.get("no_proxy"), "127.0.0.1,localhost"])),
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)

    from moto.core.config import default_user_config
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from ..errors import EnvironmentProblem
    from ..files import write_atomic
    from . import durable, patches
    from .patches import sfn_durable_executions
    from .state import PORT_FILE

    # One server per state directory: the lock is held until this process ends (even by kill -9).
    try:
        lock = durable.acquire(directory, os.getpid(), port)  # noqa: F841 - held for the process's life
    except EnvironmentProblem as problem:
        print(f"error: {problem}", flush=True)
        sys.exit(2)

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    applied = patches.apply_all()
    store = durable.Store(directory)
    try:
        restored = store.open()
    except EnvironmentProblem as problem:
        print(f"error: {problem}", flush=True)
        sys.exit(2)
    for warning in restored["warnings"]:
        print(warning, flush=True)
    sfn_durable_executions.STORE = store
    store.start_background()

    class Dispatcher(DomainDispatcherApplication):
        def get_application(self, environ: dict[str, Any]) -> Any:
            app = super().get_application(environ)
            environ["pipeline_tools.service"] = getattr(app, "service", None)
            return app

    moto_app = Dispatcher(create_backend_app)
    health = {"pid": os.getpid(), "port": port, "patches": applied, "durable": restored}
    server.app = _middleware(moto_app, health, store)

    def stop(signum: int, frame: Any) -> None:
        store.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    write_atomic(directory / PORT_FILE, json.dumps({"pid": os.getpid(), "port": port}) + "\n")
    print(f"pipeline-tools local emulator (moto) on {endpoint}, patches: {', '.join(applied)}", flush=True)
    server.serve_forever()


def _not_ready(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    start_response("503 Service Unavailable", [("Content-Length", "0")])
    return [b""]


def _middleware(inner: Callable, health: dict[str, Any], store: Any = None) -> Callable:
    """Answer the health probe and injected faults (faults.py), record per request whether it came
    over TLS, and journal what a request may have changed before its response leaves (durable.py)."""
    body = json.dumps(health, default=str).encode()

    def app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("PATH_INFO") == DURABLE_COST_PATH and store is not None:
            cost = json.dumps(store.costs()).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(cost)))])
            return [cost]
        if environ.get("PATH_INFO") == faults.PATH and environ.get("REQUEST_METHOD") == "POST":
            return faults.register(environ, start_response)
        fault = faults.take(environ)
        if fault is not None:
            return faults.respond(fault, start_response)
        set_secure_transport(environ.get("wsgi.url_scheme") == "https")
        changes = store is not None and _may_change(environ)
        try:
            response = inner(environ, start_response)
            if changes and environ.get("pipeline_tools.service"):
                try:
                    store.flush([environ["pipeline_tools.service"]])  # durable before the caller hears "done"
                except Exception as error:  # noqa: BLE001 - the call happened; say loudly that it is not on disk
                    print(f"[durable] NOT SAVED: {environ['pipeline_tools.service']}: {type(error).__name__}: {error}", flush=True)
            return response
        finally:
            set_secure_transport(None)
            if store is not None:
                store.touch()

    return app


# Operations that only read (by name prefix); everything else may change state and is journaled.
_READS = ("Describe", "Get", "List", "BatchGet", "Head", "Lookup", "Filter", "Search", "Validate", "Simulate", "Test")
_CHANGING_GETS = {"GetSessionToken", "GetFederationToken"}  # STS: these issue credentials


def _may_change(environ: dict[str, Any]) -> bool:
    """Whether a request may change state: any S3-style PUT/POST/DELETE, any action not named as a read."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    target = environ.get("HTTP_X_AMZ_TARGET")
    action = target.rsplit(".", 1)[-1] if target else None
    if action is None and method == "POST":
        action = _query_action(environ)
    if action is None:
        return True
    return action in _CHANGING_GETS or not action.startswith(_READS)


def _query_action(environ: dict[str, Any]) -> str | None:
    """The Action of a query-protocol request (IAM, STS: in the query string or the form body),
    the body put back for moto to read."""
    import io
    from urllib.parse import parse_qs

    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= 1 << 20:
        return None
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    values = parse_qs(raw.decode("utf-8", "replace")).get("Action")
    return values[0] if values else None


if __name__ == "__main__":
    main()
