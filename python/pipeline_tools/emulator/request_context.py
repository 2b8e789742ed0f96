"""Per-request facts moto does not carry into its backends (today: was the request made over TLS?).

The serve module's WSGI middleware records them for the thread that handles the request
(werkzeug's threaded server runs one request per thread); patches read them.
"""

from __future__ import annotations

import threading

_local = threading.local()


def set_secure_transport(secure: bool | None) -> None:
    _local.secure_transport = secure


def secure_transport() -> bool | None:
    """True/False for a request being served, None outside a request (e.g. a backend thread)."""
    return getattr(_local, "secure_transport", None)
