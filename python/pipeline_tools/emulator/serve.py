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

    from ..files import write_atomic
    from . import patches
    from .state import PORT_FILE

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    applied = patches.apply_all()

    moto_app = DomainDispatcherApplication(create_backend_app)
    server.app = _middleware(moto_app, {"pid": os.getpid(), "port": port, "patches": applied})

    def stop(signum: int, frame: Any) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    write_atomic(directory / PORT_FILE, json.dumps({"pid": os.getpid(), "port": port}) + "\n")
    print(f"pipeline-tools local emulator (moto) on {endpoint}, patches: {', '.join(applied)}", flush=True)
    server.serve_forever()


def _not_ready(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    start_response("503 Service Unavailable", [("Content-Length", "0")])
    return [b""]


def _middleware(inner: Callable, health: dict[str, Any]) -> Callable:
    """Answer the health probe and injected faults (faults.py), and record per request whether it came over TLS."""
    body = json.dumps(health).encode()

    def app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("PATH_INFO") == faults.PATH and environ.get("REQUEST_METHOD") == "POST":
            return faults.register(environ, start_response)
        fault = faults.take(environ)
        if fault is not None:
            return faults.respond(fault, start_response)
        set_secure_transport(environ.get("wsgi.url_scheme") == "https")
        try:
            return inner(environ, start_response)
        finally:
            set_secure_transport(None)

    return app


if __name__ == "__main__":
    main()
