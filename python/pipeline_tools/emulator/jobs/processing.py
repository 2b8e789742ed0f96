"""Run a SageMaker processing job locally: what moto only records.

SageMaker runs ``ContainerEntrypoint + ContainerArguments`` in the job's image with each S3
input copied to its ``LocalPath`` (under ``/opt/ml/processing/``) and uploads each output's
``LocalPath`` to its ``S3Uri`` when the entrypoint exits 0. Here the container is the local
Python: every ``/opt/ml/...`` path is mapped into a private temp root (in the arguments, and
via ``PROCESSING_INPUT_DIR``/``PROCESSING_OUTPUT_DIR`` for scripts that read those), and
``python``/``python3`` is this interpreter (which has pandas and numpy, as the
scikit-learn image does). Non-zero exit -> ``Failed`` with the stderr tail as ``FailureReason``.
A Python entrypoint's interpreter starts (importing numpy and pandas) while the inputs
download, and its code runs once they are all in place (:mod:`.launch`). What the emulator
did, with timings, is in ``<state dir>/jobs/processing/<job>/runner.log``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .common import HostGroup, JobProcess, RunnerLog, data_failure, download_prefix, host_directory, host_failure, job_s3_client, jobs_directory, runtime_exceeded, sandbox_env, upload_directory

CONTAINER_ROOT = "/opt/ml/"
PYTHON_NAMES = {"python", "python3", "python3.9", "python3.10", "python3.11", "python3.12"}
# What the scikit-learn processing image ships and scripts like transform.py import: a Python
# entrypoint starts importing these while its inputs download (see jobs/launch.py).
IMAGE_LIBRARIES = ("numpy", "pandas")


def map_path(value: str, root: Path) -> str:
    """``/opt/ml/processing/x`` -> ``<root>/opt/ml/processing/x`` (also inside ``--flag=/opt/ml/...``)."""
    return value.replace(CONTAINER_ROOT, f"{root}{CONTAINER_ROOT}") if CONTAINER_ROOT in value else value


def run(job: Any, stop: threading.Event) -> dict[str, Any]:
    """Run ``job`` (moto's FakeProcessingJob); returns the fields to set on it when it ends."""
    name = job.processing_job_name
    log_dir = jobs_directory("processing", name)
    note = RunnerLog(log_dir)
    root = Path(tempfile.mkdtemp(prefix=f"processing-{name}-"))
    container = None
    try:
        inputs: list[tuple[dict, Path]] = []
        for item in job.processing_inputs or []:
            source = item.get("S3Input")
            if not source:
                return _failed(f"ClientError: input {item.get('InputName')}: only S3Input is supported locally")
            inputs.append((item, Path(map_path(source["LocalPath"], root))))
        outputs = []
        for item in (job.processing_output_config or {}).get("Outputs", []):
            target = item.get("S3Output")
            if not target:
                return _failed(f"ClientError: output {item.get('OutputName')}: only S3Output is supported locally")
            local = Path(map_path(target["LocalPath"], root))
            local.mkdir(parents=True, exist_ok=True)
            outputs.append((local, target["S3Uri"]))

        spec = job.app_specification or {}
        command = list(spec.get("ContainerEntrypoint") or []) + list(spec.get("ContainerArguments") or [])
        if not command:
            return _failed("ClientError: the local emulator needs AppSpecification.ContainerEntrypoint")
        command = [map_path(arg, root) for arg in command]
        if Path(command[0]).name in PYTHON_NAMES:
            command[0] = sys.executable
        env = {**sandbox_env(root), **{str(k): str(v) for k, v in (job.environment or {}).items()}}
        data_inputs = [local for _, local in inputs if local.name != "code"] or [local for _, local in inputs]
        if data_inputs:
            env.setdefault("PROCESSING_INPUT_DIR", str(data_inputs[0]))
        if outputs:
            env.setdefault("PROCESSING_OUTPUT_DIR", str(outputs[0][0]))
        container = JobProcess(command, cwd=root, env=env, log_dir=host_directory(log_dir, "algo-1"), preload=IMAGE_LIBRARIES).start()

        s3 = job_s3_client(job)
        for item, local in inputs:
            uri = item["S3Input"]["S3Uri"]
            try:
                count = download_prefix(s3, uri, local)
            except ClientError as error:
                return _failed(data_failure("download", uri, error))
            if count == 0:
                return _failed(f"ClientError: no objects under {uri} (input {item.get('InputName')})")
            note(f"input {item.get('InputName')}: {count} object(s) from {uri}")

        limit = float((job.stopping_condition or {}).get("MaxRuntimeInSeconds") or 86400)
        note(f"container start: {' '.join(command)}")
        outcome = HostGroup({"algo-1": container}).run(timeout=limit, stop=stop)
        note(f"container exit: {outcome.code if outcome.kind == 'completed' else outcome.kind}" + (f" ({outcome.host}: {outcome.code})" if outcome.host else ""))
        if outcome.kind == "timeout":
            reason = runtime_exceeded("processing", limit)
            return {"processing_job_status": "Stopped", "failure_reason": reason, "exit_message": reason}
        if outcome.kind == "stopped":
            return {"processing_job_status": "Stopped", "exit_message": "Stopped by StopProcessingJob"}
        if outcome.kind == "failed":
            return _failed(host_failure(outcome.host, outcome.code, log_dir))
        for local, uri in outputs:
            try:
                note(f"output: {upload_directory(s3, local, uri)} object(s) to {uri}")
            except ClientError as error:
                return _failed(data_failure("upload", uri, error))
        return {"processing_job_status": "Completed", "exit_message": "Completed: exit code 0"}
    except Exception as error:  # noqa: BLE001 - any runner problem is the job's failure, not the server's
        return _failed(f"InternalServerError: {type(error).__name__}: {error}")
    finally:
        if container is not None:
            container.close()
        shutil.rmtree(root, ignore_errors=True)


def _failed(reason: str) -> dict[str, Any]:
    return {"processing_job_status": "Failed", "failure_reason": reason[:1024], "exit_message": reason[:1024]}
