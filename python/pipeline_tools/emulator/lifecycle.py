"""Start, stop and probe the background emulator process (what ``pipeline-tools local`` drives).

The server runs as ``python -m pipeline_tools.emulator.serve`` in its own session, so Ctrl-C
in the terminal that ran ``local up`` does not take it down; its pid, port, CA bundle and
log are recorded in ``<directory>/emulator.json`` (see :mod:`.state`). What it holds (the
account's resources, objects, executions) is durable in ``<directory>/emulator/`` (see
:mod:`.durable`): it outlives the process; :func:`reset_emulator_state` wipes it on purpose.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

from ..errors import EnvironmentProblem, UsageError
from .state import (
    ACCOUNT_ID,
    DEFAULT_DIRECTORY,
    LOG_FILE,
    PORT_FILE,
    REGION,
    SERVE_MODULE,
    is_emulator_process,
    load_state_file,
    read_state,
    state_path,
    write_state,
)
from . import durable
from .jobs.common import read_tail
from .env import AWS_CONFIG_FILE, write_aws_config
from .tls import ensure_certificates

HOST = "127.0.0.1"  # loopback only: the emulator accepts any credentials, so it must not be reachable
HEALTH_PATH = "/_pipeline_tools/health"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0


def endpoint_for(port: int) -> str:
    return f"https://{HOST}:{port}"


def start_emulator(port: int = 47145, directory: Path = DEFAULT_DIRECTORY) -> dict[str, Any]:
    """Start the emulator on ``127.0.0.1:port`` (or find the one already running) and return its state.

    ``port=0``: the server binds a port the kernel picks (free at that moment, with no window for
    another process to take it) and reports it; the state's ``port``/``endpoint`` carry it.
    Idempotent: if an emulator recorded in ``directory`` answers, its state is returned as is
    (whatever its port). A busy port raises :class:`EnvironmentProblem` naming the fix.
    """
    if int(port) != 0 and not 1024 <= int(port) <= 65535:
        raise UsageError(f"port {port} is out of range", "pick a port between 1024 and 65535, or 0 for any free one")
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    with _lock(directory):
        running = running_state(directory)
        if running is not None:
            return running
        _clear_stale_state(directory)
        durable.read_header(directory)  # an incompatible state directory: refused, with the fix
        holder = durable.holder(directory)
        if holder is not None:
            raise durable.held_message(directory, holder)
        if port:
            _require_free_port(port)
        tls = ensure_certificates(directory)
        log_path = directory / LOG_FILE
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", SERVE_MODULE, "--host", HOST, "--port", str(port), "--state-dir", str(directory)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the CLI's Ctrl-C; its own process group for `down`
                close_fds=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            code = process.poll()
            if code is not None:
                raise _start_failure(port, log_path, code)
            bound = _bound_port(directory, process.pid)
            health = _health(bound, tls.ca) if bound else None
            if health is not None and health.get("pid") == process.pid:
                port = bound
                break
            if time.monotonic() > deadline:
                _terminate(process.pid)
                raise EnvironmentProblem(
                    f"local emulator did not answer on {endpoint_for(port)} within {START_TIMEOUT_SECONDS:.0f} s",
                    f"see {log_path}",
                )
            time.sleep(0.1)
        restored = health.get("durable") or {}
        state = {
            "endpoint": endpoint_for(port),
            "port": int(port),
            "aws_config": str(write_aws_config(directory, endpoint_for(port), REGION)),
            "pid": process.pid,
            "ca_bundle": str(tls.ca),
            "region": REGION,
            "account_id": ACCOUNT_ID,
            # Since when its resources exist: the creation of its durable state (a local Terraform
            # state last written before that describes an account that is gone, operations/stack.py).
            "data_since": restored.get("created") or durable.created_at(directory) or time.time(),
            "log": str(log_path),
            "restored": {
                "seconds": restored.get("restore_seconds"),
                "interrupted": restored.get("interrupted", []),
                "warnings": restored.get("warnings", []),
            },
        }
        write_state(state, directory)
        return state


def stop_emulator(directory: Path = DEFAULT_DIRECTORY) -> bool:
    """Stop the emulator recorded in ``directory``; True if one was running.

    Only a process whose command line is our serve module (and port) is signalled, so a
    recycled pid is never hit. The state file is removed either way.
    """
    directory = Path(directory).resolve()
    with _lock(directory) if directory.is_dir() else contextlib.nullcontext():
        state = load_state_file(directory)
        stopped = False
        if state is not None and is_emulator_process(state["pid"], state.get("port")):
            _terminate(state["pid"])
            stopped = True
        for recorded in (state_path(directory), directory / PORT_FILE, directory / AWS_CONFIG_FILE):
            with contextlib.suppress(FileNotFoundError):
                recorded.unlink()
        return stopped


def reset_emulator_state(directory: Path = DEFAULT_DIRECTORY) -> tuple[bool, bool]:
    """Stop the emulator recorded in ``directory`` (if any) and delete its durable state and job
    files. Returns (stopped, wiped). Refuses while another server still holds the state."""
    import shutil

    directory = Path(directory).resolve()
    stopped = stop_emulator(directory) if directory.is_dir() else False
    holder = durable.holder(directory)
    if holder is not None:
        raise durable.held_message(directory, holder)
    wiped = durable.wipe(directory)
    if (directory / "jobs").is_dir():
        shutil.rmtree(directory / "jobs", ignore_errors=True)
    return stopped, wiped


def running_state(directory: Path = DEFAULT_DIRECTORY) -> dict[str, Any] | None:
    """The state of the emulator recorded in ``directory`` if it runs and answers, else None."""
    try:
        state = read_state(Path(directory))
    except EnvironmentProblem:
        return None
    health = _health(state["port"], Path(state["ca_bundle"]))
    if health is None or health.get("pid") != state["pid"]:
        return None
    return state


def _bound_port(directory: Path, pid: int) -> int | None:
    """The port the server process ``pid`` bound (from its port file), None until it has."""
    try:
        data = json.loads((directory / PORT_FILE).read_text())
    except (OSError, ValueError):
        return None
    return int(data["port"]) if isinstance(data, dict) and data.get("pid") == pid else None


def _health(port: int, ca: Path) -> dict[str, Any] | None:
    """A real HTTPS request to the server, verified against our CA: None until it answers."""
    try:
        context = ssl.create_default_context(cafile=str(ca))
        # No proxies: an HTTPS_PROXY in the environment must not intercept a loopback probe.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
        with opener.open(f"{endpoint_for(port)}{HEALTH_PATH}", timeout=2) as response:
            return json.loads(response.read())
    except (OSError, ValueError, ssl.SSLError):
        return None


def _require_free_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind((HOST, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                raise _busy(port) from None
            raise


def _busy(port: int) -> EnvironmentProblem:
    return EnvironmentProblem(
        f"port {port} on {HOST} is already in use",
        "stop whatever listens there, or pick another port with --port / PIPELINE_TOOLS_LOCAL_PORT",
    )


def _start_failure(port: int, log_path: Path, code: int) -> EnvironmentProblem:
    tail = read_tail(log_path)
    if "Address already in use" in tail:
        return _busy(port)
    last = tail.strip().splitlines()[-1] if tail.strip() else f"exit code {code}"
    if last.startswith("error: "):  # the server's own one-line refusal (state held, incompatible state)
        return EnvironmentProblem(last[len("error: "):])
    return EnvironmentProblem(f"local emulator exited while starting: {last}", f"see {log_path}")


def _terminate(pid: int) -> None:
    """SIGTERM the server's process group (it leads it: jobs it runs go too), then SIGKILL."""
    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    send(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    send(signal.SIGKILL)
    while _alive(pid) and time.monotonic() < deadline + 5:
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    # Reap it if it is our child (tests start and stop within one process), then probe.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.split(")")[-1].split()[0] != "Z"
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


def _clear_stale_state(directory: Path) -> None:
    for stale in (state_path(directory), directory / PORT_FILE):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()


@contextlib.contextmanager
def _lock(directory: Path) -> Iterator[None]:
    """Serialise concurrent `local up`/`down` in one directory (two terminals, parallel tests)."""
    with open(directory / "emulator.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
