"""Start one execution, show its progress state by state, collect what it produced and say how it
ended: what `pipeline-tools run` and `demo` do with a deployed stack (execution.py holds the
target-agnostic pieces: clients, history, collecting)."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import click

from sfn_ml_pipeline.gate import GATE_FAILED_ERROR, METRIC_MISSING_ERROR

from ..errors import Findings, UsageError
from ..evaluation import headline
from ..interrupts import ctrl_c_flag
from ..execution import Clients, check_execution_name, collect, failed_state_of, find_state_machine, new_execution_name, watch
from ..synthesis import read_config

ICONS = {"RUNNING": "…", "SUCCEEDED": "✔", "FAILED": "✘"}


def preload_for_collecting(clients: Clients) -> threading.Thread:
    """While the execution runs the CLI only polls, so make what collecting and reporting need
    now, in the background: the SageMaker client, xgboost (the model's facts) and matplotlib (the
    timeline). Otherwise they cost ~0.9 s after the execution has ended (measured at 1M rows)."""

    def preload() -> None:
        try:
            clients.sagemaker
            import xgboost  # noqa: F401

            import matplotlib

            matplotlib.use("Agg")
            from matplotlib import pyplot  # noqa: F401
        except Exception:  # noqa: BLE001 - only a head start; collecting reports real problems itself
            pass

    thread = threading.Thread(target=preload, name="preload-for-collecting", daemon=True)
    thread.start()
    return thread


def start_and_watch(config_path, target, rows, name, wait=True, artifacts_dir=Path("artifacts"), echo=click.echo, input_uri=None) -> dict | None:
    config = read_config(config_path)
    execution_input = execution_input_for(config, rows, input_uri)
    clients = Clients.for_target(target, config.region)
    machine_arn = find_state_machine(clients, config)
    name = check_execution_name(name or new_execution_name(), names_its_jobs=config.generates_dataset)
    if config.input is not None:
        check_input_has_data(clients, execution_input.get("input", config.input.s3_uri))
    started = _start(clients, machine_arn, name, json.dumps(execution_input))
    arn = started["executionArn"]
    try:  # from here on, Ctrl-C leaves the execution running
        with ctrl_c_flag() as interrupted:
            echo(f"started {name} on {target} ({arn})")
            if not wait:
                return None
            preload_for_collecting(clients)
            t0 = time.monotonic()

            def show(run):
                duration = f"{run.duration:6.1f} s" if run.duration is not None else f"{time.monotonic() - t0:6.1f} s elapsed"
                echo(f"  {ICONS.get(run.status, '?')} {run.name:<40} {run.status:<10} {duration}")

            description, progress = watch(clients, arn, show, interrupted=interrupted)
    except KeyboardInterrupt:
        echo(f"stopped watching; the execution goes on: {arn}", err=True)
        sys.exit(130)
    return collect(clients, config, description, progress, artifacts_dir)


def execution_input_for(config, rows: int | None, input_uri: str | None) -> dict:
    """The execution input ``run`` starts with: ``rows`` for the generated dataset, or ``input`` (an S3
    location under the config's [input] prefix) for your data. Raises UsageError (exit 2)."""
    from sfn_ml_pipeline.rules import S3_URI

    if config.input is None:
        if input_uri is not None:
            raise UsageError("--input needs your data configured", "add [input] s3_uri = \"s3://BUCKET/PREFIX/\" to the config (README 'Your data and code')")
        return {"rows": rows} if rows else {}
    if rows is not None:
        raise UsageError("--rows sets the size of the generated sample dataset; this pipeline reads your data from "
                         f"{config.input.s3_uri}", "leave out --rows (or use --input to read part of your data)")
    if input_uri is None:
        return {}
    if not S3_URI.match(input_uri) or not input_uri.startswith(config.input.s3_uri):
        raise UsageError(f"--input {input_uri} is not under the configured prefix {config.input.s3_uri}",
                         f"pass an S3 location under {config.input.s3_uri}, or change [input] s3_uri")
    return {"input": input_uri}


def check_input_has_data(clients: Clients, uri: str) -> None:
    """An empty prefix would fail the processing job minutes later ("no objects under ..."): say so
    now. Where this caller may not list the bucket (another account's, granted to the jobs only),
    the jobs find out themselves."""
    import botocore.exceptions

    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    try:
        listed = clients.s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("AccessDenied", "AllAccessDisabled"):
            return
        if error.response.get("Error", {}).get("Code") == "NoSuchBucket":
            raise UsageError(f"your data's bucket {bucket} does not exist", f"create it and put your data under {uri}") from None
        raise
    if not listed.get("KeyCount", len(listed.get("Contents", []))):
        raise UsageError(f"no objects under {uri}", f"put your data there first, e.g. `aws s3 cp data/ {uri} --recursive`")


def _start(clients: Clients, machine_arn: str, name: str, execution_input: str) -> dict:
    """StartExecution; a name already used by an execution that ended says how that one ended
    (e.g. FAILED because the local emulator stopped while it ran), not a traceback."""
    import botocore.exceptions

    try:
        return clients.sfn.start_execution(stateMachineArn=machine_arn, name=name, input=execution_input)
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
    arn = machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
    existing = clients.sfn.describe_execution(executionArn=arn)
    if existing["status"] == "RUNNING":
        raise UsageError(f"execution {name} is already running, with another input", "pick another --name")
    why = f": {existing['error']}: {existing.get('cause', '')}" if existing.get("error") else ""
    raise UsageError(f"execution {name} already exists and ended {existing['status']}{why}", "start a new one: leave out --name, or pick another name")


def report_of(summary: dict, artifacts_dir: Path, echo=click.echo) -> None:
    """Print the short summary; on failure raise Findings (exit 1) naming the failed state and cause."""
    out_dir = artifacts_dir / summary["execution"]
    try:
        from ..report import write_report
    except ImportError:
        write_report = None
    if write_report is not None:
        try:
            write_report(summary, out_dir)
        except Exception as error:  # noqa: BLE001 - the report is a nicety; the run's result stands
            echo(f"warning: could not write the HTML report: {error}", err=True)
    if summary["status"] != "SUCCEEDED":
        error = summary.get("error") or {}
        gate = summary.get("quality_gate") or {}
        if error.get("error") in (GATE_FAILED_ERROR, METRIC_MISSING_ERROR) and not gate.get("passed"):
            # the pipeline judged the model and refused it: the metric, its value and the threshold, in one line
            evaluation = summary.get("evaluation") or {}
            raise Findings(
                f"execution {summary['execution']} stopped at the quality gate: {(error.get('cause') or '').strip()}",
                f"details in {evaluation.get('evaluation_path') or out_dir / 'summary.json'}",
            )
        denial = error.get("access_denied")
        if denial:  # IAM enforcement: say who was refused what, on which resource
            raise Findings(
                f"execution {summary['execution']} {summary['status']} in state {failed_state_of(summary)!r}: "
                f"role {(denial.get('role') or denial.get('principal') or '?').rsplit('/', 1)[-1]} is not allowed "
                f"{denial['action']} on {denial['resource']} ({denial['decision']}; {error.get('error') or 'error'})",
                f"details in {out_dir / 'access.json'}",
            )
        raise Findings(
            f"execution {summary['execution']} {summary['status']} in state {failed_state_of(summary)!r}: "
            f"{error.get('error') or 'error'}: {(error.get('cause') or '').strip()[:500]}",
            f"details in {out_dir / 'summary.json'}",
        )
    metrics = summary.get("training", {}).get("metrics", {})
    facts = ", ".join(f"{k}={v:.4f}" for k, v in metrics.items())
    evaluation = summary.get("evaluation")
    if evaluation and evaluation.get("metrics"):
        facts += f"; {headline(evaluation)}"
    echo(f"SUCCEEDED in {summary['duration_seconds']:.1f} s; {facts}")
    echo(f"model:   {summary['model']['path']} ({summary['model']['size_bytes']} bytes, from {summary['training']['model_s3_uri']})")
    if summary["model"].get("error"):
        echo(f"warning: {summary['model']['error']}")
    if evaluation and evaluation.get("predictions_path"):
        echo(f"predictions: {evaluation['predictions_path']} (from {evaluation['predictions_s3_uri']})")
    gate = summary.get("quality_gate")
    if gate and gate.get("passed"):
        echo(f"quality gate: {gate['metric']} = {gate['value']} {gate['relation']} {gate['threshold']}; registered "
             f"{gate['model_package_arn']} ({gate['approval_status']})")
    echo(f"summary: {out_dir / 'summary.json'}")
    if (out_dir / "report.html").exists():
        echo(f"report:  {out_dir / 'report.html'}")
