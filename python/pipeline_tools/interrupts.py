"""Ctrl-C that cannot be lost while the CLI waits on something long (an execution it watches).

Python turns SIGINT into ``KeyboardInterrupt`` at the next bytecode the main thread runs. When that
bytecode belongs to a finalizer (``__del__``, an ``io`` object's close on collection, a weakref
callback), Python cannot raise it anywhere: it prints "Exception ignored in ..." and drops it
(https://docs.python.org/3/reference/datamodel.html#object.__del__: "exceptions that occur during
their execution are ignored"). A watch loop polls over HTTPS, so every poll finalizes urllib3
responses (``io.IOBase`` subclasses whose ``close()`` is Python code); on a busy machine, with a
second thread importing libraries, a Ctrl-C landed in one and `run` watched the execution to its
end (issue 27).

:func:`ctrl_c_flag` keeps the interrupt as a flag as well as the exception: a loop that checks the
flag stops even when the exception was swallowed.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator


@contextlib.contextmanager
def ctrl_c_flag() -> Iterator[threading.Event]:
    """While inside, SIGINT sets the yielded event and raises ``KeyboardInterrupt`` as usual; the
    previous handler comes back on exit. Off the main thread (where Python delivers signals and
    only where a handler may be set) the event is never set: the caller's thread sees no signal."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:  # started with Ctrl-C ignored (e.g. `nohup`, `&` in some shells): keep it so
        yield flag
        return

    def interrupted(signum, frame):
        flag.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
