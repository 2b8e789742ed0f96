"""The durable journal (python/pipeline_tools/emulator/durable.py) in-process, at its edges: what a
record is, when one is written and made durable, what a torn or corrupt tail does on restore (and
that a second restart still finds what was written after the first), when the journal is compacted,
the header and the lock. tests/test_durable.py drives the same journal through a real server;
these run in a second and pin the narrow behaviours (issue 26)."""

from __future__ import annotations

import json
import time
import os
import struct
import types
import zlib
from pathlib import Path

import pytest

from pipeline_tools.emulator import durable
from pipeline_tools.errors import EnvironmentProblem

ACCOUNT = "555555555555"  # an account nothing else in the test process uses


@pytest.fixture
def s3(monkeypatch):
    """The S3 backends, the test's account emptied; the patches' side state left out (whether a
    patch module is imported in this process varies), except where a test puts it back."""
    from moto.s3.models import s3_backends

    monkeypatch.setattr(durable, "SIDE_STATE", {})

    s3_backends[ACCOUNT].clear()
    yield s3_backends
    for name in list(s3_backends[ACCOUNT]["aws"].buckets):
        s3_backends.bucket_accounts.pop(name, None)
    s3_backends[ACCOUNT].clear()


def buckets(s3) -> list[str]:
    return sorted(dict.get(s3[ACCOUNT], "aws").buckets) if dict.get(s3[ACCOUNT], "aws") is not None else []


def forget(s3) -> None:
    """What a fresh server process starts with: no S3 state for the account."""
    for name in buckets(s3):
        s3.bucket_accounts.pop(name, None)
    s3[ACCOUNT].clear()


def reopen(tmp_path: Path, s3) -> tuple[durable.Store, dict]:
    forget(s3)
    store = durable.Store(tmp_path)
    return store, store.open()


def records(path: Path, service: str | None = None) -> list[tuple[int, int]]:
    """(offset, length) of each whole record after the header (of ``service``'s, if given);
    asserts nothing else follows."""
    data = path.read_bytes()
    offset, found = data.index(b"\n") + 1, []
    while offset < len(data):
        magic, length, crc = struct.unpack_from("<4sII", data, offset)
        payload = data[offset + 12 : offset + 12 + length]
        assert magic == b"PTJR" and zlib.crc32(payload) == crc
        if service is None or payload[1 : 1 + payload[0]].decode() == service:
            found.append((offset, length))
        offset += 12 + length
    assert offset == len(data)
    return found


S3_KEY = "moto.s3.models:S3Backend"


def test_a_record_is_written_when_the_state_changed_and_is_durable_when_flush_returns(tmp_path, s3, monkeypatch):
    store = durable.Store(tmp_path)
    store.open()
    journal = tmp_path / "emulator" / "journal"
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.fstat(fd).st_size), real_fsync(fd)))
    s3[ACCOUNT]["aws"].create_bucket("journal-a", "us-east-1")
    assert store.flush(["s3"]) == 1
    assert synced and synced[-1] == journal.stat().st_size  # fsynced with the record in it, before returning
    synced.clear()
    assert store.flush(["s3"]) == 0 and synced == []  # unchanged: nothing written, nothing synced
    s3[ACCOUNT]["aws"].create_bucket("journal-b", "us-east-1")
    assert store.flush(["s3"]) == 1 and synced[-1] == journal.stat().st_size
    assert len([r for r in records(journal)]) == 2
    assert store.costs()["request"]["flushes"] == 3 and store.costs()["request"]["bytes"] > 0
    store.close()
    store.close()  # twice is harmless
    assert store.flush() == 0  # closed: nothing to write to


def test_a_restart_restores_the_last_record_of_each_service(tmp_path, s3):
    store = durable.Store(tmp_path)
    store.open()
    s3[ACCOUNT]["aws"].create_bucket("journal-a", "us-east-1")
    store.flush(["s3"])
    s3[ACCOUNT]["aws"].create_bucket("journal-b", "us-east-1")
    store.close()
    store, report = reopen(tmp_path, s3)
    assert buckets(s3) == ["journal-a", "journal-b"]
    assert s3.bucket_accounts["journal-a"] == ("aws", ACCOUNT)  # S3's index over accounts, rebuilt
    assert "moto.s3.models:S3Backend" in report["services"] and report["warnings"] == []
    store.close()


