"""The local target keeps what it holds (issue 12): the emulator's state survives `local down` /
`local up`, kill -9 and a torn journal; an execution cut off by a crash ends FAILED saying so;
`local reset` asks first; one emulator per state directory; an incompatible state is refused.

Real parts: the real emulator server process (killed for real with SIGKILL), the real CLI in a
subprocess, the real Terraform. One deploy for the module (in a private working directory).
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from .conftest import assert_clean_error, run_cli
from .conftest_emulator import project_clients

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]


def state_of(directory: Path) -> dict:
    return json.loads((directory / ".pipeline-tools" / "emulator.json").read_text())


def up(directory: Path) -> subprocess.CompletedProcess:
    result = run_cli("local", "up", "--port", "0", cwd=directory)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def plan_is_clean(directory: Path) -> None:
    planned = run_cli("plan", "--target", "local", cwd=directory, timeout=600)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "No changes." in planned.stdout, planned.stdout


def kill_9(directory: Path) -> None:
    """What a crash (or pulling the plug) does: the server and its job processes die at once."""
    pid = state_of(directory)["pid"]
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return
        time.sleep(0.05)
    raise AssertionError(f"emulator {pid} survived SIGKILL")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, plugin_dir):
    """A project with the stack deployed to a running emulator and one finished run, "before"."""
    directory = tmp_path_factory.mktemp("durable")
    up(directory)
    try:
        deployed = run_cli("deploy", "--target", "local", "--auto-approve", cwd=directory, timeout=900)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        ran = run_cli("run", "--target", "local", "--rows", "500", "--name", "before", cwd=directory)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        yield directory
    finally:
        run_cli("local", "down", cwd=directory)


def remembered(directory: Path) -> dict:
    """What must survive: the run's history and status, its model object (bytes and version)."""
    aws = project_clients(directory)
    machine = aws["stepfunctions"].list_state_machines()["stateMachines"][0]["stateMachineArn"]
    arn = machine.replace(":stateMachine:", ":execution:") + ":before"
    history = aws["stepfunctions"].get_execution_history(executionArn=arn, maxResults=1000)["events"]
    job = aws["sagemaker"].describe_training_job(TrainingJobName="before")
    uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    bucket, key = uri[len("s3://"):].split("/", 1)
    obj = aws["s3"].get_object(Bucket=bucket, Key=key)
    return {
        "status": aws["stepfunctions"].describe_execution(executionArn=arn)["status"],
        "events": [(e["id"], e["type"], e["timestamp"]) for e in history],
        "job": (job["TrainingJobStatus"], job["TrainingEndTime"]),
        "model": (obj["Body"].read(), obj.get("VersionId"), obj["ETag"]),
    }


def test_down_and_up_keep_the_stack_the_objects_and_the_history(workdir):
    before = remembered(workdir)
    assert before["status"] == "SUCCEEDED" and before["events"][-1][1] == "ExecutionSucceeded"
    assert run_cli("local", "down", cwd=workdir).returncode == 0
    up(workdir)
    assert remembered(workdir) == before
    plan_is_clean(workdir)
    again = run_cli("run", "--target", "local", "--rows", "300", cwd=workdir)  # no redeploy needed
    assert again.returncode == 0 and "SUCCEEDED" in again.stdout, again.stdout + again.stderr


def test_kill_9_in_the_middle_of_a_run_keeps_the_rest_and_ends_that_run_saying_so(workdir):
    before = remembered(workdir)
    started = run_cli("run", "--target", "local", "--rows", "400000", "--name", "cut", "--no-wait", cwd=workdir)
    assert started.returncode == 0, started.stdout + started.stderr
    sagemaker = project_clients(workdir)["sagemaker"]
    deadline = time.monotonic() + 300
    running = None
    while running is None:  # cut it off while one of its jobs runs (on a loaded machine a poll can miss
        # the processing job's few seconds: then the training job's, issue 27)
        for kind in ("processing", "training"):
            listed = getattr(sagemaker, f"list_{kind}_jobs")(NameContains="cut")[f"{kind.capitalize()}JobSummaries"]
            if listed and listed[0][f"{kind.capitalize()}JobStatus"] == "InProgress":
                running = kind
        assert time.monotonic() < deadline, "no job of the execution was ever seen running"
        if running is None:
            time.sleep(0.05)
    kill_9(workdir)
    up(workdir)
    assert state_of(workdir)["restored"]["interrupted"], state_of(workdir)
    aws = project_clients(workdir)
    machine = aws["stepfunctions"].list_state_machines()["stateMachines"][0]["stateMachineArn"]
    cut = aws["stepfunctions"].describe_execution(executionArn=machine.replace(":stateMachine:", ":execution:") + ":cut")
    assert cut["status"] == "FAILED" and cut["error"] == "Emulator.Stopped", cut
    assert "emulator stopped while this execution ran" in cut["cause"], cut["cause"]
    events = aws["stepfunctions"].get_execution_history(executionArn=cut["executionArn"], maxResults=1000)["events"]
    assert events[-1]["type"] == "ExecutionFailed" and events[-1]["executionFailedEventDetails"]["error"] == "Emulator.Stopped"
    job = getattr(aws["sagemaker"], f"describe_{running}_job")(**{f"{running.capitalize()}JobName": "cut"})
    assert job[f"{running.capitalize()}JobStatus"] == "Failed" and f"emulator stopped while this {running} job ran" in job["FailureReason"], job
    # `run` on it says what happened to it.
    rerun = run_cli("run", "--target", "local", "--rows", "400000", "--name", "cut", cwd=workdir)
    assert_clean_error(rerun, "execution cut already exists and ended FAILED", "Emulator.Stopped", "emulator stopped while this execution ran")
    assert remembered(workdir) == before
    plan_is_clean(workdir)


