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
from typing import Any

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


def _open_with_a_bucket(tmp_path, s3):
    """A journal opened in ``tmp_path``, then a bucket created (not yet flushed)."""
    store = durable.Store(tmp_path)
    store.open()
    return store, s3[ACCOUNT]["aws"].create_bucket("journal-a", "us-east-1")


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
        (b"PTJR" + struct.pack("<II", 0, 0), "a record without its key"),  # an empty payload's CRC is 0: it passes the checksum
        (b"PTJR" + struct.pack("<II", 2, zlib.crc32(b"\x05k")) + b"\x05k", "a record without its key"),  # key length 5, 1 byte of key
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
    store, bucket = _open_with_a_bucket(tmp_path, s3)
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
    store, bucket = _open_with_a_bucket(tmp_path, s3)
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
    store, bucket = _open_with_a_bucket(tmp_path, s3)
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


# ---- narrow faults the mutation run found unpinned (issue 26, docs/mutation.md) -------------------


class _Clock:
    """A stand-in for durable's ``time``: perf_counter and monotonic under the test's control."""

    def __init__(self, real=time):
        import threading

        self.real, self.perf, self.mono, self.sleeps, self.threads = real, 0.0, 1000.0, [], threading
        self.only: Any = None  # the thread whose pauses are recorded (earlier tests' flush threads keep running)

    def perf_counter(self):
        return self.perf

    def monotonic(self):
        return self.mono

    def time(self):
        return self.real.time()

    def sleep(self, seconds):
        if self.only in (None, self.threads.current_thread()):
            self.sleeps.append(seconds)
        self.real.sleep(0.005)


def test_flush_costs_add_up_seconds_flushes_and_the_bytes_each_flush_appended(tmp_path, s3, monkeypatch):
    assert durable.Store(tmp_path).flush() == 0  # never opened: nothing to write to, nothing to count bytes of
    store = durable.Store(tmp_path)
    store.open()
    clock = _Clock()
    monkeypatch.setattr(durable, "time", clock)
    journal = tmp_path / "emulator" / "journal"
    sizes = [journal.stat().st_size]
    real_flush = store._flush

    def timed(services):
        clock.perf += 0.25  # each flush takes a quarter of a second
        return real_flush(services)

    monkeypatch.setattr(store, "_flush", timed)
    s3[ACCOUNT]["aws"].create_bucket("journal-a", "us-east-1")
    store.flush(["s3"])
    sizes.append(journal.stat().st_size)
    store.flush(["s3"])  # unchanged: no bytes
    s3[ACCOUNT]["aws"].create_bucket("journal-b", "us-east-1")
    store.flush(["s3"])
    sizes.append(journal.stat().st_size)
    assert store.costs()["request"] == {"seconds": 0.75, "flushes": 3, "bytes": sizes[2] - sizes[0]}
    s3[ACCOUNT]["aws"].create_bucket("journal-c", "us-east-1")
    store.close()
    assert store.costs()["close"] == {"seconds": 0.25, "flushes": 1, "bytes": journal.stat().st_size - sizes[2]}


def test_an_unchanged_state_writes_nothing_after_a_compaction(tmp_path, s3, monkeypatch):
    store, bucket = _open_with_a_bucket(tmp_path, s3)
    store.flush(["s3"])
    monkeypatch.setenv("PIPELINE_TOOLS_JOURNAL_COMPACT_BYTES", "1")
    journal = tmp_path / "emulator" / "journal"
    for version in range(10):
        size = journal.stat().st_size
        bucket.pipeline_tools_version = f"v{version}"
        store.flush(["s3"])
        if journal.stat().st_size < size:
            break  # this flush compacted the journal (past 4x live)
    else:
        raise AssertionError("never compacted")
    assert store.flush(["s3"]) == 0  # the rewritten record's digest is the state's
    store.close()


def test_a_rewrite_records_the_bodies_its_records_refer_to(tmp_path, s3):
    store, bucket = _open_with_a_bucket(tmp_path, s3)
    bucket.pipeline_tools_body = types.SimpleNamespace(_pipeline_tools_body="old-body")
    store.flush(["s3"])
    del bucket.pipeline_tools_body  # S3 changed, not flushed yet: a compaction (another service's flush) rewrites it
    store._file.close()
    store._rewrite(store._states(None))
    store._file = open(store.path, "ab")
    assert store._bodies[S3_KEY] == set()
    store.close()


