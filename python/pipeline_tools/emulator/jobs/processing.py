"""Run a SageMaker processing job locally: what moto only records.

SageMaker runs ``ContainerEntrypoint + ContainerArguments`` in the job's image with each S3
input copied to its ``LocalPath`` (under ``/opt/ml/processing/``) and uploads each output's
``LocalPath`` to its ``S3Uri`` when the entrypoint exits 0. Here the container is a local process
whose host folder is mounted at ``/opt/ml`` (``common.in_container``; where the machine does not
allow that, every ``/opt/ml/...`` path in the arguments is mapped into the host folder instead, and
``PROCESSING_INPUT_DIR``/``PROCESSING_OUTPUT_DIR`` name them for scripts that read those), and
``python``/``python3`` is the interpreter of the job's image's environment (``AppSpecification.ImageUri``:
e.g. sagemaker-scikit-learn 1.2-1's pandas, numpy, scipy and scikit-learn, see ``emulator/images``;
its ``bin`` first on PATH). An image the emulator does not know fails the job, saying which it knows.
A code input holding the SageMaker SDK's ``sourcedir.tar.gz`` with a ``requirements.txt`` (your
code, run by its ``runproc.sh``) gets an environment with those requirements on top of the image's
(``images.ensure_requirements``, built once), so its ``pip install -r requirements.txt`` finds
them installed and the image's own environment stays as the image ships it.
Non-zero exit -> ``Failed`` with the stderr tail as ``FailureReason``.
A Python entrypoint's interpreter starts (importing numpy and pandas) while the inputs
download, and its code runs once they are all in place (:mod:`.launch`). What the emulator
did, with timings, is in ``<state dir>/jobs/processing/<job>/runner.log``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .common import HostGroup, JobProcess, RunnerLog, container_paths, data_failure, image_python, distribute, download_keys, host_directory, host_failure, host_names, job_s3_client, jobs_directory, list_keys, network_isolated, output_encryption, record_instances, requirements_python, unreachable_requirements, runtime_exceeded, sandbox_env, split_s3_uri, upload_directory, write_json

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
    cluster = (job.processing_resources or {}).get("ClusterConfig") or {}
    hosts = host_names(cluster.get("InstanceCount") or 1)
    root = Path(tempfile.mkdtemp(prefix=f"processing-{name}-"))
    group = None
    try:
        inputs: list[dict] = []
        for item in job.processing_inputs or []:
            if not item.get("S3Input"):
                return _failed(f"ClientError: input {item.get('InputName')}: only S3Input is supported locally")
            inputs.append(item)
        outputs: list[tuple[str, str]] = []
        for item in (job.processing_output_config or {}).get("Outputs", []):
            target = item.get("S3Output")
            if not target:
                return _failed(f"ClientError: output {item.get('OutputName')}: only S3Output is supported locally")
            outputs.append((target["LocalPath"], target["S3Uri"]))

        spec = job.app_specification or {}
        command = list(spec.get("ContainerEntrypoint") or []) + list(spec.get("ContainerArguments") or [])
        if not command:
            return _failed("ClientError: the local emulator needs AppSpecification.ContainerEntrypoint")
        from ..images import ImageEnvironmentError, UnknownImage

        try:
            python = str(image_python(spec.get("ImageUri", ""), note))
        except (UnknownImage, ImageEnvironmentError) as error:
            return _failed(f"ClientError: {error}")
        mounted = container_paths() is not None  # the process sees its host folder at /opt/ml
        isolated = network_isolated(job)
        encryption = output_encryption((job.processing_output_config or {}).get("KmsKeyId"))

        def seen(value: str, host: str) -> str:
            """A container path as the job's process sees it."""
            return value if mounted else map_path(value, root / host)

        data_inputs = [i["S3Input"]["LocalPath"] for i in inputs if Path(i["S3Input"]["LocalPath"]).name not in ("code", "entrypoint")] or [i["S3Input"]["LocalPath"] for i in inputs]

        def host_process(host: str, python: str) -> JobProcess:
            host_root = root / host
            host_command = [seen(arg, host) for arg in command]
            if Path(host_command[0]).name in PYTHON_NAMES:
                host_command[0] = python
            for local, _ in outputs:
                Path(map_path(local, host_root)).mkdir(parents=True, exist_ok=True)
            config = write_container_files(host_root, job, host, hosts)
            # Network isolation: no AWS credentials or endpoint in the container (common.network_isolated).
            env = {**sandbox_env(host_root, aws=not isolated), **{str(k): str(v) for k, v in (job.environment or {}).items()}}
            env["PATH"] = f"{Path(python).parent}{os.pathsep}{env['PATH']}"  # `python` in a subprocess: the image's
            if data_inputs:
                env.setdefault("PROCESSING_INPUT_DIR", seen(data_inputs[0], host))
            if outputs:
                env.setdefault("PROCESSING_OUTPUT_DIR", seen(outputs[0][0], host))
            # /opt/ml/config/resourceconfig.json (mapped where /opt/ml is not the host folder)
            env.setdefault("PROCESSING_RESOURCE_CONFIG", seen(CONTAINER_ROOT + "config/resourceconfig.json", host) if mounted else str(config))
            return JobProcess(host_command, cwd=host_root, env=env, log_dir=host_directory(log_dir, host), preload=IMAGE_LIBRARIES,
                              python=python, container_root=host_root / "opt" / "ml")

        # A Python entrypoint starts now and imports its libraries while the inputs download; any
        # other (your code's runproc.sh) starts once they are in place, when its requirements are known.
        early = Path(command[0]).name in PYTHON_NAMES
        processes = {host: host_process(host, python).start() for host in hosts} if early else {}
        group = HostGroup(processes)

        s3 = job_s3_client(job)
        received: dict[str, list[str]] = {host: [] for host in hosts}
        for item in inputs:
            source = item["S3Input"]
            uri = source["S3Uri"]
            try:
                keys = list_keys(s3, uri)
                if not keys:
                    return _failed(f"ClientError: no objects under {uri} (input {item.get('InputName')})")
                shares = distribute(keys, hosts, source.get("S3DataDistributionType"))
                bucket = split_s3_uri(uri)[0]
                for host, share in shares.items():
                    download_keys(s3, uri, share, Path(map_path(source["LocalPath"], root / host)))
                    received[host].extend(f"s3://{bucket}/{key}" for key in share)
            except ClientError as error:
                return _failed(data_failure("download", uri, error))
            note(f"input {item.get('InputName')}: {len(keys)} object(s) from {uri} ({source.get('S3DataDistributionType') or 'FullyReplicated'}: "
                 + ", ".join(f"{host} {len(share)}" for host, share in shares.items()) + ")")
        record_instances(log_dir, received)
        if not early:
            requirements = _requirements(inputs, root / hosts[0])
            if requirements and isolated:
                return _failed(unreachable_requirements(requirements))
            try:
                python = str(requirements_python(spec.get("ImageUri", ""), requirements, python, note))
            except ImageEnvironmentError as error:
                return _failed(f"ClientError: {error}")
            group.hosts.update({host: host_process(host, python) for host in hosts})
        note(f"/opt/ml: {'each host its own, mounted (a private mount namespace)' if mounted else 'mapped to the host folder in arguments and variables'}")

        limit = float((job.stopping_condition or {}).get("MaxRuntimeInSeconds") or 86400)
        note(f"container start on {len(hosts)} host(s){' (network-isolated: no AWS credentials inside)' if isolated else ''}: {' '.join(command)}")
        outcome = group.run(timeout=limit, stop=stop)
        note(f"container exit: {outcome.code if outcome.kind == 'completed' else outcome.kind}" + (f" ({outcome.host}: {outcome.code})" if outcome.host else ""))
        if outcome.kind == "timeout":
            reason = runtime_exceeded("processing", limit)
            return {"processing_job_status": "Stopped", "failure_reason": reason, "exit_message": reason}
        if outcome.kind == "stopped":
            return {"processing_job_status": "Stopped", "exit_message": "Stopped by StopProcessingJob"}
        if outcome.kind == "failed":
            return _failed(host_failure(outcome.host, outcome.code, log_dir))
        for local, uri in outputs:
            # Every host uploads its LocalPath to the same S3Uri, as on SageMaker, where two hosts
            # writing the same file name overwrite each other: the emulator refuses that instead.
            owners: dict[str, str] = {}
            for host in hosts:
                directory = Path(map_path(local, root / host))
                for path in (p for p in directory.rglob("*") if p.is_file()):
                    relative = path.relative_to(directory).as_posix()
                    if relative in owners:
                        return _failed(f"ClientError: output {uri}: {owners[relative]} and {host} both wrote {relative}; "
                                       "with several instances each host must write its own file names")
                    owners[relative] = host
            for host in hosts:
                try:
                    note(f"output from {host}: {upload_directory(s3, Path(map_path(local, root / host)), uri, encryption)} object(s) to {uri}")
                except ClientError as error:
                    return _failed(data_failure("upload", uri, error))
        return {"processing_job_status": "Completed", "exit_message": "Completed: exit code 0"}
    except Exception as error:  # noqa: BLE001 - any runner problem is the job's failure, not the server's
        return _failed(f"InternalServerError: {type(error).__name__}: {error}")
    finally:
        if group is not None:
            group.close()
        shutil.rmtree(root, ignore_errors=True)


