"""SageMaker job logs in CloudWatch Logs, as SageMaker writes them.

What moto 5.2.5 lacks: its SageMaker jobs write no logs (and the emulator's jobs, which really run,
kept each host's output in files only: ``<jobs dir>/<kind>/<job>/algo-N/{stdout,stderr}.log``).
On AWS "anything an algorithm container [...] sends to ``stdout`` or ``stderr`` is also sent to
Amazon CloudWatch Logs", one log stream per instance
(https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html):

=============================== ==========================================================
log group                       log stream
=============================== ==========================================================
``/aws/sagemaker/ProcessingJobs`` ``[processing-job-name]/[hostname]-[epoch_timestamp]``
``/aws/sagemaker/TrainingJobs``   ``[training-job-name]/algo-[instance-number-in-cluster]-[epoch_timestamp]``
``/aws/sagemaker/TransformJobs``  ``[transform-job-name]/[instance-id]-[epoch_timestamp]``
=============================== ==========================================================

A :class:`Shipper` runs beside each job (started by ``patches/sagemaker_jobs.start``): every
:data:`POLL_SECONDS` it reads the lines each host appended to its two files and puts them, each
with the time it was read, into the host's stream (:mod:`.service_logs`); when the job's hosts
have ended it reads what is left, before the job's status changes, so a job that is ``Completed``
has all its logs in CloudWatch. Processing and training hosts are ``algo-N``; a transform
instance gets an EC2-style instance id (``i-`` and 17 hex digits, fixed per job and host), the
emulator having no instances. The epoch is the job's start, in seconds.

With IAM enforcement, SageMaker writes as the job's role: each stream is authorized when it is
created (``logs:CreateLogGroup``, ``logs:CreateLogStream``, ``logs:PutLogEvents``,
``logs:DescribeLogStreams``, recorded for the execution that created the job); where the role may not
write, that host's logs are lost, as on AWS, and the job goes on.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from . import job_directory, service_logs
from .authz import service_side

POLL_SECONDS = 0.2
STREAMS = ("stdout.log", "stderr.log")  # one host's output, both sent (stdout and stderr)


def host_label(kind: str, job_arn: str, host: str) -> str:
    """How SageMaker names the host in its stream: ``algo-N``, or for a transform job an instance id."""
    if kind != "transform":
        return host
    return "i-" + hashlib.sha256(f"{job_arn}/{host}".encode()).hexdigest()[:17]


def stream_name(kind: str, job_name: str, job_arn: str, host: str, epoch: int) -> str:
    return f"{job_name}/{host_label(kind, job_arn, host)}-{epoch}"


class Shipper:
    """Tails one job's host files into CloudWatch Logs while it runs (:meth:`start`, :meth:`finish`)."""

    def __init__(self, kind: str, job_name: str, job_arn: str, started_epoch: int, *, role_arn: str | None = None, execution_arn: str | None = None) -> None:
        self.kind, self.job_name, self.job_arn, self.epoch = kind, job_name, job_arn, started_epoch
        self.account, self.region = job_arn.split(":")[4], job_arn.split(":")[3]
        self.group = service_side.JOB_LOG_GROUPS[kind]
        self.role_arn, self.execution_arn = role_arn, execution_arn
        # where the runner keeps the job's files (jobs.common.jobs_directory), read-only here
        self.directory = job_directory(kind, job_name, Path(os.environ.get("PIPELINE_TOOLS_EMULATOR_DIR", ".pipeline-tools")))
        self.hosts: dict[str, tuple[str, bool, list[service_logs.LineTail]]] = {}  # host -> (stream, writable, tails)
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> "Shipper":
        self._thread = threading.Thread(target=self._loop, name=f"job-logs-{self.kind}-{self.job_name}", daemon=True)
        self._thread.start()
        return self

    def finish(self) -> None:
        """Ship what is left (the hosts have ended) and stop."""
        self._done.set()
        if self._thread is not None:
            self._thread.join(10)
        self.ship(final=True)

    def _loop(self) -> None:
        # The first look waits one period: the runner empties the job's directory as it starts.
        while not self._done.wait(POLL_SECONDS):
            try:
                self.ship()
            except Exception as error:  # noqa: BLE001 - logs are a by-product; the job goes on
                print(f"[job logs] {self.kind} {self.job_name}: {type(error).__name__}: {error}", flush=True)

    def ship(self, final: bool = False) -> int:
        """One pass: new hosts get their stream, every host's new lines are put. Returns the count."""
        with self._lock:
            self._discover()
            count = 0
            for stream, writable, tails in self.hosts.values():
                stamp = service_logs.now_ms()
                lines = [line for tail in tails for line in tail.read(final)]
                if writable and lines:
                    count += service_logs.write(self.account, self.region, self.group, stream, [(stamp, line) for line in lines])
            return count

    def _discover(self) -> None:
        try:
            entries = sorted(p for p in self.directory.iterdir() if p.is_dir() and p.name.startswith("algo-"))
        except FileNotFoundError:
            return
        for path in entries:
            host = path.name
            if host in self.hosts or path.stat().st_mtime < self.epoch - 1:
                continue  # known, or left by an earlier job of this name (the runner empties it)
            stream = stream_name(self.kind, self.job_name, self.job_arn, host, self.epoch)
            exists = service_logs.group_exists(self.account, self.region, self.group)
            writable = service_side.job_log_stream(self.role_arn, self.kind, stream, self.execution_arn, group_exists=exists)
            if writable:
                service_logs.write(self.account, self.region, self.group, stream, [])  # the stream exists from the host's start
            self.hosts[host] = (stream, writable, [service_logs.LineTail(path / name) for name in STREAMS])