def test_the_live_size_counted_is_each_records_bytes_on_disk(tmp_path, s3, monkeypatch):
    journal = tmp_path / "emulator" / "journal"
    store = durable.Store(tmp_path)
    store.open()
    s3[ACCOUNT]["aws"].create_bucket("journal-a", "us-east-1")
    store.flush(["s3"])
    ((_, length),) = records(journal, S3_KEY)
    assert store._sizes[S3_KEY] == length + 12  # header (magic, length, crc) + payload
    store.close()
    store, _ = reopen(tmp_path, s3)
    assert store._sizes[S3_KEY] == length + 12  # counted the same when restored
    monkeypatch.setenv("PIPELINE_TOOLS_JOURNAL_COMPACT_BYTES", "1")
    store._maybe_compact()  # header + every service's record > 4 x live? compacts only when past it
    store._file.close()
    store._rewrite(store._states(None))
    store._file = open(store.path, "ab")
    (( _, rewritten),) = records(journal, S3_KEY)
    assert store._sizes[S3_KEY] == rewritten + 12  # and when rewritten
    store.close()


def test_compaction_happens_only_past_the_floor_not_at_it_and_keeps_new_body_files(tmp_path, s3, monkeypatch):
    store, bucket = _open_with_a_bucket(tmp_path, s3)
    journal = tmp_path / "emulator" / "journal"
    bucket.pipeline_tools_version = "v0"
    store.flush(["s3"])
    first = journal.stat().st_size
    bucket.pipeline_tools_version = "v1"
    store.flush(["s3"])
    record = journal.stat().st_size - first
    fresh = tmp_path / "emulator" / "objects" / "written-for-a-request-not-journaled-yet"
    fresh.write_bytes(b"x")
    monkeypatch.setenv("PIPELINE_TOOLS_JOURNAL_COMPACT_BYTES", str(first + 5 * record))  # > 4 x live from the start
    for version in range(2, 6):
        bucket.pipeline_tools_version = f"v{version}"
        store.flush(["s3"])
    assert journal.stat().st_size == first + 5 * record  # exactly at the floor: not past it, not compacted
    bucket.pipeline_tools_version = "v6"
    store.flush(["s3"])
    assert journal.stat().st_size < first + 5 * record  # past it: compacted
    assert fresh.exists()  # a new unreferenced body may belong to a request being journaled: kept
    store.close()


def test_a_crash_after_a_compaction_restores_the_compacted_state(tmp_path, s3, monkeypatch):
    monkeypatch.setenv("PIPELINE_TOOLS_JOURNAL_COMPACT_BYTES", "1")
    store, bucket = _open_with_a_bucket(tmp_path, s3)
    journal = tmp_path / "emulator" / "journal"
    for version in range(4):
        bucket.pipeline_tools_version = f"v{version}"
        store.flush(["s3"])
    assert len(records(journal, S3_KEY)) == 1  # just rewritten
    store._file.close()  # killed: no close(), no last flush
    _, report = reopen(tmp_path, s3)
    assert report["warnings"] == [] and dict.get(s3[ACCOUNT], "aws").buckets["journal-a"].pipeline_tools_version == "v3"


def test_the_header_is_written_with_sorted_keys(tmp_path, s3):
    store = durable.Store(tmp_path)
    store.open()
    line = (tmp_path / "emulator" / "journal").read_bytes().split(b"\n", 1)[0]
    assert line == durable.MAGIC + json.dumps(store.header, sort_keys=True).encode()
    assert list(json.loads(line[len(durable.MAGIC):])) == sorted(store.header)
    store.close()


def test_records_are_pickled_with_the_highest_protocol(tmp_path, s3):
    import pickle

    store = durable.Store(tmp_path)
    store.open()
    s3[ACCOUNT]["aws"].create_bucket("journal-a", "us-east-1")
    store.flush(["s3"])
    store.close()
    journal = tmp_path / "emulator" / "journal"
    ((offset, length),) = records(journal, S3_KEY)
    payload = journal.read_bytes()[offset + 12 : offset + 12 + length]
    assert payload[1 + payload[0] :][:2] == bytes([0x80, pickle.HIGHEST_PROTOCOL])


