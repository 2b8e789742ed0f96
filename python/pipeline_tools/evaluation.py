"""What a run's Evaluate model job found: ``runs/<execution>/evaluation/evaluation.json`` (SageMaker
Model Monitor's model quality metrics, written by scripts/evaluate.py inside the pipeline) and the
rows it judged (``predictions.csv``), read by ``pipeline-tools run`` for summary.json, report.html
and its last line. One source of truth: the CLI computes no metric of its own; an execution started
any other way (a schedule, the console, boto3) is evaluated, and gated, all the same.

Where: the Evaluate model job is named after the execution's ARN (``evaluate-`` + its MD5, see
``sfn_ml_pipeline.gate.EVALUATION_JOB_NAME``); DescribeProcessingJob names its output's S3 URI.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from sfn_ml_pipeline.quality import GROUPS

# The single-number metrics run's last line shows, per problem type (all are in summary.json).
HEADLINE = {"binary": ("auc", "accuracy", "logloss"), "regression": ("rmse", "mae", "r2")}
LABELS = {"auc": "AUC", "accuracy": "accuracy", "logloss": "log loss", "rmse": "RMSE", "mae": "MAE", "r2": "R²"}


def evaluation_job_name(execution_arn: str) -> str:
    """The name the state machine gives the execution's Evaluate model job (States.Hash MD5, hex)."""
    return "evaluate-" + hashlib.md5(execution_arn.encode()).hexdigest()


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def summarize(report: dict) -> dict:
    """evaluation.json -> what summary.json and the report keep: the problem type, rows, every
    single-number metric (None where undefined) with its standard deviation, the ROC curve as
    ``[[fpr, tpr], ...]``."""
    problem = next((kind for kind, group in GROUPS.items() if isinstance(report.get(group), dict)), None)
    if problem is None:
        raise ValueError(f"evaluation.json holds neither {' nor '.join(GROUPS.values())}")
    group = report[GROUPS[problem]]
    metrics = {name: _number(entry.get("value")) for name, entry in group.items() if isinstance(entry, dict) and "value" in entry}
    deviations = {name: _number(entry.get("standard_deviation")) for name, entry in group.items() if isinstance(entry, dict) and "value" in entry}
    curve = group.get("receiver_operating_characteristic_curve") or {}
    roc = [list(point) for point in zip(curve.get("false_positive_rates") or [], curve.get("true_positive_rates") or [])]
    dataset = report.get("dataset") or {}
    return {
        "problem_type": problem,
        "rows": dataset.get("item_count"),
        "positives": dataset.get("positives"),
        "metrics": metrics,
        "standard_deviations": deviations,
        "confusion_matrix": group.get("confusion_matrix"),
        "roc": roc,
    }


def headline(evaluation: dict) -> str:
    """``held out (1000 rows): AUC=0.9812, accuracy=0.9350, log loss=0.2011``."""
    metrics = evaluation.get("metrics") or {}
    shown = []
    for name in HEADLINE.get(evaluation.get("problem_type"), ()):
        value = metrics.get(name)
        shown.append(f"{LABELS[name]}={'n/a' if value is None else f'{value:.4f}'}")
    return f"held out ({evaluation.get('rows')} rows): {', '.join(shown)}"


def _download(s3: Any, bucket: str, key: str, target: Path) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        s3.download_file(bucket, key, temporary)
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def collect_evaluation(clients: Any, execution_arn: str, out_dir: Path) -> dict | None:
    """The execution's evaluation (None when its Evaluate model job never ran): summary fields, and
    evaluation.json and predictions.csv downloaded into ``out_dir``."""
    from botocore.exceptions import ClientError

    name = evaluation_job_name(execution_arn)
    try:
        job = clients.sagemaker.describe_processing_job(ProcessingJobName=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("ValidationException", "ResourceNotFound"):
            return None  # the run ended before Evaluate model (or has no such stage)
        raise
    outputs = {o["OutputName"]: o["S3Output"]["S3Uri"] for o in job.get("ProcessingOutputConfig", {}).get("Outputs", [])}
    uri = outputs.get("evaluation")
    if job.get("ProcessingJobStatus") != "Completed" or not uri:
        return {"job_name": name, "status": job.get("ProcessingJobStatus"), "failure_reason": job.get("FailureReason")}
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    out_dir.mkdir(parents=True, exist_ok=True)
    report_path, predictions_path = out_dir / "evaluation.json", out_dir / "predictions.csv"
    _download(clients.s3, bucket, f"{prefix.rstrip('/')}/evaluation.json", report_path)
    _download(clients.s3, bucket, f"{prefix.rstrip('/')}/predictions.csv", predictions_path)
    summary = summarize(json.loads(report_path.read_text()))
    return {
        "job_name": name,
        "status": "Completed",
        **summary,
        "evaluation_path": str(report_path),
        "evaluation_s3_uri": f"{uri.rstrip('/')}/evaluation.json",
        "predictions_path": str(predictions_path),
        "predictions_s3_uri": f"{uri.rstrip('/')}/predictions.csv",
    }
