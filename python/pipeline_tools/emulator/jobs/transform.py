"""Run a SageMaker batch transform job with the built-in XGBoost model locally.

As SageMaker does: the model (registered by CreateModel: ``PrimaryContainer.ModelDataUrl``) is
downloaded and unpacked, every object under the input ``S3Uri`` (S3Prefix) is split into records
by line (``SplitType: Line``), each record gets one inference, and the results land under
``S3OutputPath`` as ``<input object>.out`` (``AssembleWith: Line``)
(https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html). The inference runs in a
subprocess (:mod:`.xgboost_predict`), so StopTransformJob can end it. The job moves its data as the
model's ``ExecutionRoleArn`` when IAM is enforced (``common.JOB_CREDENTIALS``). ``DataProcessing``
(InputFilter, JoinSource, OutputFilter) applies to CSV records as SageMaker documents it
(:mod:`.data_processing`): the model sees the filtered record, the output line is the joined one.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .common import HostGroup, JobProcess, RunnerLog, algorithm_module, data_failure, image_python, download_prefix, host_directory, host_failure, job_s3_client, jobs_directory, output_encryption, sandbox_env, split_s3_uri, upload_directory
from .data_processing import CSV, DataProcessing, DataProcessingError, filter_input, join_output

ALGORITHM_LIBRARIES = ("numpy", "pandas", "xgboost")
# The transform job has no MaxRuntimeInSeconds; its invocations time out (ModelClientConfig,
# default 600 s per invocation): one local invocation per job, so a generous bound.
LOCAL_TIMEOUT_SECONDS = 3600


def run(job: Any, stop: threading.Event, model: Any) -> dict[str, Any]:
    """Run ``job`` (moto's FakeTransformJob) with ``model`` (moto's Model); returns the fields to set
    on the job when it ends."""
    name = job.transform_job_name
    log_dir = jobs_directory("transform", name)
    note = RunnerLog(log_dir)
    container = model.primary_container or {}
    image = container.get("Image", "")
    from ..images import ImageEnvironmentError, UnknownImage, resolve

    try:
        if not resolve(image).algorithm:
            return _failed(f"ClientError: the image {image!r} is not a built-in algorithm the local emulator serves")
        python = str(image_python(image, note))  # the model's image: its xgboost reads the model it wrote
    except (UnknownImage, ImageEnvironmentError) as error:
        return _failed(f"ClientError: {error}")
    transform_input = job.transform_input or {}
    if transform_input.get("SplitType", "None") != "Line" or (job.transform_output or {}).get("AssembleWith", "None") != "Line":
        return _failed("ClientError: the local emulator supports SplitType Line with AssembleWith Line only")
    try:
        processing = DataProcessing.of(job.data_processing)
    except DataProcessingError as error:
        return _failed(str(error))
    if not processing.is_default and (transform_input.get("ContentType"), (job.transform_output or {}).get("Accept")) != (CSV, CSV):
        # The page: with DataProcessing, ContentType and Accept must be one of text/csv, application/json,
        # application/jsonlines; only CSV records are emulated.
        return _failed("ClientError: the local emulator applies DataProcessing to text/csv records only (ContentType and Accept text/csv)")
    source = ((transform_input.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
    output = (job.transform_output or {}).get("S3OutputPath")
    if not source or not output:
        return _failed("ClientError: the transform job needs an S3 input and an S3OutputPath")
    root = Path(tempfile.mkdtemp(prefix=f"transform-{name}-"))
    algorithm = None
    try:
        spec_path = root / "spec.json"
        model_dir, input_dir, output_dir = root / "model", root / "input", root / "output"
        model_input_dir, model_output_dir = (input_dir, output_dir) if processing.is_default else (root / "filtered", root / "inferences")
        algorithm = JobProcess(
            [python, algorithm_module("xgboost_predict"), str(spec_path)],
            # The built-in algorithm reads local files only; an isolated model (EnableNetworkIsolation) alike.
            cwd=root, env=sandbox_env(root, aws=False), log_dir=host_directory(log_dir, "algo-1"), preload=ALGORITHM_LIBRARIES, python=python,
        ).start()
        s3 = job_s3_client(job)
        artifact = container.get("ModelDataUrl", "")
        try:
            bucket, key = split_s3_uri(artifact)
            archive = root / "model.tar.gz"
            with open(archive, "wb") as handle:
                shutil.copyfileobj(s3.get_object(Bucket=bucket, Key=key)["Body"], handle)
        except ClientError as error:
            return _failed(data_failure("download", artifact, error))
        model_dir.mkdir()
        with tarfile.open(archive) as tar:
            tar.extractall(model_dir, filter="data")
        note(f"model: {artifact}")
        try:
            count = download_prefix(s3, source, input_dir)
        except ClientError as error:
            return _failed(data_failure("download", source, error))
        if count == 0:
            return _failed(f"ClientError: no objects under {source}")
        note(f"input: {count} object(s) from {source}")
        if not processing.is_default:
            try:
                _filter_inputs(processing, input_dir, model_input_dir)
            except DataProcessingError as error:
                return _failed(str(error))
        spec_path.write_text(json.dumps({"model_dir": str(model_dir), "input_dir": str(model_input_dir), "output_dir": str(model_output_dir)}))
        note("algorithm start: built-in XGBoost inference")
        outcome = HostGroup({"algo-1": algorithm}).run(timeout=LOCAL_TIMEOUT_SECONDS, stop=stop)
        note(f"algorithm exit: {outcome.code if outcome.kind == 'completed' else outcome.kind}")
        if outcome.kind == "timeout":
            return _failed(f"ClientError: the local inference took over {LOCAL_TIMEOUT_SECONDS} s")
        if outcome.kind == "stopped":
            return {"transform_job_status": "Stopped"}
        if outcome.kind == "failed":
            return _failed(host_failure(outcome.host, outcome.code, log_dir))
        if not processing.is_default:
            try:
                joined = _join_outputs(processing, input_dir, model_output_dir, output_dir)
            except DataProcessingError as error:
                return _failed(str(error))
            note(f"data processing: {joined} record(s) joined (InputFilter {processing.input_filter}, JoinSource {processing.join_source}, OutputFilter {processing.output_filter})")
        try:
            uploaded = upload_directory(s3, output_dir, output, output_encryption((job.transform_output or {}).get("KmsKeyId")))
        except ClientError as error:
            return _failed(data_failure("upload", output, error))
        note(f"output: {uploaded} object(s) to {output}")
        return {"transform_job_status": "Completed"}
    except Exception as error:  # noqa: BLE001 - any runner problem is the job's failure, not the server's
        return _failed(f"InternalServerError: {type(error).__name__}: {error}")
    finally:
        if algorithm is not None:
            algorithm.close()
        shutil.rmtree(root, ignore_errors=True)


def _records(path: Path) -> list[str]:
    """A CSV input file's records (SplitType Line: one per line; no trailing empty record)."""
    return path.read_text(encoding="utf-8").splitlines()


def _input_files(input_dir: Path) -> list[Path]:
    return sorted(p for p in input_dir.rglob("*") if p.is_file() and not p.name.startswith("."))


def _filter_inputs(processing: DataProcessing, input_dir: Path, model_input_dir: Path) -> None:
    """InputFilter: what the model receives, file for file, line for line."""
    for path in _input_files(input_dir):
        target = model_input_dir / path.relative_to(input_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(f"{line}\n" for line in filter_input(processing, _records(path))), encoding="utf-8")


def _join_outputs(processing: DataProcessing, input_dir: Path, model_output_dir: Path, output_dir: Path) -> int:
    """JoinSource and OutputFilter: each <input>.out line from the input record and its inference."""
    count = 0
    for path in _input_files(input_dir):
        relative = Path(str(path.relative_to(input_dir)) + ".out")
        inferences = (model_output_dir / relative).read_text(encoding="utf-8").splitlines()
        lines = join_output(processing, _records(path), inferences)
        target = output_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        count += len(lines)
    return count


def _failed(reason: str) -> dict[str, Any]:
    return {"transform_job_status": "Failed", "failure_reason": reason[:1024]}
