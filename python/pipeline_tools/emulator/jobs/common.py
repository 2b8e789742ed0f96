"""What the job runners share: S3 transfers against the emulator, the job directory, log tails."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

FAILURE_REASON_LIMIT = 1024  # SageMaker's FailureReason is at most 1,024 characters


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def s3_client() -> Any:
    """boto3 S3 client for this emulator (over its own HTTPS, like a job's role would call S3)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=os.environ.get("PIPELINE_TOOLS_EMULATOR_ENDPOINT"),
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        verify=os.environ.get("AWS_CA_BUNDLE") or True,
        config=Config(s3={"addressing_style": "path"}),
    )


def transfer_config() -> Any:
    """One plain GET or PUT per object, no threads.

    boto3's defaults split transfers over 8 MB into ranged GETs / multipart PUTs on 10 threads.
    moto answers every ranged GET by reading the whole object and concatenates multipart parts in
    memory, so against the emulator those defaults multiply memory and CPU instead of saving time.
    (transform.py shards its output, so no single object is large.)
    """
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=5 * 1024**3, use_threads=False)


def sandbox_env(root: Path | str, *, aws: bool = True) -> dict[str, str]:
    """The environment a Lambda handler or job process starts with: nothing inherited but PATH,
    its own HOME/TMPDIR under ``root``, and (``aws``) the emulator's endpoint, CA and test credentials
    so boto3 inside it talks to the emulator, never to AWS."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root),
        "TMPDIR": str(root),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }
    if aws:
        env.update(
            AWS_ENDPOINT_URL=os.environ.get("PIPELINE_TOOLS_EMULATOR_ENDPOINT", ""),
            AWS_CA_BUNDLE=os.environ.get("AWS_CA_BUNDLE", ""),
            AWS_ACCESS_KEY_ID=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            AWS_SECRET_ACCESS_KEY=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        )
    return env


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def download_prefix(s3: Any, uri: str, destination: Path) -> int:
    """Download every object under ``uri`` (an S3 prefix, or one key) into ``destination``,
    keeping the path below the prefix, as SageMaker's File mode does. Returns the count."""
    bucket, prefix = split_s3_uri(uri)
    destination.mkdir(parents=True, exist_ok=True)
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            if key.endswith("/"):
                continue
            relative = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
            target = (destination / relative).resolve()
            if not str(target).startswith(str(destination.resolve())):
                continue  # a key with ".." must not escape the job's root
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target), Config=transfer_config())
            count += 1
    return count


def upload_directory(s3: Any, source: Path, uri: str) -> int:
    bucket, prefix = split_s3_uri(uri)
    count = 0
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        key = "/".join(part for part in (prefix.rstrip("/"), path.relative_to(source).as_posix()) if part)
        s3.upload_file(str(path), bucket, key, Config=transfer_config())
        count += 1
    return count


def jobs_directory(job_name: str) -> Path:
    """``<state dir>/jobs/<job>/``, emptied: the job's ``stdout.log``, ``stderr.log`` (and, for
    training, ``metrics.json``), readable by the CLI. A name reused after a restart starts clean."""
    base = Path(os.environ.get("PIPELINE_TOOLS_EMULATOR_DIR", ".pipeline-tools")) / "jobs" / job_name
    base.mkdir(parents=True, exist_ok=True)
    for stale in base.iterdir():
        if stale.is_file():
            stale.unlink()
    return base


def tail(text: str, limit: int = FAILURE_REASON_LIMIT - 100) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def run_subprocess(
    args: list[str], *, cwd: Path, env: dict[str, str], log_dir: Path, timeout: float, stop: threading.Event
) -> tuple[int | None, str]:
    """Run ``args`` with stdout/stderr in ``log_dir/{stdout,stderr}.log``;
    returns (exit code, "") or (None, "stopped"|"timeout")."""
    with open(log_dir / "stdout.log", "ab") as log, open(log_dir / "stderr.log", "ab") as err:
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=err, start_new_session=False)
        deadline = time.monotonic() + timeout
        while True:
            code = process.poll()
            if code is not None:
                return code, ""
            if stop.is_set() or time.monotonic() > deadline:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                return None, "stopped" if stop.is_set() else "timeout"
            time.sleep(0.05)


def read_tail(path: Path, size: int = 4000) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - size))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""
