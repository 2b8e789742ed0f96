"""Run a SageMaker training job for the built-in XGBoost algorithm locally.

As SageMaker does: each channel's S3 data is copied to ``<root>/input/data/<channel>/``
(File mode), the algorithm trains with the job's hyperparameters (strings, as SageMaker
passes them), and ``model.tar.gz`` holding ``xgboost-model`` lands at
``<S3OutputPath>/<job name>/output/model.tar.gz``. The training itself runs in a subprocess
(:mod:`.xgboost_train`) so ``MaxRuntimeInSeconds`` and StopTrainingJob can end it; that
process starts, importing xgboost, while the channels download. It runs with the interpreter of
the image's environment (``AlgorithmSpecification.TrainingImage``: sagemaker-xgboost 1.7-1 ->
xgboost 1.7.4, see ``emulator/images``), so the model is what that image writes; an image the
emulator does not know fails the job, saying which it knows.
Per-round metrics go to ``<state dir>/jobs/training/<job>/metrics.json``; ``FinalMetricDataList``
(``train:rmse``, ...) is what SageMaker reads from the logs with the algorithm's metric definitions
(:mod:`.metrics`).

Script mode (``sagemaker_program`` among the hyperparameters, as the SageMaker SDK's framework
estimators set it): the image runs your script instead, with the framework containers' contract
(:mod:`.script_mode`): your code unpacked into /opt/ml/code with its requirements.txt installed
(an environment on top of the image's, built once), ``--name value`` arguments, the ``SM_*``
variables, your host's folder at /opt/ml where the machine allows it; /opt/ml/model becomes
model.tar.gz, /opt/ml/output/data output.tar.gz, /opt/ml/output/failure the FailureReason, and the
job's ``MetricDefinitions`` read its logs.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from . import metrics, script_mode
from .common import CONTAINER_ML, HostGroup, JobProcess, RunnerLog, algorithm_module, container_paths, data_failure, image_python, distribute, download_keys, free_port, host_directory, host_failure, host_names, job_s3_client, jobs_directory, list_keys, network_isolated, output_encryption, put_file, record_instances, requirements_python, runtime_exceeded, unreachable_requirements, sandbox_env, split_s3_uri, tail, utcnow, write_json

# The algorithm's interpreter starts importing these while the channels download (jobs/launch.py).
ALGORITHM_LIBRARIES = ("numpy", "pandas", "xgboost")


def run(job: Any, stop: threading.Event) -> dict[str, Any]:
    """Run ``job`` (moto's FakeTrainingJob); returns the fields to set on it when it ends."""
    name = job.training_job_name
    log_dir = jobs_directory("training", name)
    note = RunnerLog(log_dir)
    image = (job.algorithm_specification or {}).get("TrainingImage", "")
    from ..images import ImageEnvironmentError, UnknownImage, resolve

    decoded = script_mode.decode_hyperparameters(job.hyper_parameters or {})
    script = str(decoded.get(script_mode.PROGRAM) or "") or None  # script mode: your program
    try:
        if script is None and not resolve(image).algorithm:
            return _failed(f"ClientError: the image {image!r} is not a built-in algorithm the local emulator trains with")
        python = str(image_python(image, note))
    except (UnknownImage, ImageEnvironmentError) as error:
        return _failed(f"ClientError: {error}")
    resources = job.resource_config or {}
    hosts = host_names(resources.get("InstanceCount") or 1)
    root = Path(tempfile.mkdtemp(prefix=f"training-{name}-"))
    group = None
    try:
        channels: list[tuple[str, str, str | None]] = []
        for channel in job.input_data_config or []:
            source = (channel.get("DataSource") or {}).get("S3DataSource") or {}
            if not source.get("S3Uri"):
                return _failed(f"ClientError: channel {channel.get('ChannelName')}: only S3DataSource is supported locally")
            channels.append((channel["ChannelName"], source["S3Uri"], source.get("S3DataDistributionType")))
        if script is None and "train" not in {channel for channel, _, _ in channels}:
            return _failed("ClientError: the XGBoost algorithm needs a 'train' channel")
        metrics_path = log_dir / "metrics.json"
        port = free_port() if len(hosts) > 1 else 0
        processes = {}
        for host in hosts if script is None else ():  # the built-in algorithm starts while the channels download
            host_root = root / host
            (host_root / "model").mkdir(parents=True)
            env = {
                # The built-in algorithm reads local files only, isolated or not. (A script-mode job would
                # get the emulator's credentials unless network-isolated: aws=not network_isolated(job).)
                **sandbox_env(host_root, aws=False),
                # each host is an instance of its own on SageMaker; here they share the cores
                "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // len(hosts)))),
                "TRAINING_JOB_NAME": name,
                "TRAINING_JOB_ARN": job.arn,
            }
            processes[host] = JobProcess(
                [python, algorithm_module("xgboost_train"), str(host_root / "spec.json")],
                cwd=host_root, env=env, log_dir=host_directory(log_dir, host), preload=ALGORITHM_LIBRARIES, python=python,
            ).start()
        group = HostGroup(processes)

        s3 = job_s3_client(job)
        received: dict[str, list[str]] = {host: [] for host in hosts}
        has_data: dict[str, dict[str, bool]] = {host: {} for host in hosts}
        for channel_name, uri, distribution in channels:
            try:
                keys = list_keys(s3, uri)
                if not keys:
                    return _failed(f"ClientError: no objects under {uri} (channel {channel_name})")
                shares = distribute(keys, hosts, distribution)
                bucket = split_s3_uri(uri)[0]
                for host, share in shares.items():
                    download_keys(s3, uri, share, root / host / "input" / "data" / channel_name)
                    received[host].extend(f"s3://{bucket}/{key}" for key in share)
                    has_data[host][channel_name] = bool(share)
            except ClientError as error:
                return _failed(data_failure("download", uri, error))
            note(f"channel {channel_name}: {len(keys)} object(s) from {uri} ({distribution or 'FullyReplicated'}: "
                 + ", ".join(f"{host} {len(share)}" for host, share in shares.items()) + ")")
        record_instances(log_dir, received)
        # The container leaves a host without data of a channel out of training ("Host algo-N not
        # being used for distributed training", sagemaker-xgboost-container distributed.rabit_run);
        # the others train together, the first of them (sorted) runs the tracker and saves the model.
        if script is not None:
            try:
                prepared = _prepare_script(job, script, decoded, image, python, root, hosts, [c for c, _, _ in channels], resources, s3, log_dir, note)
            except (script_mode.CodeProblem, ImageEnvironmentError) as error:
                return _failed(str(error) if isinstance(error, script_mode.CodeProblem) else f"ClientError: {error}")
            group.hosts.update(prepared)
            return _finish_script(job, name, root, hosts, group, stop, s3, log_dir, note)
        training_hosts = sorted(h for h in hosts if all(has_data[h].get(c, False) for c, _, _ in channels))
        if not training_hosts:
            return _failed("ClientError: No hosts received training data.")
        for host in hosts:
            write_container_files(root / host, job, host, hosts, resources)
            (root / host / "spec.json").write_text(
                json.dumps(
                    {
                        "channels": {c: str(root / host / "input" / "data" / c) for c, _, _ in channels},
                        "hyperparameters": job.hyper_parameters or {},
                        "model_dir": str(root / host / "model"),
                        "metrics_path": str(metrics_path),
                        "current_host": host,
                        "hosts": training_hosts,
                        "tracker_port": port,
                        "tracker_ready": str(root / "tracker.ready"),
                    }
                )
            )
        limit = float((job.stopping_condition or {}).get("MaxRuntimeInSeconds") or 86400)
        started = utcnow()
        note(f"algorithm start: built-in XGBoost on {len(hosts)} host(s)" + (f", tracker 127.0.0.1:{port}" if len(training_hosts) > 1 else ""))
        outcome = group.run(timeout=limit, stop=stop)
        seconds = max(1, int((utcnow() - started).total_seconds()))
        note(f"algorithm exit: {outcome.code if outcome.kind == 'completed' else outcome.kind}" + (f" ({outcome.host}: {outcome.code})" if outcome.host else ""))
        if outcome.kind == "timeout":
            # Stopped / MaxRuntimeExceeded: "The job stopped because it exceeded the maximum allowed
            # runtime" (API_SecondaryStatusTransition); no model is uploaded.
            return {
                "training_job_status": "Stopped",
                "secondary_status": "MaxRuntimeExceeded",
                "failure_reason": runtime_exceeded("training", limit),
                "training_time_in_seconds": seconds,
                "billable_time_in_seconds": seconds * len(hosts),
            }
        if outcome.kind == "stopped":
            return {"training_job_status": "Stopped", "secondary_status": "Stopped", "training_time_in_seconds": seconds}
        if outcome.kind == "failed":
            return _failed(host_failure(outcome.host, outcome.code, log_dir))

        # The model, once, from the first training host (the master saves it: is_master in the
        # container's algorithm_mode/train.py).
        model_dir = root / training_hosts[0] / "model"
        output_path = (job.output_data_config or {})["S3OutputPath"].rstrip("/")
        artifact_uri = f"{output_path}/{name}/output/model.tar.gz"
        archive = root / "model.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted(model_dir.iterdir()):
                tar.add(path, arcname=path.name)
        bucket, key = split_s3_uri(artifact_uri)
        try:
            put_file(s3, archive, bucket, key, output_encryption((job.output_data_config or {}).get("KmsKeyId")))
        except ClientError as error:
            return _failed(data_failure("upload", artifact_uri, error))
        note(f"model: {artifact_uri} (from {training_hosts[0]})")

        # As SageMaker: the algorithm's metric definitions over what the training hosts logged.
        final = metrics.final_values(metrics.xgboost_definitions(), [log_dir / training_hosts[0] / "stdout.log"])
        now = utcnow()
        return {
            "training_job_status": "Completed",
            "secondary_status": "Completed",
            "model_artifacts": {"S3ModelArtifacts": artifact_uri},
            "final_metric_data_list": [
                {"MetricName": metric, "Value": float(value), "Timestamp": now}
                for metric, value in final.items()
            ],
            "training_time_in_seconds": seconds,
            "billable_time_in_seconds": seconds * len(hosts),
        }
    except Exception as error:  # noqa: BLE001 - any runner problem is the job's failure, not the server's
        return _failed(f"InternalServerError: {type(error).__name__}: {error}")
    finally:
        if group is not None:
            group.close()
        shutil.rmtree(root, ignore_errors=True)


def _prepare_script(job, script, decoded, image, python, root, hosts, channels, resources, s3, log_dir, note) -> dict[str, JobProcess]:
    """Script mode, once the channels are in place: stage the code on every host (from the code
    channel or an S3 URI), install its requirements.txt (once, on top of the image's environment),
    and make each host's process: ``python <program> --name value ...`` in /opt/ml/code."""
    from ..images import resolve

    submit = str(decoded.get(script_mode.SUBMIT_DIR) or "")
    mounted = container_paths() is not None
    requirements = None
    for host in hosts:
        host_root = root / host
        if submit.startswith("s3://"):
            bucket, key = split_s3_uri(submit)
            archive = host_root / "code-download" / script_mode.CODE_ARCHIVE
            archive.parent.mkdir(parents=True, exist_ok=True)
            try:
                with open(archive, "wb") as handle:
                    shutil.copyfileobj(s3.get_object(Bucket=bucket, Key=key)["Body"], handle)
            except ClientError as error:
                raise script_mode.CodeProblem(data_failure("download", submit, error)) from None
        elif submit.startswith(CONTAINER_ML + "/"):
            archive = host_root / submit[len(CONTAINER_ML) + 1 :]
        else:
            raise script_mode.CodeProblem(f"ClientError: sagemaker_submit_directory {submit!r} is neither an S3 URI nor under /opt/ml")
        if not archive.is_file():
            raise script_mode.CodeProblem(f"ClientError: the training code {submit} is not there (is the code channel in InputDataConfig?)")
        requirements = script_mode.stage_code(archive, host_root / "code", script)
    if requirements and network_isolated(job):
        raise script_mode.CodeProblem(unreachable_requirements(requirements))
    python = str(requirements_python(image, requirements, python, note))
    input_data_config = {
        c["ChannelName"]: {k: v for k, v in c.items() if k not in ("ChannelName", "DataSource")}
        | {"S3DistributionType": ((c.get("DataSource") or {}).get("S3DataSource") or {}).get("S3DataDistributionType", "FullyReplicated")}
        for c in job.input_data_config or []
    }
    processes = {}
    for host in hosts:
        host_root = root / host
        for folder in ("model", "output/data", "output/intermediate"):
            (host_root / folder).mkdir(parents=True, exist_ok=True)
        write_container_files(host_root, job, host, hosts, resources)
        ml = CONTAINER_ML if mounted else str(host_root)
        env = {
            # Network isolation: no AWS credentials or endpoint in the container (common.network_isolated).
            **sandbox_env(host_root, aws=not network_isolated(job)),
            **script_mode.environment(
                decoded=decoded, channels=channels, host=host, hosts=hosts,
                resource_config=json.loads((host_root / "input" / "config" / "resourceconfig.json").read_text()),
                input_data_config=input_data_config, image_repository=resolve(image).repository, ml=ml,
                job_name=job.training_job_name, cpus=script_mode.cpu_count(len(hosts)),
            ),
            "TRAINING_JOB_ARN": job.arn,
        }
        env["PATH"] = f"{Path(python).parent}{os.pathsep}{env['PATH']}"
        args = [python, script, *script_mode.to_cmd_args(script_mode.user_hyperparameters(decoded))]
        processes[host] = JobProcess(args, cwd=host_root / "code", env=env, log_dir=host_directory(log_dir, host), python=python, container_root=host_root)
    note(f"script mode: {script} ({'/opt/ml mounted per host' if mounted else '/opt/ml mapped to the host folder'})")
    return processes


def _finish_script(job, name, root, hosts, group, stop, s3, log_dir, note) -> dict[str, Any]:
    """Run your script on every host; then, as SageMaker: /opt/ml/model -> model.tar.gz (from
    algo-1, the leader; write it once there), /opt/ml/output/data -> output.tar.gz, the job's
    MetricDefinitions over every host's output, /opt/ml/output/failure -> FailureReason."""
    limit = float((job.stopping_condition or {}).get("MaxRuntimeInSeconds") or 86400)
    started = utcnow()
    note(f"container start on {len(hosts)} host(s)")
    outcome = group.run(timeout=limit, stop=stop)
    seconds = max(1, int((utcnow() - started).total_seconds()))
    note(f"container exit: {outcome.code if outcome.kind == 'completed' else outcome.kind}" + (f" ({outcome.host}: {outcome.code})" if outcome.host else ""))
    if outcome.kind == "timeout":
        return {"training_job_status": "Stopped", "secondary_status": "MaxRuntimeExceeded", "failure_reason": runtime_exceeded("training", limit),
                "training_time_in_seconds": seconds, "billable_time_in_seconds": seconds * len(hosts)}
    if outcome.kind == "stopped":
        return {"training_job_status": "Stopped", "secondary_status": "Stopped", "training_time_in_seconds": seconds}
    if outcome.kind == "failed":
        written = script_mode.failure_reason(root / outcome.host)
        return _failed(f"AlgorithmError: {tail(written)}" if written else host_failure(outcome.host, outcome.code, log_dir))
    output_path = (job.output_data_config or {})["S3OutputPath"].rstrip("/")
    artifacts = {}
    for folder, archive_name in (("model", "model.tar.gz"), ("output/data", "output.tar.gz")):
        source = root / hosts[0] / folder
        if archive_name == "output.tar.gz" and not any(source.rglob("*")):
            continue
        archive = root / archive_name
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted(source.iterdir()):
                tar.add(path, arcname=path.name)
        uri = f"{output_path}/{name}/output/{archive_name}"
        bucket, key = split_s3_uri(uri)
        try:
            put_file(s3, archive, bucket, key, output_encryption((job.output_data_config or {}).get("KmsKeyId")))
        except ClientError as error:
            return _failed(data_failure("upload", uri, error))
        artifacts[archive_name] = uri
        note(f"{folder}: {uri} (from {hosts[0]})")
    definitions = (job.algorithm_specification or {}).get("MetricDefinitions") or []
    logs = [log_dir / host / stream for host in hosts for stream in ("stdout.log", "stderr.log")]
    final = metrics.final_values(definitions, logs)
    now = utcnow()
    return {
        "training_job_status": "Completed",
        "secondary_status": "Completed",
        "model_artifacts": {"S3ModelArtifacts": artifacts["model.tar.gz"]},
        "final_metric_data_list": [{"MetricName": metric, "Value": value, "Timestamp": now} for metric, value in final.items()],
        "training_time_in_seconds": seconds,
        "billable_time_in_seconds": seconds * len(hosts),
    }


def write_container_files(host_root: Path, job: Any, host: str, hosts: list[str], resources: dict) -> None:
    """What SageMaker gives a training container under ``/opt/ml/input/config/``
    (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html):
    ``hyperparameters.json``, ``inputdataconfig.json`` (channel -> its settings) and
    ``resourceconfig.json`` (``current_host``, ``hosts``, ``network_interface_name``, the instance group)."""
    config = host_root / "input" / "config"
    write_json(config / "hyperparameters.json", job.hyper_parameters or {})
    write_json(config / "inputdataconfig.json", {
        c["ChannelName"]: {k: v for k, v in c.items() if k not in ("ChannelName", "DataSource")}
        | {"S3DistributionType": ((c.get("DataSource") or {}).get("S3DataSource") or {}).get("S3DataDistributionType", "FullyReplicated")}
        for c in job.input_data_config or []
    })
    instance_type = resources.get("InstanceType", "ml.m5.xlarge")
    write_json(config / "resourceconfig.json", {
        "current_host": host,
        "current_instance_type": instance_type,
        "current_group_name": "homogeneousCluster",
        "hosts": hosts,
        "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": instance_type, "hosts": hosts}],
        "network_interface_name": "eth0",
    })


def _failed(reason: str) -> dict[str, Any]:
    return {"training_job_status": "Failed", "secondary_status": "Failed", "failure_reason": reason[:1024]}