def test_a_journal_cut_in_the_middle_of_a_record_is_dropped_with_a_warning(workdir):
    before = remembered(workdir)
    assert run_cli("local", "down", cwd=workdir).returncode == 0
    journal = workdir / ".pipeline-tools" / "emulator" / "journal"
    data = journal.read_bytes()
    offset, last = data.index(b"\n") + 1, None
    while offset < len(data):  # walk the records: magic, length, crc32, payload
        last = offset
        offset += 12 + int.from_bytes(data[offset + 4 : offset + 8], "little")
    size = len(data)
    with open(journal, "ab") as handle:  # a second copy of the last record, cut halfway: a torn append
        handle.write(data[last : last + (size - last) // 2])
    started = up(workdir)
    warnings = state_of(workdir)["restored"]["warnings"]
    assert len(warnings) == 1 and "cut short" in warnings[0], warnings
    # The torn tail is gone and nothing before it: the journal is what it was, plus only whole
    # records the restarted server appended (a torn tail left in place would hide them on the next restart).
    after = journal.read_bytes()
    assert after[:size] == data
    offset = size
    while offset < len(after):
        magic, length, crc = struct.unpack_from("<4sII", after, offset)
        assert magic == b"PTJR" and zlib.crc32(after[offset + 12 : offset + 12 + length]) == crc, offset
        offset += 12 + length
    assert offset == len(after)
    assert remembered(workdir) == before
    assert "Traceback" not in started.stderr


def test_two_emulators_on_one_state_directory_are_refused(workdir):
    state = state_of(workdir)
    second = subprocess.run(
        [sys.executable, "-m", "pipeline_tools.emulator.serve", "--port", "0", "--state-dir", str(workdir / ".pipeline-tools")],
        capture_output=True, text=True, timeout=120,
    )
    assert second.returncode == 2, second.stdout + second.stderr
    assert f"held by emulator process {state['pid']}" in second.stdout, second.stdout
    # `local up` with the record gone (another checkout's CLI, a deleted emulator.json) names the holder too.
    record = workdir / ".pipeline-tools" / "emulator.json"
    saved = record.read_text()
    record.unlink()
    try:
        refused = run_cli("local", "up", "--port", "0", cwd=workdir)
        assert_clean_error(refused, f"is held by emulator process {state['pid']}", "local down")
    finally:
        record.write_text(saved)


def test_local_reset_asks_first_and_wipes_on_yes(tmp_path):
    (tmp_path / ".pipeline-tools" / "emulator").mkdir(parents=True)
    (tmp_path / ".pipeline-tools" / "emulator" / "journal").write_bytes(b"x")
    refused = run_cli("local", "reset", cwd=tmp_path)  # no terminal, no --yes
    assert_clean_error(refused, "local reset", "--yes")
    assert (tmp_path / ".pipeline-tools" / "emulator" / "journal").exists()
    wiped = run_cli("local", "reset", "--yes", cwd=tmp_path)
    assert wiped.returncode == 0, wiped.stderr
    assert not (tmp_path / ".pipeline-tools" / "emulator").exists()


def test_a_state_written_by_an_incompatible_version_is_refused_with_the_fix(tmp_path):
    journal = tmp_path / ".pipeline-tools" / "emulator" / "journal"
    journal.parent.mkdir(parents=True)
    journal.write_bytes(b'PTJOURNAL {"format": 1, "moto": "4.0.0", "python": "3.11", "created": 0}\n')
    refused = run_cli("local", "up", "--port", "0", cwd=tmp_path)
    assert_clean_error(refused, "incompatible version", "moto 4.0.0", "pipeline-tools local reset")
    assert not (tmp_path / ".pipeline-tools" / "emulator.json").exists()


def test_a_growing_journal_is_compacted_and_still_restores_everything(tmp_path):
    """Many changes to one service grow the journal by a record each; past the threshold it is
    rewritten to one record per service, and a restart still finds the latest state and every body."""
    compact = {"PIPELINE_TOOLS_JOURNAL_COMPACT_BYTES": "30000"}
    started = run_cli("local", "up", "--port", "0", cwd=tmp_path, env=compact)
    assert started.returncode == 0, started.stdout + started.stderr
    journal = tmp_path / ".pipeline-tools" / "emulator" / "journal"
    try:
        s3 = project_clients(tmp_path)["s3"]
        s3.create_bucket(Bucket="compacted")
        s3.put_object(Bucket="compacted", Key="kept.txt", Body=b"written before the compactions")
        sizes = []
        for version in range(80):
            s3.put_bucket_tagging(Bucket="compacted", Tagging={"TagSet": [{"Key": "version", "Value": str(version)}]})
            sizes.append(journal.stat().st_size)
        shrinks = sum(1 for before, after in zip(sizes, sizes[1:]) if after < before)
        assert shrinks >= 1, sizes  # rewritten at least once
        record = sizes[1] - sizes[0]  # one S3 snapshot record
        assert record > 0 and sizes[-1] < sizes[0] + 79 * record / 2, sizes  # not 80 records long
    finally:
        run_cli("local", "down", cwd=tmp_path)
    up(tmp_path)
    try:
        s3 = project_clients(tmp_path)["s3"]
        assert s3.get_bucket_tagging(Bucket="compacted")["TagSet"] == [{"Key": "version", "Value": "79"}]
        assert s3.get_object(Bucket="compacted", Key="kept.txt")["Body"].read() == b"written before the compactions"
    finally:
        run_cli("local", "down", cwd=tmp_path)

