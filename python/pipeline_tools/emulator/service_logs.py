"""Log events an AWS service writes into CloudWatch Logs, written into moto's logs backend in-process.

What moto 5.2.5 lacks: nothing it runs writes logs. On AWS, SageMaker sends each job container's
stdout and stderr to CloudWatch Logs and Lambda sends each execution environment's output there,
with the role's permissions and without a request of the caller's (see :mod:`.job_logs` and
:mod:`.lambda_logs` for the names and lines). Here those writes go straight into moto's
``LogsBackend`` of the job's or function's account and region: the log group is created if it is
missing (as the services create it; retention and KMS key left as they are), the stream if it is
missing, and the events put in time order, so DescribeLogStreams, GetLogEvents, FilterLogEvents
and ``aws logs tail`` read them as on AWS. The backend's state is journaled by the durable store's
background flush (``durable.BACKGROUND_SERVICES``).

:class:`LineTail` reads the complete lines a process appended to a file since the last read (the
job runners and the Lambda runtime write their output to files).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Iterable

# CloudWatch Logs: "The maximum event size is 256 KB (1,048,576 bytes per batch ...)" and each
# event has "a minimum length of 1"
# (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html,
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_InputLogEvent.html);
# the 256 KB count the message plus 26 bytes.
MAX_MESSAGE_BYTES = 256 * 1024 - 26

_lock = threading.Lock()  # moto's LogStream.put_log_events is not thread-safe (its own TODO)


def now_ms() -> int:
    return int(time.time() * 1000)


def backend(account: str, region: str):
    from moto.logs.models import logs_backends

    return logs_backends[account][region]


def group_exists(account: str, region: str, group: str) -> bool:
    return group in backend(account, region).groups


def write(account: str, region: str, group: str, stream: str, events: Iterable[tuple[int, str]]) -> int:
    """Put ``events`` (``(timestamp ms, message)``) into ``group``/``stream``, creating either if
    missing; empty messages are left out, long ones cut to CloudWatch's limit. Returns the count."""
    batch = [
        {"timestamp": int(timestamp), "message": _fit(message)}
        for timestamp, message in sorted(events, key=lambda event: event[0])
        if message
    ]
    with _lock:
        logs = backend(account, region)
        logs.ensure_log_group(group)
        logs.ensure_log_stream(group, stream)
        if batch:
            logs.put_log_events(group, stream, batch)
    return len(batch)


def _fit(message: str) -> str:
    data = message.encode("utf-8", errors="replace")
    if len(data) <= MAX_MESSAGE_BYTES:
        return message
    return data[:MAX_MESSAGE_BYTES].decode("utf-8", errors="ignore")


class LineTail:
    """The lines appended to ``path`` since the last :meth:`read`: complete lines only, unless
    ``final`` (then a last line without its newline too). A file replaced or truncated is read
    again from its start."""

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path = Path(path)
        self.offset = offset
        self.partial = b""
        self.inode: int | None = None

    def read(self, final: bool = False) -> list[str]:
        try:
            with open(self.path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                if self.inode is not None and (stat.st_ino != self.inode or stat.st_size < self.offset):
                    self.offset, self.partial = 0, b""
                self.inode = stat.st_ino
                handle.seek(self.offset)
                data = handle.read()
                self.offset = handle.tell()
        except FileNotFoundError:
            data = b""
        data = self.partial + data
        *lines, self.partial = data.split(b"\n")
        if final and self.partial:
            lines.append(self.partial)
            self.partial = b""
        return [line.rstrip(b"\r").decode("utf-8", errors="replace") for line in lines]
