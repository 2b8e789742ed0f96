"""Starting and watching one pipeline execution, and writing what it produced.

Target-agnostic: the same code watches an execution on AWS and on the local emulator; only the
boto3 clients differ. Progress comes from the execution history (per-state entered/exited events).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from sfn_ml_pipeline.config import PipelineConfig
from sfn_ml_pipeline.definition import FAILED, TRAIN
from sfn_ml_pipeline.gate import EVALUATE, QUALITY_GATE, REGISTER

from .errors import EnvironmentProblem, UsageError
from .evaluation import collect_evaluation
from .files import write_atomic

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# StartExecution's name: 1-80 characters, and "To enable logging with CloudWatch Logs, the name should only
# contain 0-9, A-Z, a-z, - and _" (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html#StepFunctions-StartExecution-request-name);
# the pipeline's state machine logs to CloudWatch Logs. The jobs' name is the pipeline's business
# (Generate dataset derives a valid SageMaker name where this one is not: definition.JOB_NAME).
_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
# SageMaker job names: "Maximum length of 63. Pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html#sagemaker-CreateTrainingJob-request-TrainingJobName).
_SAGEMAKER_NAME = re.compile(r"[A-Za-z0-9](-*[A-Za-z0-9]){0,62}")


def new_execution_name() -> str:
    return f"run-{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def check_execution_name(name: str, *, names_its_jobs: bool = True) -> str:
    """``name`` if Step Functions logs an execution of that name to CloudWatch Logs and, for a pipeline
    that does not name its jobs itself (``names_its_jobs=False``: no Generate dataset function, your
    data in S3), SageMaker accepts it as the jobs' name (definition.job_name)."""
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"execution name {name!r} is not one Step Functions logs to CloudWatch Logs",
            "use 1-80 letters, digits, hyphens and underscores",
        )
    if not names_its_jobs and not _SAGEMAKER_NAME.fullmatch(name):
        raise UsageError(
            f"execution name {name!r} cannot name SageMaker jobs (this pipeline's jobs take the execution's name)",
            "use 1-63 letters, digits and hyphens, starting and ending with a letter or digit",
        )
    return name


def job_name_of(description: dict) -> str:
    """The name the execution gave its SageMaker jobs (Generate dataset's ``job_name``: the execution's
    name when SageMaker accepts it); the execution's name for an execution without one in its output."""
    output = json.loads(description.get("output") or "{}")
    return ((output.get("dataset") or {}).get("job_name")) or description["name"]


@dataclass
class Clients:
    sfn: Any
    s3: Any
    target: str
    jobs_dir: Path | None = None  # local emulator only: per-job logs and per-round metrics
    make_sagemaker: Callable[[], Any] | None = field(default=None, repr=False)
    emulator_state: dict | None = field(default=None, repr=False)  # local emulator only: its access log

    @cached_property
    def sagemaker(self) -> Any:
        """Made on first use: only collecting a finished run needs it, and its service model is
        the largest of the three to load (~0.15 s)."""
        return self.make_sagemaker()

    @classmethod
    def for_target(cls, target: str, region: str) -> "Clients":
        if target == "local":
            from .emulator import client, read_state

            state = read_state()
            return cls(client("stepfunctions", state), client("s3", state), target, Path(".pipeline-tools") / "jobs", lambda: client("sagemaker", state), state)
        import boto3

        return cls(
            boto3.client("stepfunctions", region_name=region),
            boto3.client("s3", region_name=region),
            target,
            make_sagemaker=lambda: boto3.session.Session().client("sagemaker", region_name=region),
        )


def find_state_machine(clients: Clients, config: PipelineConfig) -> str:
    paginator = clients.sfn.get_paginator("list_state_machines")
    for page in paginator.paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == config.state_machine_name:
                return machine["stateMachineArn"]
    raise EnvironmentProblem(
        f"state machine {config.state_machine_name!r} not found on {clients.target}",
        f"deploy first: `pipeline-tools deploy --target {clients.target}`",
    )


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds") if value else None


@dataclass
class StateRun:
    name: str
    type: str = "Task"
    status: str = "RUNNING"
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at and self.ended_at:
            return (self.ended_at - self.started_at).total_seconds()
        return None

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "duration_seconds": None if self.duration is None else round(self.duration, 3),
        }


