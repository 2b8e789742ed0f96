"""Run a SageMaker training job for the built-in XGBoost algorithm locally.

As SageMaker does: each channel's S3 data is copied to ``<root>/input/data/<channel>/``
(File mode), the algorithm trains with the job's hyperparameters (strings, as SageMaker
passes them), and ``model.tar.gz`` holding ``xgboost-model`` lands at
``<S3OutputPath>/<job name>/output/model.tar.gz``. The training itself runs in a subprocess
(:mod:`.xgboost_train`) so ``MaxRuntimeInSeconds`` and StopTrainingJob can end it; that
process starts, importing xgboost, while the channels download.
Per-round metrics go to ``<state dir>/jobs/training/<job>/metrics.json``; the last round's values
become ``FinalMetricDataList`` (``train:rmse``, ...).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .common import HostGroup, JobProcess, RunnerLog, data_failure, download_prefix, host_directory, host_failure, job_s3_client, jobs_directory, put_file, runtime_exceeded, sandbox_env, split_s3_uri, utcnow

XGBOOST_IMAGE_MARKER = "xgboost"
# The algorithm's interpreter starts importing these while the channels download (jobs/launch.py).
ALGORITHM_LIBRARIES = ("numpy", "pandas", "xgboost")


def run(job: Any, stop: threading.Event) -> dict[str, Any]:
    """Run ``job`` (moto's FakeTrainingJob); returns the fields to set on it when it ends."""
    name = job.training_job_name
    log_dir = jobs_directory("training", name)
    note = RunnerLog(log_dir)
    image = (job.algorithm_specification or {}).get("TrainingImage", "")
    if XGBOOST_IMAGE_MARKER not in image:
        return _failed(f"ClientError: the local emulator trains the built-in XGBoost image only, not {image!r}")
    root = Path(tempfile.mkdtemp(prefix=f"training-{name}-"))
    algorithm = None
    try:
        sources: list[tuple[str, str, Path]] = []
        for channel in job.input_data_config or []:
            source = (channel.get("DataSource") or {}).get("S3DataSource") or {}
            if not source.get("S3Uri"):
                return _failed(f"ClientError: channel {channel.get('ChannelName')}: only S3DataSource is supported locally")
            sources.append((channel["ChannelName"], source["S3Uri"], root / "input" / "data" / channel["ChannelName"]))
        if "train" not in {name for name, _, _ in sources}:
            return _failed("ClientError: the XGBoost algorithm needs a 'train' channel")
        model_dir = root / "model"
        model_dir.mkdir()
        spec_path = root / "spec.json"
        metrics_path = log_dir / "metrics.json"
        env = {
            **sandbox_env(root, aws=False),  # the algorithm reads local files only
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(os.cpu_count() or 1)),
        }
        algorithm = JobProcess(
            [sys.executable, "-m", "pipeline_tools.emulator.jobs.xgboost_train", str(spec_path)],
            cwd=root, env=env, log_dir=host_directory(log_dir, "algo-1"), preload=ALGORITHM_LIBRARIES,
        ).start()

        s3 = job_s3_client(job)
        for channel_name, uri, local in sources:
            try:
                count = download_prefix(s3, uri, local)
            except ClientError as error:
                return _failed(data_failure("download", uri, error))
            if count == 0:
                return _failed(f"ClientError: no objects under {uri} (channel {channel_name})")
            note(f"channel {channel_name}: {count} object(s) from {uri}")
        spec_path.write_text(
            json.dumps(
                {
                    "channels": {channel_name: str(local) for channel_name, _, local in sources},
                    "hyperparameters": job.hyper_parameters or {},
                    "model_dir": str(model_dir),
                    "metrics_path": str(metrics_path),
                }
            )
        )
        limit = float((job.stopping_condition or {}).get("MaxRuntimeInSeconds") or 86400)
        started = utcnow()
        note("algorithm start: built-in XGBoost")
        outcome = HostGroup({"algo-1": algorithm}).run(timeout=limit, stop=stop)
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
                "billable_time_in_seconds": seconds,
            }
        if outcome.kind == "stopped":
            return {"training_job_status": "Stopped", "secondary_status": "Stopped", "training_time_in_seconds": seconds}
        if outcome.kind == "failed":
            return _failed(host_failure(outcome.host, outcome.code, log_dir))

        output_path = (job.output_data_config or {})["S3OutputPath"].rstrip("/")
        artifact_uri = f"{output_path}/{name}/output/model.tar.gz"
        archive = root / "model.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted(model_dir.iterdir()):
                tar.add(path, arcname=path.name)
        bucket, key = split_s3_uri(artifact_uri)
        try:
            put_file(s3, archive, bucket, key)
        except ClientError as error:
            return _failed(data_failure("upload", artifact_uri, error))
        note(f"model: {artifact_uri}")

        metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {"final": {}}
        now = utcnow()
        return {
            "training_job_status": "Completed",
            "secondary_status": "Completed",
            "model_artifacts": {"S3ModelArtifacts": artifact_uri},
            "final_metric_data_list": [
                {"MetricName": metric, "Value": float(value), "Timestamp": now}
                for metric, value in metrics.get("final", {}).items()
            ],
            "training_time_in_seconds": seconds,
            "billable_time_in_seconds": seconds,
        }
    except Exception as error:  # noqa: BLE001 - any runner problem is the job's failure, not the server's
        return _failed(f"InternalServerError: {type(error).__name__}: {error}")
    finally:
        if algorithm is not None:
            algorithm.close()
        shutil.rmtree(root, ignore_errors=True)


def _failed(reason: str) -> dict[str, Any]:
    return {"training_job_status": "Failed", "secondary_status": "Failed", "failure_reason": reason[:1024]}