def _two_records(tmp_path, s3) -> tuple[Path, list[tuple[int, int]]]:
    store = durable.Store(tmp_path)
    store.open()
    s3[ACCOUNT]["aws"].create_bucket("journal-a", "us-east-1")
    store.flush(["s3"])
    s3[ACCOUNT]["aws"].create_bucket("journal-b", "us-east-1")
    store.flush(["s3"])
    store.close()
    journal = tmp_path / "emulator" / "journal"
    return journal, records(journal, S3_KEY)


def test_a_record_with_a_bad_checksum_ends_the_journal_and_the_previous_record_stands(tmp_path, s3):
    journal, found = _two_records(tmp_path, s3)
    data = bytearray(journal.read_bytes())
    size = len(data)
    last_offset, last_length = found[-1]  # S3's second record (other services' records may follow it)
    data[last_offset + 12 + last_length // 2] ^= 0xFF  # one flipped bit in the payload: same length, wrong CRC
    journal.write_bytes(bytes(data))
    store, report = reopen(tmp_path, s3)
    assert buckets(s3) == ["journal-a"]
    (warning,) = report["warnings"]
    assert f"ends in a record whose checksum does not match at byte {last_offset}" in warning
    assert f"dropped {size - last_offset} bytes" in warning
    assert journal.stat().st_size == last_offset  # cut right where the bad record began
    store.close()


@pytest.mark.parametrize(
    "tail, problem",
    [
        (b"PTJ", "a record header cut short (3 bytes)"),
        (b"JUNK" + struct.pack("<II", 1, 0) + b"x", "bytes that are not a record"),
        (b"PTJR" + struct.pack("<II", 1000, 0) + b"only part", "a record cut short (9 of 1000 bytes)"),
    ],
)
def test_a_torn_tail_is_cut_before_anything_is_appended_so_a_second_restart_keeps_the_new_records(tmp_path, s3, tail, problem):
    journal, found = _two_records(tmp_path, s3)
    good = journal.stat().st_size
    with open(journal, "ab") as handle:
        handle.write(tail)
    store, report = reopen(tmp_path, s3)
    assert report["warnings"] == [
        f"warning: the journal {journal} ends in {problem} at byte {good} (a write cut off by a crash); "
        f"dropped {len(tail)} bytes, the state before that write is restored"
    ]
    assert journal.stat().st_size == good and buckets(s3) == ["journal-a", "journal-b"]
    s3[ACCOUNT]["aws"].create_bucket("journal-c", "us-east-1")  # acknowledged after the first restart
    store.flush(["s3"])
    store.close()
    store, report = reopen(tmp_path, s3)
    assert report["warnings"] == [] and buckets(s3) == ["journal-a", "journal-b", "journal-c"]
    store.close()


def test_the_journal_is_compacted_once_it_is_past_four_times_what_is_live(tmp_path, s3, monkeypatch):
    monkeypatch.setenv("PIPELINE_TOOLS_JOURNAL_COMPACT_BYTES", "1")
    store = durable.Store(tmp_path)
    store.open()
    bucket = s3[ACCOUNT]["aws"].create_bucket("journal-a", "us-east-1")
    journal = tmp_path / "emulator" / "journal"
    sizes = []
    for version in range(6):
        bucket.pipeline_tools_version = f"v{version}"  # same size, new bytes: one record of the same length each
        store.flush(["s3"])
        sizes.append(journal.stat().st_size)
    header = len(journal.read_bytes().split(b"\n", 1)[0]) + 1
    record = sizes[1] - sizes[0]
    assert record > header  # so 4 records (not 3) are the first to pass 4x one live record
    assert sizes[:3] == [sizes[0], sizes[0] + record, sizes[0] + 2 * record]
    assert sizes[3] < sizes[2]  # the fourth record made it header + 4 records > 4 x live: rewritten
    store.close()
    _, report = reopen(tmp_path, s3)
    assert dict.get(s3[ACCOUNT], "aws").buckets["journal-a"].pipeline_tools_version == "v5"


def test_a_small_journal_is_not_compacted_below_the_floor(tmp_path, s3, monkeypatch):
    monkeypatch.delenv("PIPELINE_TOOLS_JOURNAL_COMPACT_BYTES", raising=False)
    store = durable.Store(tmp_path)
    store.open()
    bucket = s3[ACCOUNT]["aws"].create_bucket("journal-a", "us-east-1")
    journal = tmp_path / "emulator" / "journal"
    sizes = []
    for version in range(6):
        bucket.pipeline_tools_version = f"v{version}"
        store.flush(["s3"])
        sizes.append(journal.stat().st_size)
    assert sizes == sorted(sizes) and len(set(sizes)) == 6  # only grows: under COMPACT_MIN_BYTES (8 MiB)
    assert durable.COMPACT_MIN_BYTES == 8 << 20
    store.close()


def test_the_header_names_format_moto_and_python_and_anything_else_is_refused(tmp_path):
    assert durable.read_header(tmp_path) is None
    journal = tmp_path / "emulator" / "journal"
    journal.parent.mkdir(parents=True)
    journal.write_bytes(b"not a journal\n")
    with pytest.raises(durable.IncompatibleState, match="is not a journal this version can read"):
        durable.read_header(tmp_path)
    journal.write_bytes(b"PTJOURNAL {broken\n")
    with pytest.raises(durable.IncompatibleState, match="is not a journal this version can read"):
        durable.read_header(tmp_path)
    wanted = durable.expected_header()
    journal.write_bytes(durable.MAGIC + json.dumps({**wanted, "created": 12.5}).encode() + b"\n")
    assert durable.read_header(tmp_path)["moto"] == wanted["moto"] and durable.created_at(tmp_path) == 12.5
    journal.write_bytes(durable.MAGIC + json.dumps({**wanted, "python": "2.7", "format": 0}).encode() + b"\n")
    with pytest.raises(durable.IncompatibleState) as raised:
        durable.read_header(tmp_path)
    assert f"format 0 (this version: {durable.FORMAT}), python 2.7 (this version: {wanted['python']})" in str(raised.value)
    assert raised.value.fix == durable.RESET_HINT


def test_one_server_per_directory(tmp_path):
    assert durable.holder(tmp_path) is None
    handle = durable.acquire(tmp_path, 4242, 47145)
    try:
        assert durable.holder(tmp_path) == {"pid": 4242, "port": 47145}
        with pytest.raises(EnvironmentProblem) as raised:
            durable.acquire(tmp_path, 1, 2)
        assert "held by emulator process 4242 (port 47145)" in str(raised.value)
    finally:
        handle.close()
    assert durable.holder(tmp_path) is None  # released with its holder
    assert durable.wipe(tmp_path) is True and durable.wipe(tmp_path) is False


def _job(kind: str, status: str) -> types.SimpleNamespace:
    job = types.SimpleNamespace(arn=f"arn:{kind}:{status}", failure_reason=None, last_modified_time=None)
    setattr(job, f"{kind}_job_status", status)
    if kind == "training":
        job.secondary_status = status
        job.secondary_status_transitions = [{"Status": "Training", "StartTime": 1}]
    return job


def test_jobs_running_when_the_emulator_died_end_saying_so():
    import datetime

    now = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.timezone.utc)
    backend = types.SimpleNamespace(
        processing_jobs={"a": _job("processing", "InProgress"), "b": _job("processing", "Completed")},
        training_jobs={"c": _job("training", "Stopping")},
        transform_jobs={"d": _job("transform", "InProgress")},
    )
    assert durable._end_jobs(backend, now) == ["arn:processing:InProgress", "arn:training:Stopping", "arn:transform:InProgress"]
    a, b, c, d = backend.processing_jobs["a"], backend.processing_jobs["b"], backend.training_jobs["c"], backend.transform_jobs["d"]
    assert (a.processing_job_status, b.processing_job_status, c.training_job_status, d.transform_job_status) == ("Failed", "Completed", "Stopped", "Failed")
    assert a.failure_reason == (
        "The local emulator stopped while this processing job ran (it was ended when the emulator restarted, "
        "2026-11-28 12:00:00 UTC); nothing of it runs any more. Start it again."
    )
    assert b.failure_reason is None and a.processing_end_time == now and a.last_modified_time == now
    assert c.secondary_status == "Stopped"
    assert c.secondary_status_transitions == [
        {"Status": "Training", "StartTime": 1, "EndTime": now},
        {"Status": "Stopped", "StartTime": now, "EndTime": now, "StatusMessage": c.failure_reason},
    ]