@dataclass
class Progress:
    """What the execution history says so far."""

    states: dict[str, StateRun] = field(default_factory=dict)
    error: dict | None = None
    seen_events: int = 0

    def absorb(self, events: list[dict]) -> list[StateRun]:
        """Fold new history events in; return the states whose status changed."""
        changed = []
        for event in events[self.seen_events :]:
            kind = event["type"]
            if kind.endswith("StateEntered"):
                details = event["stateEnteredEventDetails"]
                run = StateRun(details["name"], kind.removesuffix("StateEntered"), "RUNNING", event["timestamp"])
                self.states[run.name] = run
                changed.append(run)
            elif kind.endswith("StateExited"):
                run = self.states.get(event["stateExitedEventDetails"]["name"])
                if run:
                    run.ended_at = event["timestamp"]
                    if run.status == "RUNNING":
                        run.status = "SUCCEEDED"
                    changed.append(run)
            elif kind in ("TaskFailed", "LambdaFunctionFailed", "TaskTimedOut", "ExecutionFailed", "ExecutionTimedOut"):
                details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
                running = [r for r in self.states.values() if r.status == "RUNNING"]
                if running and kind != "ExecutionFailed":
                    running[-1].status = "FAILED"
                    self.error = {"state": running[-1].name, "error": details.get("error"), "cause": details.get("cause")}
                elif kind == "ExecutionFailed" and self.error is None:
                    self.error = {"state": None, "error": details.get("error"), "cause": details.get("cause")}
                if kind == "ExecutionFailed":  # a Fail state (e.g. the quality gate's Model rejected) ends the run there
                    for run in running:
                        if run.type == "Fail":
                            run.status, run.ended_at = "FAILED", event["timestamp"]
                            changed.append(run)
                            if self.error is not None and self.error.get("state") is None:
                                self.error["state"] = run.name
        self.seen_events = len(events)
        # A state entered and exited within one poll (a Choice, a Pass, a quick task) is reported
        # once, as it stands now.
        unique = {id(run): run for run in changed}
        return list(unique.values())


def history(clients: Clients, execution_arn: str) -> list[dict]:
    events, token = [], None
    while True:
        kwargs = {"executionArn": execution_arn, "maxResults": 1000}
        if token:
            kwargs["nextToken"] = token
        page = clients.sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            return events


