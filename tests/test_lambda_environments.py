"""The emulator's Lambda execution environments (patches/lambda_invoke + lambda_runtime): real
runtime processes, reused while warm as on AWS. Invokes through moto and Step Functions are
in tests/test_emulator.py; these call the runner directly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipeline_tools.emulator.patches import lambda_invoke
from pipeline_tools.emulator.patches.lambda_invoke import POOL, run_handler

from .conftest_emulator import zip_files

HANDLER = """
import os, time
INVOCATIONS = 0

def handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("exit"):
        os._exit(event["exit"])
    if event.get("fail"):
        raise ValueError(event["fail"])
    print("invocation", INVOCATIONS)
    return {"pid": os.getpid(), "invocations": INVOCATIONS, "remaining": context.get_remaining_time_in_millis()}
"""


@pytest.fixture
def invoke():
    code = zip_files({"app.py": HANDLER})

    def call(event, *, timeout=30.0, handler="app.handler", package=code, environment=None):
        return run_handler(package, handler, event, environment or {"STAGE": "test"}, timeout, "env-test")

    yield call
    POOL.close_all()


def test_a_warm_environment_is_reused_with_its_module_state(invoke):
    first, errored = invoke({})
    assert not errored and first["invocations"] == 1 and 0 < first["remaining"] <= 30_000
    second, _ = invoke({})
    assert (second["pid"], second["invocations"]) == (first["pid"], 2)  # same process, state kept
    other, _ = invoke({}, environment={"STAGE": "other"})  # another configuration: its own environment
    assert other["pid"] != first["pid"] and other["invocations"] == 1
    changed, _ = invoke({}, package=zip_files({"app.py": HANDLER + "\n# changed\n"}))  # new code: new environment
    assert changed["pid"] != first["pid"]


def test_a_handler_exception_is_a_function_error_and_the_environment_stays(invoke):
    first, _ = invoke({})
    error, errored = invoke({"fail": "no"})
    assert errored and error["errorType"] == "ValueError" and error["errorMessage"] == "no"
    assert error["stackTrace"] and all("lambda_runtime" not in frame for frame in error["stackTrace"])
    after, _ = invoke({})
    assert after["pid"] == first["pid"] and after["invocations"] == 3


def test_a_timeout_ends_the_environment(invoke):
    # The clock starts after the Init phase (see below): a slow cold start cannot time this call out.
    first, _ = invoke({}, timeout=1.5)  # the Timeout is configuration: same value, same environment
    timed_out, errored = invoke({"sleep": 5}, timeout=1.5)
    assert errored and timed_out == {"errorMessage": "Task timed out after 1.50 seconds", "errorType": "Sandbox.Timedout"}
    after, _ = invoke({}, timeout=1.5)
    assert after["pid"] != first["pid"] and after["invocations"] == 1  # a fresh environment


def test_a_runtime_that_dies_is_a_runtime_exit_error(invoke):
    died, errored = invoke({"exit": 3})
    assert errored and died["errorType"] == "Runtime.ExitError"
    assert invoke({})[0]["invocations"] == 1


def test_an_import_error_is_the_invocations_function_error(invoke):
    error, errored = invoke({}, handler="missing.handler")
    assert errored and error["errorType"] == "ModuleNotFoundError"


def test_an_idle_environment_that_died_is_replaced_not_reported(invoke):
    import os
    import signal

    first, _ = invoke({})
    os.kill(first["pid"], signal.SIGKILL)  # e.g. the OOM killer, while idle
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "State:\tZ" not in _proc_status(first["pid"]):
        time.sleep(0.01)  # until the kernel has ended it
    after, errored = invoke({})
    assert not errored and after["pid"] != first["pid"] and after["invocations"] == 1


def _proc_status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return "State:\tZ (gone)"


SLOW_INIT = "import time\ntime.sleep(1.5)  # static code: SDK clients, models...\n" + HANDLER


def test_the_init_phase_does_not_count_against_the_function_timeout(invoke):
    """As on AWS (lambda-runtime-environment.html): Init has its own limit (10 s on demand)."""
    result, errored = invoke({}, timeout=1.0, package=zip_files({"app.py": SLOW_INIT}))
    assert not errored, result
    assert result["invocations"] == 1 and result["remaining"] > 500  # the handler's clock started after init


def test_an_init_longer_than_its_limit_goes_on_under_the_function_timeout(invoke, monkeypatch):
    monkeypatch.setattr(lambda_invoke, "INIT_TIMEOUT_SECONDS", 0.5)
    timed_out, errored = invoke({}, timeout=0.5, package=zip_files({"app.py": SLOW_INIT}))
    assert errored and timed_out["errorType"] == "Sandbox.Timedout"
    done, errored = invoke({}, timeout=5.0, package=zip_files({"app.py": SLOW_INIT}))
    assert not errored and 0 < done["remaining"] < 5000 - 400  # the init's overrun was charged


def test_an_init_error_is_the_invocations_error_and_init_is_retried(invoke):
    broken = zip_files({"app.py": "raise RuntimeError('no config')\n" + HANDLER})
    for _ in range(2):
        error, errored = invoke({}, package=broken)
        assert errored and (error["errorType"], error["errorMessage"]) == ("RuntimeError", "no config")
    assert not any(POOL._idle.values()), "an environment whose init failed is not kept"


def test_a_warm_environment_expires_after_its_idle_time(invoke, monkeypatch):
    monkeypatch.setenv(lambda_invoke.IDLE_SECONDS_ENV, "1.0")
    first, _ = invoke({})
    assert invoke({})[0]["pid"] == first["pid"]  # warm within the idle time
    time.sleep(1.5)
    after, errored = invoke({})
    assert not errored and after["pid"] != first["pid"] and after["invocations"] == 1  # a cold start
    assert "State:\tZ" in _proc_status(first["pid"])  # the expired environment's runtime has ended
