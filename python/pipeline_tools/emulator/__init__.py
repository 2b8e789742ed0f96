"""The embedded local AWS emulator: moto's server, patched where it falls short, over HTTPS.

Python API (what ``pipeline-tools local up|down|status`` uses)::

    from pipeline_tools.emulator import start_emulator, stop_emulator, read_state, client
    state = start_emulator(port=47145, directory=Path(".pipeline-tools"))  # idempotent
    s3 = client("s3")                                                       # boto3, verified TLS
    stop_emulator(Path(".pipeline-tools"))

The patches to moto live in :mod:`pipeline_tools.emulator.patches`, one module per gap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .state import ACCESS_KEY_ID, ACCOUNT_ID, DEFAULT_DIRECTORY, REGION, SECRET_ACCESS_KEY, read_state

_LIFECYCLE = {"endpoint_for", "running_state", "start_emulator", "stop_emulator"}


def __getattr__(name: str) -> Any:
    # Imported on first use: lifecycle pulls in TLS (cryptography, ~70 ms), and every Lambda
    # invoke and job process imports this package (for its runtime/launcher) without needing it.
    if name in _LIFECYCLE:
        from . import lifecycle

        return getattr(lifecycle, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ACCOUNT_ID",
    "REGION",
    "client",
    "client_kwargs",
    "endpoint_for",
    "job_directory",
    "read_state",
    "running_state",
    "start_emulator",
    "stop_emulator",
]


def client_kwargs(state: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for ``boto3.client(service, **kwargs)`` pointed at the emulator."""
    from botocore.config import Config

    state = state if state is not None else read_state(DEFAULT_DIRECTORY)
    return {
        "endpoint_url": state["endpoint"],
        "region_name": state.get("region", REGION),
        "aws_access_key_id": ACCESS_KEY_ID,
        "aws_secret_access_key": SECRET_ACCESS_KEY,
        "verify": state["ca_bundle"],
        "config": Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
    }


def client(service: str, state: dict[str, Any] | None = None) -> Any:
    """A boto3 client for ``service`` on the running emulator (test credentials, TLS verified
    against the emulator's CA, path-style S3). Raises EnvironmentProblem if none runs."""
    import boto3

    return boto3.session.Session().client(service, **client_kwargs(state))


def job_directory(kind: str, job_name: str, directory: Path = DEFAULT_DIRECTORY) -> Path:
    """Where the emulator keeps a SageMaker job's files (``kind``: ``processing`` or
    ``training``): ``algo-N/stdout.log``, ``algo-N/stderr.log`` (one folder per host), ``runner.log`` (the emulator's own steps around
    the container, timed) and, for a training job, ``metrics.json`` (``{"rounds": [{"round": 0,
    "train:rmse": ...}], "final": {"train:rmse": ...}}``)."""
    return Path(directory) / "jobs" / kind / job_name