# ---- what the journal keeps beside moto's state, and what a restart ends --------------------------


def test_body_files_no_record_refers_to_are_deleted_at_start_and_only_old_ones_later(tmp_path, s3, monkeypatch):
    store = durable.Store(tmp_path)
    store.open()
    bucket = s3[ACCOUNT]["aws"].create_bucket("journal-a", "us-east-1")
    kept = types.SimpleNamespace(_pipeline_tools_body="kept-body")
    bucket.pipeline_tools_body = kept  # an object's body file, as patches/s3_bodies_on_disk names it
    objects = tmp_path / "emulator" / "objects"
    for name in ("kept-body", "orphan-old", "orphan-new"):
        (objects / name).write_bytes(b"x")
    old = time.time() - 120
    os.utime(objects / "orphan-old", (old, old))
    store.flush(["s3"])
    assert store._bodies["moto.s3.models:S3Backend"] == {"kept-body"}
    store._collect_garbage(all_unreferenced=False)  # while running: only unreferenced files older than a minute
    assert sorted(p.name for p in objects.iterdir()) == ["kept-body", "orphan-new"]
    store.close()
    (objects / "orphan-new-2").write_bytes(b"x")
    store, _ = reopen(tmp_path, s3)  # at start: every unreferenced file
    assert sorted(p.name for p in objects.iterdir()) == ["kept-body"]
    store.close()


