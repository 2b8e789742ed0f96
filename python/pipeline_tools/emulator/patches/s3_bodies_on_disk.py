"""S3 object bodies live in files on disk, written once and fsynced, not in the server's memory.

What moto does: every ``FakeKey`` keeps its body in a ``SpooledTemporaryFile`` (memory up to
the key buffer size, then an anonymous temporary file) and pickles the whole body with the key.
So a long-lived emulator grows with every object it stores, and nothing survives the process.

The patch gives each key a :class:`DiskBody` instead: the body is a file under
``.pipeline-tools/emulator/objects/`` (``BODIES``, set by :mod:`..durable` at start), written in
full and fsynced before the API call that wrote it returns. A body file is never rewritten: a new
value is a new file, so copies of a key (moto deep-copies keys for versions and CopyObject) can
share one safely; the key pickles only the file's name. Files no key refers to any more are
deleted by the durable store (at start, and after it compacts its journal).
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

BODIES: Path | None = None  # the objects/ directory; a private temporary one until the store sets it


def _directory() -> Path:
    global BODIES
    if BODIES is None:
        BODIES = Path(tempfile.mkdtemp(prefix="pipeline-tools-bodies-"))
    return BODIES


class DiskBody:
    """The file-like part of ``SpooledTemporaryFile`` moto's ``FakeKey`` uses, over a body file."""

    def __init__(self) -> None:
        self._pipeline_tools_body: str | None = None  # the file's name in BODIES (None: empty)
        self._position = 0

    def seek(self, position: int, whence: int = 0) -> int:
        self._position = position
        return position

    def truncate(self, size: int | None = None) -> None:
        self._pipeline_tools_body = None  # the next write starts a new file

    def write(self, data: bytes) -> int:
        name = uuid.uuid4().hex
        path = _directory() / name
        with open(path, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        self._pipeline_tools_body = name
        self._position = len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if self._pipeline_tools_body is None:
            return b""
        with open(_directory() / self._pipeline_tools_body, "rb") as handle:
            handle.seek(self._position)
            data = handle.read() if size is None or size < 0 else handle.read(size)
        self._position += len(data)
        return data

    def close(self) -> None:
        pass  # the file outlives the key object: the journal may still refer to it

    def __getstate__(self) -> dict[str, Any]:
        return {"_pipeline_tools_body": self._pipeline_tools_body, "_position": 0}


def apply() -> None:
    from moto.s3.models import FakeKey

    original_init = FakeKey.__init__

    def __init__(self: FakeKey, name: str, value: bytes, *args: Any, **kwargs: Any) -> None:
        original_init(self, name, b"", *args, **kwargs)
        self._value_buffer.close()
        self._value_buffer = DiskBody()
        self.value = value

    def __getstate__(self: FakeKey) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("lock", None)
        return state

    def __setstate__(self: FakeKey, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.lock = threading.Lock()

    FakeKey.__init__ = __init__
    FakeKey.__getstate__ = __getstate__
    FakeKey.__setstate__ = __setstate__