def test_a_change_to_a_later_service_is_written_when_an_earlier_one_is_unchanged(tmp_path, s3, monkeypatch):
    from pipeline_tools.emulator.patches import s3_lifecycle

    monkeypatch.setattr(durable, "SIDE_STATE", {"pipeline_tools.emulator.patches.s3_lifecycle": "_sizes"})
    sizes = getattr(s3_lifecycle, "_sizes")
    saved = dict(sizes)
    try:
        sizes.clear()
        store = durable.Store(tmp_path)
        store.open()
        s3[ACCOUNT]["aws"].create_bucket("journal-a", "us-east-1")
        sizes["journal-a/k"] = 1
        assert store.flush(["s3"]) == 2  # S3's record and the side state's: both counted
        sizes["journal-a/k"] = 2  # S3 (first) unchanged, the side state (after it) changed
        assert store.flush(["s3"]) == 1
        journal = tmp_path / "emulator" / "journal"
        assert len(records(journal, "side:pipeline_tools.emulator.patches.s3_lifecycle")) == 2
        store.close()
    finally:
        sizes.clear()
        sizes.update(saved)


def test_body_names_are_forgotten_when_the_last_body_goes(tmp_path, s3):
    store, bucket = _open_with_a_bucket(tmp_path, s3)
    bucket.pipeline_tools_body = types.SimpleNamespace(_pipeline_tools_body="kept-body")
    store.flush(["s3"])
    assert store._bodies[S3_KEY] == {"kept-body"}
    del bucket.pipeline_tools_body
    store.flush(["s3"])
    assert store._bodies[S3_KEY] == set()
    store.close()


def test_old_unreferenced_bodies_are_deleted_only_past_a_minute_and_only_once_s3_is_journaled(tmp_path, s3, monkeypatch):
    store = durable.Store(tmp_path)
    store.open()
    objects = tmp_path / "emulator" / "objects"
    now = 1_800_000_000.0
    monkeypatch.setattr(durable, "time", types.SimpleNamespace(time=lambda: now, monotonic=time.monotonic, perf_counter=time.perf_counter))
    ages = {"older": 61.0, "a-minute": 60.0, "younger": 59.5}
    for name, age in ages.items():
        (objects / name).write_bytes(b"x")
        os.utime(objects / name, (now - age, now - age))
    store._collect_garbage(all_unreferenced=False)
    assert sorted(p.name for p in objects.iterdir()) == sorted(ages)  # no S3 record yet: nothing is known unreferenced
    s3[ACCOUNT]["aws"].create_bucket("journal-a", "us-east-1")
    store.flush(["s3"])
    store._collect_garbage(all_unreferenced=False)
    assert sorted(p.name for p in objects.iterdir()) == ["a-minute", "younger"]  # strictly older than a minute
    vanished = []
    real_unlink = os.unlink

    def unlink(path):  # another process (a reset) took it first
        vanished.append(path)
        real_unlink(path)
        raise FileNotFoundError(path)

    monkeypatch.setattr(os, "unlink", unlink)
    store._collect_garbage(all_unreferenced=True)
    monkeypatch.setattr(os, "unlink", real_unlink)
    assert len(vanished) == 2 and list(objects.iterdir()) == []
    store.close()


def test_bodies_the_side_state_does_not_name_are_still_referenced_by_s3_at_start(tmp_path, s3, monkeypatch):
    from pipeline_tools.emulator.patches import s3_lifecycle

    monkeypatch.setattr(durable, "SIDE_STATE", {"pipeline_tools.emulator.patches.s3_lifecycle": "_sizes"})
    store, bucket = _open_with_a_bucket(tmp_path, s3)
    bucket.pipeline_tools_body = types.SimpleNamespace(_pipeline_tools_body="kept-body")
    (tmp_path / "emulator" / "objects" / "kept-body").write_bytes(b"x")
    assert "side:pipeline_tools.emulator.patches.s3_lifecycle" in store._states(["s3"])  # S3's record, then the side state's
    store._collect_garbage(all_unreferenced=True)
    assert (tmp_path / "emulator" / "objects" / "kept-body").exists()
    store.close()
    del s3_lifecycle