def test_the_open_report_says_what_was_restored_and_when_the_state_began(tmp_path, s3, monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.25)
    store = durable.Store(tmp_path)
    first = store.open()
    assert first["services"] == [] and first["interrupted"] == [] and first["warnings"] == [] and first["created"] == 1_800_000_000.25
    assert 0 <= first["restore_seconds"] < 5 and store.report is first
    assert durable.read_header(tmp_path) == {**durable.expected_header(), "created": 1_800_000_000.25}
    s3[ACCOUNT]["aws"].create_bucket("journal-a", "us-east-1")
    store.close()
    second, report = reopen(tmp_path, s3)
    assert report["created"] == 1_800_000_000.25 and S3_KEY in report["services"]  # (and whatever else this process loaded)
    second.close()


def test_side_state_of_the_patches_travels_with_s3(tmp_path, s3, monkeypatch):
    import sys

    from pipeline_tools.emulator.patches import s3_lifecycle

    monkeypatch.setattr(durable, "SIDE_STATE", {"pipeline_tools.emulator.patches.s3_lifecycle": "_sizes"})

    sizes = getattr(s3_lifecycle, "_sizes")
    sizes.clear()
    sizes["journal-a/k"] = 12
    assert "pipeline_tools.emulator.patches.s3_lifecycle" in sys.modules
    store = durable.Store(tmp_path)
    store.open()
    assert "side:pipeline_tools.emulator.patches.s3_lifecycle" in store._states(["s3"])
    assert "side:pipeline_tools.emulator.patches.s3_lifecycle" not in store._states(["sagemaker"])
    store.flush(["s3"])
    store.close()
    sizes.clear()
    sizes["stale"] = 1
    store, _ = reopen(tmp_path, s3)
    assert dict(sizes) == {"journal-a/k": 12}
    sizes.clear()
    store.close()


def test_a_service_is_named_by_its_package_or_its_service():
    from moto.awslambda.models import lambda_backends

    lambda_backends[ACCOUNT]  # a BackendDict is journaled once an account uses it
    store = durable.Store(Path("/nonexistent"))
    assert "moto.awslambda.models:LambdaBackend" in store._states(["awslambda"])
    assert "moto.awslambda.models:LambdaBackend" in store._states(["lambda"])
    assert "moto.awslambda.models:LambdaBackend" not in store._states(["s3"])
    assert durable._find_backend_dict("moto.s3.models:S3Backend").service_name == "s3"
    with pytest.raises(LookupError):
        durable._find_backend_dict("moto.s3.models:NoSuchBackend")


class _Function:
    pass


def test_kms_keys_and_lambda_storage_pickle_after_the_reducers_are_registered():
    import pickle
    import weakref

    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    durable._register_reducers()
    for key in (rsa.generate_private_key(public_exponent=65537, key_size=1024), ec.generate_private_key(ec.SECP256R1())):
        copy = pickle.loads(pickle.dumps(key))
        assert copy.private_numbers() == key.private_numbers()
    holder = _Function()
    mapping = weakref.WeakValueDictionary({"arn": holder})
    restored = pickle.loads(pickle.dumps((holder, mapping)))
    assert isinstance(restored[1], weakref.WeakValueDictionary) and restored[1]["arn"] is restored[0]
    from moto.awslambda.models import LambdaStorage

    storage = LambdaStorage(region_name="us-east-1", account_id=ACCOUNT)
    storage._aliases["f"]["live"] = "x"
    copy = pickle.loads(pickle.dumps(storage))
    assert copy._aliases["f"]["live"] == "x" and copy._aliases["new"] == {}  # still a defaultdict


def test_held_message_names_the_holder_and_the_fix(tmp_path):
    message = durable.held_message(tmp_path, {"pid": 7, "port": 9})
    assert message.problem == f"the local state in {tmp_path / 'emulator'} is held by emulator process 7 (port 9)"
    assert message.fix == "one emulator per state directory: use that one, or stop it (`pipeline-tools local down`, or kill 7)"
    anonymous = durable.held_message(tmp_path, {})
    assert anonymous.problem.endswith("is held by emulator process ?") and anonymous.fix.endswith("or kill it)")