def watch(
    clients: Clients,
    execution_arn: str,
    on_change: Callable[[StateRun], None],
    interval: float | None = None,
    interrupted: threading.Event | None = None,
) -> tuple[dict, Progress]:
    """Poll until the execution ends; call ``on_change`` for every state transition.

    ``interval`` defaults to 0.1 s on the local emulator (each poll is two cheap loopback calls,
    and the end of a run shows up sooner) and 1 s on AWS, whose Step Functions API throttles
    per account and whose jobs run for minutes. ``interrupted`` (``interrupts.ctrl_c_flag``) is
    checked before every poll: once set, ``KeyboardInterrupt`` is raised here even when the one the
    signal raised was swallowed by a finalizer."""
    if interval is None:
        interval = 0.1 if clients.target == "local" else 1.0
    interrupted = interrupted or threading.Event()
    progress = Progress()
    while True:
        if interrupted.is_set():
            raise KeyboardInterrupt
        description = clients.sfn.describe_execution(executionArn=execution_arn)
        for run in progress.absorb(history(clients, execution_arn)):
            on_change(run)
        if description["status"] in TERMINAL:
            if description["status"] != "SUCCEEDED" and progress.error is None:
                progress.error = {"state": None, "error": description.get("error"), "cause": description.get("cause")}
            elif description["status"] != "SUCCEEDED" and not progress.error.get("cause"):
                progress.error.update(error=description.get("error"), cause=description.get("cause"))
            return description, progress
        interrupted.wait(interval)


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def collect(
    clients: Clients,
    config: PipelineConfig,
    description: dict,
    progress: Progress,
    artifacts_dir: Path,
) -> dict:
    """Download the model (on success) and write ``summary.json``; return the summary."""
    name = description["name"]
    output = json.loads(description.get("output") or "{}")
    started, stopped = description.get("startDate"), description.get("stopDate")
    summary: dict[str, Any] = {
        "execution": name,
        "execution_arn": description["executionArn"],
        "status": description["status"],
        "target": clients.target,
        "started_at": _iso(started),
        "stopped_at": _iso(stopped),
        "duration_seconds": round((stopped - started).total_seconds(), 3) if started and stopped else None,
        # In the order the execution entered them (the Fail state is the error's, below).
        "states": [run.as_dict() for run in progress.states.values() if run.name != FAILED],
        "error": progress.error,
        "dataset": output.get("dataset"),
    }
    if output.get("input"):  # your data: the S3 location this execution read
        summary["input"] = output["input"]
    out_dir = artifacts_dir / name
    if description["status"] == "SUCCEEDED":
        job = job_name_of(description)
        processing = clients.sagemaker.describe_processing_job(ProcessingJobName=job)
        training = clients.sagemaker.describe_training_job(TrainingJobName=job)
        summary["processing"] = {
            "job_name": job,
            "output_s3_uri": processing["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"],
            "outputs": {o["OutputName"]: o["S3Output"]["S3Uri"] for o in processing["ProcessingOutputConfig"]["Outputs"]},
            "instances": job_instances(clients, "processing", job, processing),
        }
        model_uri = training["ModelArtifacts"]["S3ModelArtifacts"]
        rounds = []
        metrics_file = clients.jobs_dir / "training" / job / "metrics.json" if clients.jobs_dir else None
        if metrics_file and metrics_file.is_file():
            rounds = json.loads(metrics_file.read_text()).get("rounds", [])
        summary["training"] = {
            "job_name": job,
            "model_s3_uri": model_uri,
            "metrics": {m["MetricName"]: m["Value"] for m in training.get("FinalMetricDataList", [])},
            "metric_history": rounds,
            "hyperparameters": training.get("HyperParameters", {}),
            "instances": job_instances(clients, "training", job, training),
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        model_path = out_dir / "model.tar.gz"
        bucket, key = _split_s3(model_uri)
        fd, tmp = tempfile.mkstemp(prefix=".model.", dir=out_dir)
        os.close(fd)
        clients.s3.download_file(bucket, key, tmp)
        os.replace(tmp, model_path)
        image = (training.get("AlgorithmSpecification") or {}).get("TrainingImage")
        summary["model"] = {"path": str(model_path), "size_bytes": model_path.stat().st_size, **_model_facts(model_path, image)}
    # The Evaluate model job's evaluation.json (and the quality gate's verdict), whether the execution
    # succeeded or stopped at the gate: the pipeline evaluated, the CLI only reads (evaluation.py).
    evaluation = collect_evaluation(clients, description["executionArn"], out_dir) if _evaluated(progress) else None
    if evaluation is not None:
        summary["evaluation"] = evaluation
    if _gated(progress):
        summary["quality_gate"] = _gate_verdict(clients, description["executionArn"], evaluation, output, summary.get("error"))
    if clients.emulator_state is not None:
        # Every authorization decision made on the execution's behalf (IAM enforcement on).
        from .emulator.access import fetch_access_log, first_denial

        access = {"execution": name, "execution_arn": description["executionArn"], **fetch_access_log(clients.emulator_state, description["executionArn"])}
        out_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(out_dir / "access.json", json.dumps(access, indent=2))
        summary["access"] = {"path": str(out_dir / "access.json"), "enforced": access["enforced"],
                             "decisions": len(access["decisions"]), "denied": sum(d["decision"] != "allowed" for d in access["decisions"]),
                             "cost": access.get("cost")}
        denial = first_denial(access["decisions"])
        if denial is not None and description["status"] != "SUCCEEDED":
            summary["error"] = {**(summary.get("error") or {}), "access_denied": denial}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / "summary.json", json.dumps(summary, indent=2, default=str))
    return summary