def test_open_creates_the_folders_points_s3_bodies_there_and_times_the_restore(tmp_path, s3, monkeypatch):
    from pipeline_tools.emulator.patches import s3_bodies_on_disk

    monkeypatch.setattr(s3_bodies_on_disk, "BODIES", s3_bodies_on_disk.BODIES)
    import threading

    clock = _Clock()
    ticks, test = iter([10.0, 11.23456]), threading.current_thread()  # (earlier tests' flush threads read the real clock)
    monkeypatch.setattr(clock, "perf_counter", lambda: next(ticks) if threading.current_thread() is test else time.perf_counter())
    monkeypatch.setattr(durable, "time", clock)
    store = durable.Store(tmp_path / "deep" / "state")
    report = store.open()
    assert s3_bodies_on_disk.BODIES == tmp_path / "deep" / "state" / "emulator" / "objects" and s3_bodies_on_disk.BODIES.is_dir()
    assert report["restore_seconds"] == 1.235
    monkeypatch.setattr(durable, "time", time)
    store.close()


def test_a_header_line_is_read_up_to_4096_bytes(tmp_path):
    journal = tmp_path / "emulator" / "journal"
    journal.parent.mkdir(parents=True)
    wanted = durable.expected_header()

    def line_of(size: int) -> bytes:
        head = durable.MAGIC + json.dumps({**wanted, "pad": ""}).encode()
        return durable.MAGIC + json.dumps({**wanted, "pad": "x" * (size - len(head))}).encode()

    assert len(line_of(4096)) == 4096 and len(line_of(4097)) == 4097
    journal.write_bytes(line_of(4096) + b"\n")
    assert durable.read_header(tmp_path)["pad"]
    journal.write_bytes(line_of(4097) + b"\n")  # a header longer than that is not one this version writes
    with pytest.raises(durable.IncompatibleState) as raised:
        durable.read_header(tmp_path)
    assert raised.value.problem == f"the local emulator state in {tmp_path / 'emulator'} is not a journal this version can read"
    assert raised.value.fix == durable.RESET_HINT


def test_created_at_is_none_without_a_journal_or_a_creation_time(tmp_path):
    assert durable.created_at(tmp_path) is None
    journal = tmp_path / "emulator" / "journal"
    journal.parent.mkdir(parents=True)
    journal.write_bytes(durable.MAGIC + json.dumps(durable.expected_header()).encode() + b"\n")
    assert durable.created_at(tmp_path) is None
    journal.write_bytes(durable.MAGIC + json.dumps({**durable.expected_header(), "created": "yesterday"}).encode() + b"\n")
    assert durable.created_at(tmp_path) is None
    journal.write_bytes(durable.MAGIC + json.dumps({**durable.expected_header(), "created": 7}).encode() + b"\n")
    assert durable.created_at(tmp_path) == 7.0 and isinstance(durable.created_at(tmp_path), float)


def test_the_header_names_this_pythons_major_and_minor_version():
    import platform

    assert durable.expected_header()["python"] == ".".join(platform.python_version_tuple()[:2])


def test_a_torn_tail_right_after_the_header_keeps_the_header(tmp_path, s3):
    store = durable.Store(tmp_path)
    store.open()
    store._file.close()  # killed before any record was written: the journal is its header alone
    journal = tmp_path / "emulator" / "journal"
    header = journal.read_bytes()
    assert header.endswith(b"\n") and header.count(b"\n") == 1
    with open(journal, "ab") as handle:
        handle.write(b"PTJR" + struct.pack("<II", 5, 0))  # exactly a record header, its payload missing
    forget(s3)
    store = durable.Store(tmp_path)
    (warning,) = store.open()["warnings"]
    assert f"ends in a record cut short (0 of 5 bytes) at byte {len(header)}" in warning
    assert journal.read_bytes()[: len(header)] == header  # cut back to the header, not before it
    store.close()