class _Status:
    def __init__(self, value: str) -> None:
        self.value = value


def test_executions_running_when_the_emulator_died_end_failed_with_an_event():
    import datetime

    from moto.stepfunctions.parser.api import ExecutionStatus

    now = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.timezone.utc)
    events = [{"id": 1, "type": "ExecutionStarted"}, {"id": 2, "type": "TaskStateEntered"}]
    running = types.SimpleNamespace(exec_status=ExecutionStatus.RUNNING, exec_arn="arn:run", stop_date=None, error=None, cause=None,
                                    exec_worker=types.SimpleNamespace(env=types.SimpleNamespace(event_manager=types.SimpleNamespace(events=events))))
    bare = types.SimpleNamespace(exec_status=ExecutionStatus.RUNNING, exec_arn="arn:bare", exec_worker=None)
    done = types.SimpleNamespace(exec_status=ExecutionStatus.SUCCEEDED, exec_arn="arn:done", error=None)
    backend = types.SimpleNamespace(state_machines=[types.SimpleNamespace(executions=[running, done]), types.SimpleNamespace(executions=[bare])])
    assert durable._end_executions(backend, now) == ["arn:run", "arn:bare"]
    cause = durable.stopped_cause(now, "execution")
    assert (running.exec_status, running.stop_date, running.error, running.cause) == (ExecutionStatus.FAILED, now, "Emulator.Stopped", cause)
    assert events[-1] == {"timestamp": now, "type": "ExecutionFailed", "id": 3, "previousEventId": 2,
                          "executionFailedEventDetails": {"error": "Emulator.Stopped", "cause": cause}}
    assert bare.exec_status == ExecutionStatus.FAILED and done.exec_status == ExecutionStatus.SUCCEEDED and done.error is None
    empty = types.SimpleNamespace(exec_status=ExecutionStatus.RUNNING, exec_arn="arn:empty", exec_worker=types.SimpleNamespace(env=types.SimpleNamespace(event_manager=types.SimpleNamespace(events=[]))))
    durable._end_executions(types.SimpleNamespace(state_machines=[types.SimpleNamespace(executions=[empty])]), now)
    assert empty.exec_worker.env.event_manager.events[0]["id"] == 1 and empty.exec_worker.env.event_manager.events[0]["previousEventId"] == 0


def test_something_runs_while_an_execution_runs_or_a_job_is_being_stopped(monkeypatch):
    from pipeline_tools.emulator.patches import sagemaker_jobs

    execution = types.SimpleNamespace(exec_status=_Status("RUNNING"))
    finished = types.SimpleNamespace(exec_status=_Status("SUCCEEDED"))
    machines = {"us-east-1": types.SimpleNamespace(state_machines=[types.SimpleNamespace(executions=[finished, execution])])}
    sfn = types.SimpleNamespace(service_name="stepfunctions", values=lambda: [machines])
    other = types.SimpleNamespace(service_name="s3", values=lambda: [{"aws": types.SimpleNamespace(state_machines=[types.SimpleNamespace(executions=[execution])])}])
    monkeypatch.setattr(sagemaker_jobs, "_stops", {})
    monkeypatch.setattr(durable, "_loaded", lambda: {"sfn": sfn, "other": other})
    assert durable._anything_running() is True
    execution.exec_status = _Status("SUCCEEDED")
    assert durable._anything_running() is False  # and the s3 backend's look-alike is not read
    monkeypatch.setattr(sagemaker_jobs, "_stops", {"job": object()})
    assert durable._anything_running() is True


def test_the_background_flush_runs_while_something_is_active(tmp_path, monkeypatch):
    store = durable.Store(tmp_path)
    calls: list[tuple] = []
    monkeypatch.setattr(store, "flush", lambda services=None, origin="request": calls.append((tuple(services), origin)))
    active = {"running": False}
    monkeypatch.setattr(durable, "_anything_running", lambda: active["running"])
    store.last_activity = time.monotonic()  # a request just now
    store.start_background(interval=0.05)
    time.sleep(0.3)
    assert calls and calls[0] == (durable.BACKGROUND_SERVICES, "background")
    store.last_activity = time.monotonic() - 10  # idle for 10 s, nothing running: no flushes
    time.sleep(0.15)
    before = len(calls)
    time.sleep(0.3)
    assert len(calls) == before
    active["running"] = True
    time.sleep(0.3)
    assert len(calls) > before
    store.touch()
    assert time.monotonic() - store.last_activity < 0.1
