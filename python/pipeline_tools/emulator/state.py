"""The emulator's state file, ``.pipeline-tools/emulator.json``: the one contract with its readers.

``pipeline-tools local up`` writes it (atomically) once the server answers; ``synth --target
local``, ``deploy``, ``run`` and the tests read it with :func:`read_state`. Keys::

    {"endpoint": "https://127.0.0.1:PORT", "port": P, "pid": N, "ca_bundle": "<abs CA PEM>",
     "region": "us-east-1", "account_id": "123456789012", "log": "<abs path>",
     "data_since": <epoch seconds: when its account (the resources it holds) was created; a reset starts a new one>}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import EnvironmentProblem
from ..files import write_atomic

DEFAULT_DIRECTORY = Path(".pipeline-tools")
STATE_FILE = "emulator.json"
PORT_FILE = "emulator.port"  # written by the server once bound: {"pid", "port"} (port 0 asks the kernel for one)
LOG_FILE = "emulator.log"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account: what any test credentials map to
# Throwaway credentials for the emulator (moto accepts any; these are not secrets).
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"
SERVE_MODULE = "pipeline_tools.emulator.serve"

NOT_RUNNING = "local emulator is not running (run `pipeline-tools local up`)"


def state_path(directory: Path = DEFAULT_DIRECTORY) -> Path:
    return Path(directory) / STATE_FILE


def write_state(state: dict[str, Any], directory: Path = DEFAULT_DIRECTORY) -> Path:
    """Write the state file atomically (temp file + rename): readers never see half a file."""
    return write_atomic(state_path(directory), json.dumps(state, indent=2, sort_keys=True) + "\n")


def load_state_file(directory: Path = DEFAULT_DIRECTORY) -> dict[str, Any] | None:
    """The recorded state, whether or not the process still runs (None if absent or unreadable)."""
    try:
        data = json.loads(state_path(directory).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None


def is_emulator_process(pid: int, port: int | None = None) -> bool:
    """True if ``pid`` is alive and is an emulator we started (checked via its command line),
    so a recycled pid never gets mistaken for ours (and never gets signalled by ``down``)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        if not Path("/proc/self").exists():  # no procfs (macOS): fall back to "is alive"
            try:
                os.kill(pid, 0)
            except OSError:
                return False
            return True
        return False
    args = [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    if SERVE_MODULE not in args:
        return False
    asked = args[args.index("--port") + 1] if "--port" in args[:-1] else None
    return port is None or asked in (str(port), "0")  # "0": the kernel picked it (see the port file)


def read_state(directory: Path = DEFAULT_DIRECTORY) -> dict[str, Any]:
    """The running emulator's state, or :class:`EnvironmentProblem` if none runs."""
    state = load_state_file(directory)
    if state is None or not is_emulator_process(state["pid"], state.get("port")):
        raise EnvironmentProblem(NOT_RUNNING)
    return state