def test_a_record_that_does_not_unpickle_is_refused_with_the_fix(tmp_path, s3):
    store = durable.Store(tmp_path)
    store.open()
    store.close()
    journal = tmp_path / "emulator" / "journal"
    key = S3_KEY.encode()
    payload = bytes([len(key)]) + key + b"not a pickle"
    with open(journal, "ab") as handle:
        handle.write(struct.pack("<4sII", b"PTJR", len(payload), zlib.crc32(payload)) + payload)
    forget(s3)
    with pytest.raises(durable.IncompatibleState) as raised:
        durable.Store(tmp_path).open()
    assert raised.value.problem.startswith(
        f"the local emulator state in {tmp_path / 'emulator'} cannot be restored ({S3_KEY}: UnpicklingError: "
    )
    assert raised.value.fix == durable.RESET_HINT


class _Flaky:
    """Pickles after ``failures`` RuntimeErrors ("changed size during iteration"), or raises ``error``."""

    calls = 0

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures, self.error = failures, error

    def __reduce__(self):
        type(self).calls += 1
        if self.error is not None:
            raise self.error
        if type(self).calls <= self.failures:
            raise RuntimeError("dictionary changed size during iteration")
        return (_Flaky, (0,))


def test_a_snapshot_retries_a_state_changing_under_it_five_times_with_growing_pauses(monkeypatch):
    import threading

    clock = _Clock()
    clock.only = threading.current_thread()
    monkeypatch.setattr(durable, "time", clock)
    store = durable.Store(Path("/nonexistent"))
    _Flaky.calls = 0
    payload, bodies = store._snapshot("k", _Flaky(4))
    assert _Flaky.calls == 5 and payload.startswith(b"\x01k") and bodies == set()
    assert clock.sleeps == [0.001, 0.002, 0.003, 0.004]
    _Flaky.calls, clock.sleeps = 0, []
    with pytest.raises(RuntimeError) as raised:
        store._snapshot("k", _Flaky(5))
    assert str(raised.value) == "k: its state kept changing while it was being written"
    assert _Flaky.calls == 5 and clock.sleeps == [0.001, 0.002, 0.003, 0.004, 0.005]
    with pytest.raises(ValueError) as other:
        store._snapshot("k", _Flaky(0, ValueError("no")))
    assert str(other.value) == "k: no"


def test_the_lock_and_state_folders_are_created_with_their_parents(tmp_path):
    deep = tmp_path / "a" / "b"
    handle = durable.acquire(deep, 1, 2)
    try:
        assert durable.holder(deep) == {"pid": 1, "port": 2}
    finally:
        handle.close()


def test_a_lock_whose_words_are_not_a_holder_names_no_one(tmp_path):
    import fcntl

    lock = tmp_path / "emulator" / "lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("[4242]")
    with open(lock) as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert durable.holder(tmp_path) == {}
        with pytest.raises(EnvironmentProblem) as raised:
            durable.acquire(tmp_path, 1, 2)
        assert raised.value.problem.endswith("is held by emulator process ?")
        lock.write_text("")
        assert durable.holder(tmp_path) == {}


def test_find_backend_dict_names_the_missing_key():
    with pytest.raises(LookupError) as raised:
        durable._find_backend_dict("moto.s3.models:NoSuchBackend")
    assert raised.value.args == ("moto.s3.models:NoSuchBackend",)


def test_the_reducers_are_registered_by_register_reducers_itself(monkeypatch):
    import copyreg
    import pickle
    import weakref

    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    keys = [rsa.generate_private_key(public_exponent=65537, key_size=1024), ec.generate_private_key(ec.SECP256R1()),
            ed25519.Ed25519PrivateKey.generate()]
    table = dict(copyreg.dispatch_table)
    for kind in [weakref.WeakValueDictionary] + [type(key) for key in keys]:
        table.pop(kind, None)  # as before the first store opened in this process
    monkeypatch.setattr(copyreg, "dispatch_table", table)
    monkeypatch.setattr(pickle, "dispatch_table", table, raising=False)
    durable._register_reducers()
    assert table[weakref.WeakValueDictionary] is durable._reduce_weak_values
    assert all(table[type(key)] is durable._reduce_private_key for key in keys)
    assert None not in table