def job_instances(clients: Clients, kind: str, name: str, described: dict) -> list[dict]:
    """``[{"host": "algo-1", "input_files": ["s3://...", ...]}, ...]``: the objects each host of the job
    received. Locally the emulator records them (``<jobs dir>/<kind>/<job>/instances.json``). On AWS
    the hosts come from the instance count and ``FullyReplicated`` channels give every host every
    object; SageMaker does not report which host got which ``ShardedByS3Key`` object, so those
    hosts' ``input_files`` are ``null``."""
    recorded = clients.jobs_dir / kind / name / "instances.json" if clients.jobs_dir else None
    if recorded and recorded.is_file():
        return json.loads(recorded.read_text())
    if kind == "training":
        count = (described.get("ResourceConfig") or {}).get("InstanceCount", 1)
        sources = [(c.get("DataSource") or {}).get("S3DataSource") or {} for c in described.get("InputDataConfig", [])]
    else:
        count = ((described.get("ProcessingResources") or {}).get("ClusterConfig") or {}).get("InstanceCount", 1)
        sources = [i.get("S3Input") or {} for i in described.get("ProcessingInputs", [])]
    files: list[str] | None = []
    for source in sources:
        if source.get("S3DataDistributionType", "FullyReplicated") != "FullyReplicated" and count > 1:
            files = None
            break
        bucket, prefix = _split_s3(source.get("S3Uri", ""))
        for page in clients.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            files.extend(f"s3://{bucket}/{item['Key']}" for item in page.get("Contents", []) if not item["Key"].endswith("/"))
    return [{"host": f"algo-{index}", "input_files": files} for index in range(1, count + 1)]


def _evaluated(progress: Progress) -> bool:
    return EVALUATE in progress.states


def _gated(progress: Progress) -> bool:
    return QUALITY_GATE in progress.states


def _gate_verdict(clients: Clients, execution_arn: str, evaluation: dict | None, output: dict, error: dict | None) -> dict:
    """What the quality gate decided, as the definition the execution ran has it (DescribeStateMachineForExecution:
    the metric, the comparison and the threshold of its Choice, the approval status it registers with), the
    value evaluation.json gave, and the registered version or the failure's cause."""
    definition = json.loads(clients.sfn.describe_state_machine_for_execution(executionArn=execution_arn)["definition"])
    states = definition.get("States", {})
    rule = (states.get(QUALITY_GATE, {}).get("Choices") or [{}])[-1]
    operator = next((key for key in rule if key.startswith("Numeric")), "")
    metric = str(rule.get("Variable", "")).rsplit(".", 2)[-2] if rule.get("Variable") else None
    value = ((evaluation or {}).get("metrics") or {}).get(metric)
    verdict = {
        "metric": metric, "threshold": rule.get(operator), "value": value,
        "relation": ">=" if "Greater" in operator else "<=",
        "approval_status": (states.get(REGISTER, {}).get("Parameters") or {}).get("ModelApprovalStatus"),
    }
    registered = (output.get("registered") or {}).get("ModelPackageArn")
    if registered:
        verdict.update(passed=True, model_package_arn=registered)
    else:
        verdict.update(passed=False, error=(error or {}).get("error"), cause=(error or {}).get("cause"))
    return verdict


def _model_facts(model_path: Path, image: str | None) -> dict:
    """Open the model as a user would, in the format its image wrote it (model_artifact: JSON/UBJSON
    with this project's xgboost, the 1.7-1 image's binary format with that image's xgboost):
    ``format``, ``num_trees``, ``num_features``, ``loaded_with``; or ``error``, one line saying why
    it does not load (summary.json, report.html and `run`'s output show it)."""
    from .model_artifact import ModelUnreadable, open_model

    try:
        return open_model(model_path, image)
    except ModelUnreadable as error:
        return {"error": f"the model does not load: {error}"}


def failed_state_of(summary: dict) -> str:
    error = summary.get("error") or {}
    if error.get("state"):
        return error["state"]
    failed = [s["name"] for s in summary.get("states", []) if s["status"] == "FAILED"]
    return failed[-1] if failed else (summary["states"][-1]["name"] if summary.get("states") else "(before any state)")


__all__ = ["TRAIN", "Clients", "check_execution_name", "collect", "find_state_machine", "job_name_of", "new_execution_name", "watch"]
