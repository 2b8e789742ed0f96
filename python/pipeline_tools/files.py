"""All-or-nothing file and directory writes: a reader sees the old content or the new, never half.

Everything the CLI and the emulator write for others to read (reports, summaries, pictures, the
emulator's state and certificates, synthesized stacks, exported modules) goes through here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


def write_atomic(path: Path | str, data: str | bytes, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same directory and a rename.

    ``mode``: the file's permissions; default as ``open()`` would give (0o666 less the umask),
    since mkstemp's 0o600 is right only for secrets (pass ``mode=0o600`` for those).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(temp, mode)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def replacing_directory(target: Path) -> Iterator[Path]:
    """Yield an empty staging directory beside ``target``; if the block succeeds, it replaces
    ``target`` as a whole. If it fails, ``target`` is untouched and the staging is removed."""
    parent = target.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
