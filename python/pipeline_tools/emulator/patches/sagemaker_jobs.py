"""SageMaker processing, training and batch transform jobs that really run.

What moto lacks: ``CreateProcessingJob``/``CreateTrainingJob`` only record the request and
mark the job ``Completed`` at once; nothing runs, no output or model appears in S3, and
training reports made-up metrics (``train:progress``, a ``test:dcg`` metric definition). moto
also drops a processing job's ``Environment`` and has no ``StopTrainingJob``.

The patch wraps both create calls: the job starts ``InProgress`` and a background thread
runs it (:mod:`pipeline_tools.emulator.jobs.processing` / ``.training``), then sets
``Completed``, ``Failed`` (with ``FailureReason``) or ``Stopped`` plus end times, model
artifacts and ``FinalMetricDataList`` on moto's job object, which DescribeX reports from.
``Environment`` and ``ProcessingResources`` are kept, and Stop{Processing,Training}Job stop the running job. CreateTransformJob
runs the registered model's artifact on the input (:mod:`pipeline_tools.emulator.jobs.transform`),
as the model's ``ExecutionRoleArn``; StopTransformJob stops it.

With IAM enforcement on, each job runs as its ``RoleArn``, as on SageMaker: the create call first
obtains the role's credentials as ``sagemaker.amazonaws.com`` (trust policy evaluated with
``aws:SourceAccount`` and ``aws:SourceArn`` = the job's ARN,
https://docs.aws.amazon.com/sagemaker/latest/dg/security-confused-deputy-prevention.html) and is
refused, as SageMaker refuses it, with ``ValidationException: Could not assume role ...`` when the
trust policy does not allow it; the job then moves its data with those credentials, and what it
does is recorded for the execution that created it.

Each job's hosts log to CloudWatch Logs while it runs, as SageMaker's do (:mod:`pipeline_tools.emulator.job_logs`):
the shipper starts with the job and has put every line before the job's final status is set.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from ..jobs.common import utcnow

_stops: dict[str, threading.Event] = {}  # job ARN -> stop signal (kept off moto's objects:
# moto serializes every attribute of a job into its describe output)


def start(job: Any, runner: Callable[[Any, threading.Event], dict[str, Any]], kind: str) -> None:
    stop = _stops.setdefault(job.arn, threading.Event())
    now = utcnow()
    setattr(job, f"{kind}_job_status", "InProgress")
    setattr(job, f"{kind}_start_time", now)
    setattr(job, f"{kind}_end_time", None)
    job.last_modified_time = now
    if kind == "training":
        job.secondary_status = "Training"
        job.final_metric_data_list = None
        job.secondary_status_transitions = [{"Status": "Training", "StartTime": now, "StatusMessage": "Training locally"}]

    shipper = _start_logs(job, kind, now)

    def work() -> None:
        try:
            fields = runner(job, stop)
        except Exception as error:  # noqa: BLE001 - never let a job kill the server thread silently
            fields = {f"{kind}_job_status": "Failed", "failure_reason": f"InternalServerError: {error}"[:1024]}
        if shipper is not None:
            try:
                shipper.finish()  # every line in CloudWatch Logs before the job is seen to end
            except Exception as error:  # noqa: BLE001 - the job's outcome stands
                print(f"[sagemaker {kind}] {job.arn}: job logs: {type(error).__name__}: {error}", flush=True)
        end = utcnow()
        for name, value in fields.items():
            setattr(job, name, value)
        setattr(job, f"{kind}_end_time", end)
        job.last_modified_time = end
        if kind == "training":
            job.secondary_status_transitions[-1]["EndTime"] = end
            transition = {"Status": fields.get("secondary_status", "Completed"), "StartTime": end, "EndTime": end}
            if transition["Status"] == "MaxRuntimeExceeded":
                transition["StatusMessage"] = fields.get("failure_reason", "")
            job.secondary_status_transitions.append(transition)
        _stops.pop(job.arn, None)
        try:
            _job_ended(job, kind, now)
        except Exception as error:  # noqa: BLE001 - the job's outcome stands; say why the record is missing
            print(f"[sagemaker {kind}] {job.arn}: job metrics authorization failed: {error}", flush=True)

    threading.Thread(target=work, name=f"sagemaker-{kind}-{job.arn.rsplit('/', 1)[-1]}", daemon=True).start()


def _start_logs(job: Any, kind: str, started: Any) -> Any:
    """The job's log shipper, writing as the job's role (the model's for a transform job) for the
    execution that created the job; None if it cannot start (the job runs regardless)."""
    from ..job_logs import Shipper

    try:
        role_arn = _job_roles.get(job.arn) or getattr(job, "role_arn", None)
        return Shipper(
            kind, getattr(job, f"{kind}_job_name"), job.arn, int(started.timestamp()),
            role_arn=role_arn, execution_arn=_job_executions.get(job.arn),
        ).start()
    except Exception as error:  # noqa: BLE001 - logs are a by-product
        print(f"[sagemaker {kind}] {job.arn}: job logs not shipped: {type(error).__name__}: {error}", flush=True)
        return None


SAGEMAKER = "sagemaker.amazonaws.com"


def _assume_job_role(role_arn: str | None, kind: str, name: str | None, image: str | None = None) -> Any:
    """The job role's credentials (IAM enforcement on), or None; raises SageMaker's ValidationException
    when the role cannot be assumed or may not pull the job's image."""
    from ..authz import enforce, service_side

    if not enforce.enabled() or not role_arn or not name:
        return None
    from moto.sagemaker.exceptions import ValidationError

    if image:
        try:
            service_side.job_image_pull(role_arn, image, enforce.current_execution())
        except enforce.Denied:
            # SageMaker refuses the create: "Access denied for repository: REPO in registry ID:
            # ACCOUNT." (quoted in github.com/aws/sagemaker-spark-container/issues/158).
            registry, _, rest = image.partition(".dkr.ecr.")
            repository = image.split("/", 1)[-1].split("@", 1)[0].rsplit(":", 1)[0]
            raise ValidationError(f"Access denied for repository: {repository} in registry ID: {registry}.") from None

    job_arn = enforce.ACCOUNT.arn("sagemaker", f"{kind}/{name.lower()}")
    try:
        return enforce.credentials_for(
            SAGEMAKER, role_arn, "SageMaker", source_account=enforce.ACCOUNT.account, source_arn=job_arn,
            execution_arn=enforce.current_execution(),
        )
    except enforce.AssumeRoleDenied:
        # SageMaker's words (the create call fails, nothing runs), as quoted from AWS in
        # github.com/awslabs/predictive-maintenance-using-machine-learning/issues/3; the session
        # name "SageMaker" as AWS's denials show it (github.com/aws/amazon-sagemaker-feedback/issues/61).
        raise ValidationError(
            f"Could not assume role {role_arn}. Please ensure that the role exists and allows principal '{SAGEMAKER}' to assume the role."
        ) from None


_job_executions: dict[str, str | None] = {}  # job ARN -> the execution that created it


def _keep_credentials(job: Any, credentials: Any) -> None:
    from ..authz import enforce
    from ..jobs.common import JOB_CREDENTIALS

    if credentials is not None:
        JOB_CREDENTIALS[job.arn] = credentials
        _job_executions[job.arn] = enforce.current_execution()


_job_roles: dict[str, str] = {}  # transform job ARN -> the model's role (moto's job has no role field)


def _job_ended(job: Any, kind: str, started: Any) -> None:
    """What SageMaker does as the job's role besides moving data and writing logs (job_logs.py): its metrics."""
    from ..authz import service_side
    from ..jobs.common import JOB_CREDENTIALS

    role_arn = _job_roles.pop(job.arn, None) or getattr(job, "role_arn", None)
    execution_arn = _job_executions.pop(job.arn, None)
    if JOB_CREDENTIALS.pop(job.arn, None) is None:
        return
    service_side.job_metrics(role_arn, kind, execution_arn)


def apply() -> None:
    from moto.core.responses import EmptyResult
    from moto.sagemaker.responses import SageMakerResponse

    from ..jobs import processing, training, transform

    original_processing = SageMakerResponse.create_processing_job
    original_training = SageMakerResponse.create_training_job
    original_transform = SageMakerResponse.create_transform_job

    def create_processing_job(self: SageMakerResponse) -> Any:
        image = (self._get_param("AppSpecification") or {}).get("ImageUri")
        credentials = _assume_job_role(self._get_param("RoleArn"), "processing-job", self._get_param("ProcessingJobName"), image)
        result = original_processing(self)
        job = self.sagemaker_backend.processing_jobs[self._get_param("ProcessingJobName")]
        job.environment = self._get_param("Environment") or None
        # moto drops ProcessingResources; DescribeProcessingJob reports it (and the runner starts
        # ClusterConfig.InstanceCount hosts)
        job.processing_resources = self._get_param("ProcessingResources") or None
        _keep_credentials(job, credentials)
        start(job, processing.run, "processing")
        return result

    def create_training_job(self: SageMakerResponse) -> Any:
        image = (self._get_param("AlgorithmSpecification") or {}).get("TrainingImage")
        credentials = _assume_job_role(self._get_param("RoleArn"), "training-job", self._get_param("TrainingJobName"), image)
        requested = dict(self._get_param("AlgorithmSpecification") or {})
        result = original_training(self)
        job = self.sagemaker_backend.training_jobs[self._get_param("TrainingJobName")]
        # moto 5.2.5's FakeTrainingJob replaces AlgorithmSpecification.MetricDefinitions with a
        # fixed one ("test:dcg"); DescribeTrainingJob answers what was requested, and script mode's
        # metrics come from it (jobs/metrics.py).
        job.algorithm_specification = requested
        _keep_credentials(job, credentials)
        start(job, training.run, "training")
        return result

    def stop_processing_job(self: SageMakerResponse) -> Any:
        job = self.sagemaker_backend.processing_jobs.get(self._get_param("ProcessingJobName"))
        if job is None or job.arn not in _stops:
            self.sagemaker_backend.stop_processing_job(self._get_param("ProcessingJobName"))  # moto's error
            return EmptyResult()
        job.processing_job_status = "Stopping"
        _stops[job.arn].set()
        return EmptyResult()

    def stopper(kind: str) -> Any:
        """Stop<Kind>Job for training and transform jobs: every host of a running job is signalled;
        an unknown name gets moto's ValidationError."""

        def stop_job(self: SageMakerResponse) -> Any:
            name = self._get_param(f"{kind.capitalize()}JobName")
            job = getattr(self.sagemaker_backend, f"{kind}_jobs").get(name)
            if job is None:
                getattr(self.sagemaker_backend, f"describe_{kind}_job")(name)  # raises moto's ValidationError
            if job.arn in _stops:
                setattr(job, f"{kind}_job_status", "Stopping")
                _stops[job.arn].set()
            return EmptyResult()

        return stop_job

    stop_training_job = stopper("training")

    def create_transform_job(self: SageMakerResponse) -> Any:
        # The job runs the model as the model's ExecutionRoleArn (CreateModel passed it to SageMaker).
        model = self.sagemaker_backend.describe_model(self._get_param("ModelName"))  # moto's error if unknown
        role_arn = model.execution_role_arn
        image = (model.primary_container or {}).get("Image")
        credentials = _assume_job_role(role_arn, "transform-job", self._get_param("TransformJobName"), image)
        result = original_transform(self)
        job = self.sagemaker_backend.transform_jobs[self._get_param("TransformJobName")]
        _keep_credentials(job, credentials)
        _job_roles[job.arn] = role_arn
        start(job, lambda job, stop: transform.run(job, stop, model), "transform")
        return result

    stop_transform_job = stopper("transform")

    SageMakerResponse.create_processing_job = create_processing_job
    SageMakerResponse.create_training_job = create_training_job
    SageMakerResponse.stop_processing_job = stop_processing_job
    SageMakerResponse.stop_training_job = stop_training_job
    SageMakerResponse.create_transform_job = create_transform_job
    SageMakerResponse.stop_transform_job = stop_transform_job