def test_end_interrupted_ends_the_executions_and_jobs_of_every_loaded_backend(monkeypatch):
    import datetime

    from moto.stepfunctions.parser.api import ExecutionStatus

    running = types.SimpleNamespace(exec_status=ExecutionStatus.RUNNING, exec_arn="arn:run", exec_worker=None)
    sfn = types.SimpleNamespace(state_machines=[types.SimpleNamespace(executions=[running])])
    job = _job("training", "InProgress")
    sagemaker = types.SimpleNamespace(processing_jobs={}, training_jobs={"t": job}, transform_jobs={})
    plain = types.SimpleNamespace()
    second = types.SimpleNamespace(exec_status=ExecutionStatus.RUNNING, exec_arn="arn:run-2", exec_worker=None)
    sfn_2 = types.SimpleNamespace(state_machines=[types.SimpleNamespace(executions=[second])])
    loaded = {"sfn": {ACCOUNT: {"us-east-1": sfn, "eu-west-1": plain, "eu-west-2": sfn_2}}, "sagemaker": {ACCOUNT: {"us-east-1": sagemaker}}}
    monkeypatch.setattr(durable, "_loaded", lambda: loaded)
    store = durable.Store(Path("/nonexistent"))
    before = datetime.datetime.now(tz=datetime.timezone.utc)
    assert store._end_interrupted() == ["arn:run", "arn:run-2", "arn:training:InProgress"]
    assert running.stop_date.tzinfo is datetime.timezone.utc and before <= running.stop_date
    assert job.training_end_time == running.stop_date and job.training_job_status == "Failed"


def test_jobs_and_executions_missing_optional_attributes_or_after_finished_ones_are_ended():
    import datetime

    from moto.stepfunctions.parser.api import ExecutionStatus

    now = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.timezone.utc)
    done = _job("processing", "Completed")
    running = _job("processing", "InProgress")
    unknown = types.SimpleNamespace(arn="arn:none")  # no status attribute at all: left alone
    bare = types.SimpleNamespace(arn="arn:bare", training_job_status="InProgress", failure_reason=None, last_modified_time=None)
    backend = types.SimpleNamespace(processing_jobs={"done": done, "unknown": unknown, "running": running},
                                    training_jobs={"bare": bare}, transform_jobs={})
    assert durable._end_jobs(backend, now) == ["arn:processing:InProgress", "arn:bare"]
    assert bare.secondary_status_transitions == [{"Status": "Failed", "StartTime": now, "EndTime": now, "StatusMessage": bare.failure_reason}]
    events = [{"id": 1}, {"id": 2}, {"id": 7}]
    finished = types.SimpleNamespace(exec_status=ExecutionStatus.SUCCEEDED, exec_arn="arn:done")
    statusless = types.SimpleNamespace(exec_arn="arn:statusless")
    later = types.SimpleNamespace(exec_status=ExecutionStatus.RUNNING, exec_arn="arn:later",
                                  exec_worker=types.SimpleNamespace(env=types.SimpleNamespace(event_manager=types.SimpleNamespace(events=events))))
    machines = [types.SimpleNamespace(), types.SimpleNamespace(executions=[finished, statusless, later])]
    assert durable._end_executions(types.SimpleNamespace(state_machines=machines), now) == ["arn:later"]
    assert events[-1]["id"] == 8 and events[-1]["previousEventId"] == 7


def test_only_step_functions_backends_are_read_for_running_executions_and_odd_shapes_are_skipped(monkeypatch):
    from pipeline_tools.emulator.patches import sagemaker_jobs

    lookalike = types.SimpleNamespace(state_machines=[types.SimpleNamespace(executions=[types.SimpleNamespace(exec_status=_Status("RUNNING"))])])
    other = types.SimpleNamespace(service_name="s3", values=lambda: [{"aws": lookalike}])
    odd = [types.SimpleNamespace(), types.SimpleNamespace(exec_status=None), types.SimpleNamespace(exec_status=object())]
    regions = {"us-east-1": types.SimpleNamespace(), "eu-west-1": types.SimpleNamespace(state_machines=[types.SimpleNamespace(), types.SimpleNamespace(executions=odd)])}
    sfn = types.SimpleNamespace(service_name="stepfunctions", values=lambda: [regions])
    monkeypatch.setattr(sagemaker_jobs, "_stops", {})
    monkeypatch.setattr(durable, "_loaded", lambda: {"other": other, "sfn": sfn})
    assert durable._anything_running() is False
    odd.append(types.SimpleNamespace(exec_status=_Status("RUNNING")))
    assert durable._anything_running() is True


