"""Ctrl-C while `run` watches an execution is never lost (issue 27).

The end-to-end case (the real CLI, a real execution on the emulator, a real SIGINT) is
tests/test_local_pipeline.py::test_ctrl_c_stops_watching_not_the_execution. It failed once on a
busy machine: the interrupt landed where Python cannot raise it, in a finalizer, and was dropped.
These tests put the SIGINT exactly there, which the end-to-end test can only hit by chance; the
Step Functions client is a stand-in (the real one is exercised end to end).
"""

from __future__ import annotations

import os
import signal
import threading

import pytest

from pipeline_tools.execution import Clients, watch
from pipeline_tools.interrupts import ctrl_c_flag


class _Finalized:
    """Sends SIGINT to this process from its own finalizer and keeps running Python code there, so
    Python turns it into KeyboardInterrupt inside ``__del__`` (as inside urllib3's response close)."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # bytecode after the signal: the handler runs here, in the finalizer
            pass


class _SfnStandIn:
    """RUNNING for ``polls`` describes, then SUCCEEDED; the first describe drops a _Finalized."""

    def __init__(self, polls: int) -> None:
        self.polls, self.described = polls, 0

    def describe_execution(self, executionArn):
        self.described += 1
        if self.described == 1:
            _Finalized()  # collected at once: its finalizer raises KeyboardInterrupt and Python drops it
        status = "RUNNING" if self.described <= self.polls else "SUCCEEDED"
        return {"status": status, "executionArn": executionArn, "name": "x"}

    def get_execution_history(self, **_):
        return {"events": []}


@pytest.fixture(autouse=True)
def ctrl_c_raises():
    """Python's own SIGINT handler, whatever this test process was started with: a runner started in
    the background by a non-interactive shell inherits SIGINT ignored (POSIX, Shell Command Language 2.11: "If job
    control is disabled ... when the shell executes an asynchronous list, the commands in the list shall
    inherit from the shell a signal action of ignored (SIG_IGN) for the SIGINT and SIGQUIT signals"), and then Python installs
    none (https://docs.python.org/3/library/signal.html: "SIGINT is translated into a KeyboardInterrupt
    exception if the parent process has not changed it")."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _clients(polls: int) -> Clients:
    return Clients(sfn=_SfnStandIn(polls), s3=None, target="local")


def test_python_drops_a_keyboard_interrupt_raised_in_a_finalizer(monkeypatch):
    """The premise: without the flag, the watch never sees the Ctrl-C and returns at the end."""
    dropped = []
    monkeypatch.setattr("sys.unraisablehook", lambda unraisable: dropped.append(unraisable.exc_type))
    clients = _clients(polls=3)
    description, _ = watch(clients, "arn:aws:states:us-east-1:123456789012:execution:m:x", lambda run: None, interval=0.01)
    assert description["status"] == "SUCCEEDED" and clients.sfn.described == 4
    assert dropped == [KeyboardInterrupt]  # "Exception ignored in: <function _Finalized.__del__ ...>"


def test_a_ctrl_c_swallowed_by_a_finalizer_still_stops_the_watch(monkeypatch):
    monkeypatch.setattr("sys.unraisablehook", lambda unraisable: None)
    clients = _clients(polls=50)
    with pytest.raises(KeyboardInterrupt), ctrl_c_flag() as interrupted:
        watch(clients, "arn:aws:states:us-east-1:123456789012:execution:m:x", lambda run: None, interval=0.01, interrupted=interrupted)
    assert clients.sfn.described == 1  # stopped before the next poll, not after 50


def test_the_previous_handler_comes_back():
    before = signal.getsignal(signal.SIGINT)
    with ctrl_c_flag():
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before


def test_started_with_ctrl_c_ignored_it_stays_ignored():
    """As `nohup` or a background job: the user asked for Ctrl-C not to stop it, so the flag keeps it so."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with ctrl_c_flag() as interrupted:
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGINT)
        assert not interrupted.is_set()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_off_the_main_thread_nothing_is_installed():
    """`demo` watches on a thread of its own; a handler can only be set on the main thread."""
    seen = {}

    def work():
        with ctrl_c_flag() as flag:
            seen["handler"] = signal.getsignal(signal.SIGINT)
            seen["set"] = flag.is_set()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == {"handler": signal.getsignal(signal.SIGINT), "set": False}