def _requirements(inputs: list[dict], host_root: Path) -> str | None:
    """The requirements.txt of a code input holding the SDK's sourcedir.tar.gz (your code), if any."""
    import tarfile

    for item in inputs:
        folder = Path(map_path(item["S3Input"]["LocalPath"], host_root))
        archive = folder / "sourcedir.tar.gz"
        if archive.is_file():
            try:
                with tarfile.open(archive) as packed:
                    member = packed.extractfile("requirements.txt")
                    return member.read().decode() if member else None
            except (KeyError, tarfile.TarError):
                return None
        if (folder / "requirements.txt").is_file() and (folder.parent / "entrypoint").is_dir():
            return (folder / "requirements.txt").read_text()
    return None


def write_container_files(host_root: Path, job: Any, host: str, hosts: list[str]) -> Path:
    """What SageMaker Processing gives a container
    (https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html):
    ``/opt/ml/config/processingjobconfig.json`` (the job's request) and
    ``/opt/ml/config/resourceconfig.json`` (``{"current_host": "algo-1", "hosts": ["algo-1", ...]}``).
    Returns the resource config's local path."""
    config = host_root / "opt" / "ml" / "config"
    write_json(config / "processingjobconfig.json", {
        "ProcessingJobArn": job.arn,
        "ProcessingJobName": job.processing_job_name,
        "AppSpecification": job.app_specification,
        "Environment": job.environment or {},
        "ProcessingInputs": job.processing_inputs or [],
        "ProcessingOutputConfig": job.processing_output_config or {},
        "ProcessingResources": job.processing_resources or {},
        "RoleArn": job.role_arn,
        "StoppingCondition": job.stopping_condition or {},
    })
    write_json(config / "resourceconfig.json", {"current_host": host, "hosts": hosts})
    return config / "resourceconfig.json"


def _failed(reason: str) -> dict[str, Any]:
    return {"processing_job_status": "Failed", "failure_reason": reason[:1024], "exit_message": reason[:1024]}