def _background(store, monkeypatch, clock):
    calls: list[tuple] = []
    monkeypatch.setattr(store, "flush", lambda services=None, origin="request": calls.append((tuple(services), origin)))
    monkeypatch.setattr(durable, "_anything_running", lambda: False)
    monkeypatch.setattr(durable, "time", clock)
    return calls


def _wait(predicate, timeout: float = 10.0) -> None:
    """Until ``predicate()`` holds (the flush thread's turns, not a fixed time: a busy machine is slow)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the background thread did not get there in time"
        time.sleep(0.005)


def test_the_background_flush_runs_for_three_seconds_after_the_last_request_every_half_second(tmp_path, monkeypatch):
    import threading

    clock = _Clock()
    store = durable.Store(tmp_path)
    calls = _background(store, monkeypatch, clock)
    store.last_activity = clock.mono - 3.0  # idle exactly three seconds: no longer active
    before = set(threading.enumerate())
    store.start_background()
    (thread,) = set(threading.enumerate()) - before
    assert (thread.name, thread.daemon) == ("durable-flush", True)
    clock.sleeps, clock.only = [], thread
    _wait(lambda: len(clock.sleeps) >= 3)
    assert calls == [] and set(clock.sleeps) == {0.5}  # every turn waits the default half second
    store.last_activity = clock.mono - 2.999
    _wait(lambda: bool(calls))
    assert calls[-1] == (durable.BACKGROUND_SERVICES, "background")
    store.last_activity = clock.mono - 3.5
    turns = len(clock.sleeps)
    _wait(lambda: len(clock.sleeps) >= turns + 2)
    count = len(calls)
    _wait(lambda: len(clock.sleeps) >= turns + 5)
    assert len(calls) == count
    monkeypatch.setattr(durable, "time", time)
    store.last_activity = float("-inf")  # the thread stays (daemon); nothing more from it


def test_a_new_store_counts_as_just_active(tmp_path, monkeypatch):
    clock = _Clock()
    clock.mono = time.monotonic()
    store = durable.Store(tmp_path)
    calls = _background(store, monkeypatch, clock)
    store.start_background(interval=0.01)
    _wait(lambda: bool(calls))
    monkeypatch.setattr(durable, "time", time)
    store.last_activity = float("-inf")


def test_a_failed_background_flush_is_reported_at_once_and_flushing_goes_on(tmp_path, monkeypatch):
    clock = _Clock()
    store = durable.Store(tmp_path)
    printed: list[tuple] = []
    attempts = []

    def failing(services=None, origin="request"):
        attempts.append(origin)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "flush", failing)
    monkeypatch.setattr(durable, "time", clock)
    monkeypatch.setattr(durable, "print", lambda *args, **kwargs: printed.append((args, kwargs)), raising=False)
    store.last_activity = clock.mono
    store.start_background(interval=0.01)
    _wait(lambda: len(attempts) >= 2 and bool(printed))  # it keeps trying
    assert printed[0] == (("[durable] background flush failed: OSError: [Errno 28] No space left on device",), {"flush": True})
    monkeypatch.setattr(durable, "time", time)
    store.last_activity = float("-inf")


def test_a_restored_record_is_not_written_again_while_its_state_is_unchanged(tmp_path, s3, monkeypatch):
    from pipeline_tools.emulator.patches import s3_lifecycle

    side = "side:pipeline_tools.emulator.patches.s3_lifecycle"
    monkeypatch.setattr(durable, "SIDE_STATE", {"pipeline_tools.emulator.patches.s3_lifecycle": "_sizes"})
    sizes = getattr(s3_lifecycle, "_sizes")
    saved = dict(sizes)
    try:
        sizes.clear()
        sizes["journal-a/k"] = 12
        store = durable.Store(tmp_path)
        store.open()
        store.flush(["s3"])
        store.close()
        journal = tmp_path / "emulator" / "journal"
        assert len(records(journal, side)) == 1
        store, _ = reopen(tmp_path, s3)
        store.flush(["s3"])  # (S3's restored objects pickle to other bytes than their record: S3 is written again)
        assert len(records(journal, side)) == 1  # the side state pickles as it was: its restored digest matches
        store.close()
    finally:
        sizes.clear()
        sizes.update(saved)
