"""The emulator's durable state: ``.pipeline-tools/emulator/`` (journal + object bodies + lock).

Decision (issue 12). Three mechanisms were weighed:

* **moto's request recorder/replayer** (``moto/moto_api/_internal/recorder``: it appends every
  request to a file and replays them through HTTP). Rejected: a replay is not a restore. Every ID
  moto draws at random (KMS key ids, IAM role ids, version ids, execution and job timestamps)
  comes out different, so the Terraform state no longer matches; and replaying StartExecution or
  CreateTrainingJob would run the work again.
* **a write-ahead journal of requests with checkpoints**: the same replay problem for everything
  after the last checkpoint.
* **snapshots of moto's backends** (pickle), chosen, written as a **journal of snapshots**: the
  state *as it is*, never re-derived. After every API call that may change something, the
  touched service's backends (``{account: {region: backend}}``) are pickled and, when the bytes
  differ from the last record for that service, appended to ``journal`` as one record
  ``b"PTJR" | length | crc32 | payload`` and fsynced *before the response is sent* (a crash right
  after a successful PutObject keeps the object). What changes without a request (an execution's
  history, a job's status, the logs it writes) is flushed by a background thread within 0.5 s, and
  the end of an execution at once. Restoring reads the last good record of every service: no
  request is replayed, nothing runs twice. A record cut by a crash (short, or a bad CRC) ends the
  journal: it is truncated away with a warning, the previous record of that service stands.
  When the journal grows past 4x its live records (and 8 MiB) it is rewritten with the live
  records only (temp file, fsync, rename).

Object bodies never enter the journal nor stay in the server's memory: each body is a file under
``objects/`` written once and fsynced (:mod:`.patches.s3_bodies_on_disk`); the journal pickles its
name. Files no record references any more are deleted at start and after compaction.

Not state, and not kept: running Lambda environments, job processes, the interpreter's threads,
the IAM enforcer's caches (it finds keys and STS sessions in the persisted IAM/STS backends, so
issued credentials stay valid; holders that died with the emulator get new ones). An execution
that was RUNNING (or a SageMaker job InProgress) when the emulator died ends, on restore,
``FAILED`` (jobs ``Failed``, or ``Stopped`` if a stop was asked) with a cause saying the emulator
stopped while it ran: resuming would need the interpreter's in-memory program state, which moto
cannot rebuild, so it is not attempted.

The journal's header names its format and the moto version whose classes it pickled; any other
is refused (never half-loaded) with the fix: ``pipeline-tools local reset``. ``lock`` is held
(flock) by the one server using the directory, and names its pid and port.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import hashlib
import importlib
import io
import json
import os
import pickle
import struct
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any, Iterable

from ..errors import EnvironmentProblem

DATA_DIR = "emulator"  # under the state directory (.pipeline-tools/)
JOURNAL = "journal"
OBJECTS = "objects"
LOCK = "lock"
FORMAT = 1
MAGIC = b"PTJOURNAL "
RECORD = b"PTJR"
_HEAD = struct.Struct("<4sII")  # magic, payload length, crc32
# The journal is rewritten with one record per service once it is past this size and 4x what is
# live; PIPELINE_TOOLS_JOURNAL_COMPACT_BYTES sets another floor (tests compact a small journal).
COMPACT_MIN_BYTES = 8 << 20
RESET_HINT = "run `pipeline-tools local reset` to start over with an empty local account"
STOPPED_ERROR = "Emulator.Stopped"
# What changes without a request of its own (interpreter threads, job threads, log writes): the
# background flush covers these; every other service changes only in the request that is flushed.
BACKGROUND_SERVICES = ("stepfunctions", "sagemaker", "logs", "events")
# Module-level state some patches keep beside moto's objects (so it never shows in moto's output).
SIDE_STATE = {"pipeline_tools.emulator.patches.s3_lifecycle": "_sizes"}


def data_dir(directory: Path) -> Path:
    return Path(directory) / DATA_DIR


def moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def expected_header() -> dict[str, Any]:
    return {"format": FORMAT, "moto": moto_version(), "python": f"{sys.version_info[0]}.{sys.version_info[1]}"}


class IncompatibleState(EnvironmentProblem):
    pass


def read_header(directory: Path) -> dict[str, Any] | None:
    """The journal's header (None when there is no journal yet); refuses an incompatible one."""
    path = data_dir(directory) / JOURNAL
    try:
        with open(path, "rb") as handle:
            line = handle.readline(4096)
    except FileNotFoundError:
        return None
    where = data_dir(directory)
    try:
        if not line.startswith(MAGIC):
            raise ValueError
        header = json.loads(line[len(MAGIC):])
    except ValueError:
        raise IncompatibleState(f"the local emulator state in {where} is not a journal this version can read", RESET_HINT) from None
    wanted = expected_header()
    different = [f"{key} {header.get(key)} (this version: {wanted[key]})" for key in ("format", "moto", "python") if header.get(key) != wanted[key]]
    if different:
        raise IncompatibleState(f"the local emulator state in {where} was written by an incompatible version: {', '.join(different)}", RESET_HINT)
    return header


def created_at(directory: Path) -> float | None:
    """When the durable state in ``directory`` began (its journal's creation), None if there is none."""
    header = read_header(directory)
    return float(header["created"]) if header and isinstance(header.get("created"), (int, float)) else None


# ---- one server per directory ------------------------------------------------------------------


def holder(directory: Path) -> dict[str, Any] | None:
    """The server holding ``directory``'s lock ({"pid", "port"}), or None when it is free."""
    path = data_dir(directory) / LOCK
    try:
        handle = open(path, "r+")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            try:
                info = json.loads(handle.read() or "{}")
            except ValueError:
                info = {}
            return info if isinstance(info, dict) else {}
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def held_message(directory: Path, info: dict[str, Any]) -> EnvironmentProblem:
    who = f"emulator process {info.get('pid', '?')}" + (f" (port {info['port']})" if info.get("port") else "")
    return EnvironmentProblem(
        f"the local state in {data_dir(directory)} is held by {who}",
        f"one emulator per state directory: use that one, or stop it (`pipeline-tools local down`, or kill {info.get('pid', 'it')})",
    )


def acquire(directory: Path, pid: int, port: int) -> Any:
    """Take ``directory``'s lock for this server process (kept until it exits, released by the
    kernel even on kill -9); EnvironmentProblem naming the holder when another server has it."""
    where = data_dir(directory)
    where.mkdir(parents=True, exist_ok=True)
    handle = open(where / LOCK, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        try:
            info = json.loads(handle.read() or "{}")
        except ValueError:
            info = {}
        handle.close()
        raise held_message(directory, info if isinstance(info, dict) else {}) from None
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": pid, "port": port}))
    handle.flush()
    return handle


# ---- moto's backends ---------------------------------------------------------------------------


def _key(backend_dict: Any) -> str:
    cls = backend_dict.backend
    return f"{cls.__module__}:{cls.__qualname__}"


def _loaded() -> dict[str, Any]:
    from moto.core.base_backend import BackendDict

    return {_key(bd): bd for bd in list(BackendDict._instances)}


def _find_backend_dict(key: str) -> Any:
    from moto.core.base_backend import BackendDict

    module_name, _, qualname = key.partition(":")
    module = importlib.import_module(module_name)
    for value in vars(module).values():
        if isinstance(value, BackendDict) and f"{value.backend.__module__}:{value.backend.__qualname__}" == key:
            return value
    raise LookupError(key)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_private_key(der: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    return load_der_private_key(der, password=None)


def _reduce_private_key(key: Any) -> tuple[Any, tuple[bytes]]:
    from cryptography.hazmat.primitives import serialization

    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return _load_private_key, (der,)


def _weak_values(items: dict[str, Any]) -> Any:
    import weakref

    return weakref.WeakValueDictionary(items)


def _reduce_weak_values(mapping: Any) -> tuple[Any, tuple[dict[str, Any]]]:
    return _weak_values, (dict(mapping.items()),)


def _register_reducers() -> None:
    """KMS keys hold cryptography's private key objects, which do not pickle: as PKCS#8 DER.
    Lambda's storage indexes functions by ARN in a WeakValueDictionary: as its items (the
    functions themselves are pickled where the backend holds them)."""
    import copyreg
    import weakref

    copyreg.pickle(weakref.WeakValueDictionary, _reduce_weak_values)
    from collections import defaultdict

    from moto.awslambda.models import LambdaStorage

    def getstate(self: Any) -> dict[str, Any]:  # its aliases are a defaultdict of a lambda
        state = self.__dict__.copy()
        state["_aliases"] = dict(state["_aliases"])
        return state

    def setstate(self: Any, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._aliases = defaultdict(dict, state["_aliases"])

    LambdaStorage.__getstate__ = getstate
    LambdaStorage.__setstate__ = setstate

    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    samples = [rsa.generate_private_key(public_exponent=65537, key_size=1024), ec.generate_private_key(ec.SECP256R1()), ed25519.Ed25519PrivateKey.generate()]
    for sample in samples:
        copyreg.pickle(type(sample), _reduce_private_key)


class _BodyPickler(pickle.Pickler):
    """Pickles as usual, noting the body files the state refers to."""

    def __init__(self, file: Any, bodies: set[str]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.bodies = bodies

    def persistent_id(self, obj: Any) -> None:
        name = getattr(obj, "_pipeline_tools_body", None)
        if type(name) is str:
            self.bodies.add(name)
        return None


class Store:
    """The journal of one state directory, in the server process."""

    def __init__(self, directory: Path) -> None:
        self.directory = data_dir(directory)
        self.path = self.directory / JOURNAL
        self.objects = self.directory / OBJECTS
        self._lock = threading.RLock()
        self._digests: dict[str, bytes] = {}
        self._sizes: dict[str, int] = {}
        self._bodies: dict[str, set[str]] = {}
        self._file: Any = None
        self.header: dict[str, Any] = {}
        self.last_activity = time.monotonic()
        self.report: dict[str, Any] = {}
        # What journaling costs, by where the flush ran: "request" (before a response leaves: on
        # the caller's path), "background" (during runs, beside the jobs), "close". Served at
        # STATS_PATH for benchmarks/durable.py.
        self.cost: dict[str, dict[str, float]] = {}

    # -- open / restore ---------------------------------------------------------------------------

    def open(self) -> dict[str, Any]:
        """Restore every service from the journal (creating it when absent); returns what happened."""
        started = time.perf_counter()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.objects.mkdir(exist_ok=True)
        from .patches import s3_bodies_on_disk

        s3_bodies_on_disk.BODIES = self.objects
        _register_reducers()
        header = read_header(self.directory.parent)
        warnings: list[str] = []
        records: dict[str, bytes] = {}
        if header is None:
            self.header = {**expected_header(), "created": time.time()}
            self._rewrite({})
        else:
            self.header = header
            records, torn = self._read_records()
            if torn:
                warnings.append(torn)
        restored = self._restore(records)
        ended = self._end_interrupted()
        self._file = open(self.path, "ab")
        if ended:
            self.flush()
        self._collect_garbage(all_unreferenced=True)
        self.report = {
            "services": restored,
            "interrupted": ended,
            "warnings": warnings,
            "restore_seconds": round(time.perf_counter() - started, 3),
            "created": self.header.get("created"),
        }
        return self.report

    def _read_records(self) -> tuple[dict[str, bytes], str | None]:
        data = self.path.read_bytes()
        offset = data.index(b"\n") + 1
        good_end = offset
        records: dict[str, bytes] = {}
        torn = None
        while offset < len(data):
            problem = None
            if len(data) - offset < _HEAD.size:
                problem = f"a record header cut short ({len(data) - offset} bytes)"
            else:
                magic, length, crc = _HEAD.unpack_from(data, offset)
                payload = data[offset + _HEAD.size : offset + _HEAD.size + length]
                if magic != RECORD:
                    problem = "bytes that are not a record"
                elif len(payload) < length:
                    problem = f"a record cut short ({len(payload)} of {length} bytes)"
                elif zlib.crc32(payload) != crc:
                    problem = "a record whose checksum does not match"
                elif not payload or 1 + payload[0] > len(payload):  # every payload starts with its key's length and key
                    problem = "a record without its key"
            if problem:
                torn = (
                    f"warning: the journal {self.path} ends in {problem} at byte {offset} (a write cut off by a crash); "
                    f"dropped {len(data) - offset} bytes, the state before that write is restored"
                )
                break
            key_length = payload[0]
            key = payload[1 : 1 + key_length].decode()
            records[key] = payload
            offset += _HEAD.size + length
            good_end = offset
        if torn:
            with open(self.path, "r+b") as handle:
                handle.truncate(good_end)
                handle.flush()
                os.fsync(handle.fileno())
        return records, torn

    def _restore(self, records: dict[str, bytes]) -> list[str]:
        restored = []
        for key, payload in records.items():
            key_length = payload[0]
            try:
                state = pickle.loads(payload[1 + key_length :])
                self._install(key, state)
            except Exception as error:  # noqa: BLE001 - a class moto no longer has, a changed layout
                raise IncompatibleState(
                    f"the local emulator state in {self.directory} cannot be restored ({key}: {type(error).__name__}: {error})",
                    RESET_HINT,
                ) from None
            self._digests[key] = hashlib.blake2b(payload, digest_size=16).digest()
            self._sizes[key] = len(payload) + _HEAD.size
            restored.append(key)
        return restored

    def _install(self, key: str, state: Any) -> None:
        if key.startswith("side:"):
            module = importlib.import_module(key[5:])
            target = getattr(module, SIDE_STATE[key[5:]])
            target.clear()
            target.update(state)
            return
        backend_dict = _find_backend_dict(key)
        for account_id, regions in state.items():
            account = backend_dict[account_id]
            for region, backend in regions.items():
                dict.__setitem__(account, region, backend)
        index = getattr(backend_dict, "bucket_accounts", None)
        if isinstance(index, dict):
            # S3's one namespace over all accounts lives beside the backends (moto's
            # S3BackendDict.bucket_accounts: bucket -> (partition, account)); without it another
            # account's request for the bucket finds none after a restart.
            index.clear()
            for account_id, regions in state.items():
                for partition, backend in regions.items():
                    for name in getattr(backend, "buckets", {}):
                        index[name] = (partition, account_id)

    def _end_interrupted(self) -> list[str]:
        """Executions and jobs that were running when the emulator died: ended, saying so."""
        now = datetime.datetime.now(tz=datetime.timezone.utc)
        ended: list[str] = []
        for key, backend_dict in _loaded().items():
            for regions in backend_dict.values():
                for backend in dict.values(regions):
                    if hasattr(backend, "state_machines"):
                        ended += _end_executions(backend, now)
                    if hasattr(backend, "training_jobs"):
                        ended += _end_jobs(backend, now)
        return ended

    # -- write ------------------------------------------------------------------------------------

    def _snapshot(self, key: str, obj: Any) -> tuple[bytes, set[str]]:
        bodies: set[str] = set()
        for attempt in range(5):
            buffer = io.BytesIO()
            buffer.write(bytes([len(key.encode())]) + key.encode())
            try:
                _BodyPickler(buffer, bodies).dump(obj)
                return buffer.getvalue(), bodies
            except RuntimeError:  # "changed size during iteration": another request is mid-change
                bodies.clear()
                time.sleep(0.001 * (attempt + 1))
            except Exception as error:
                raise type(error)(f"{key}: {error}") from error
        raise RuntimeError(f"{key}: its state kept changing while it was being written")

    def _states(self, services: Iterable[str] | None) -> dict[str, Any]:
        wanted = set(services) if services is not None else None
        states: dict[str, Any] = {}
        for key, backend_dict in _loaded().items():
            # A request names moto's package (awslambda), the backend its service (lambda): either matches.
            package = backend_dict.backend.__module__.split(".")[1]
            if wanted is None or backend_dict.service_name in wanted or package in wanted:
                states[key] = {account: dict(dict.items(regions)) for account, regions in list(backend_dict.items())}
        if wanted is None or "s3" in wanted:
            for module_name, attribute in SIDE_STATE.items():
                module = sys.modules.get(module_name)
                if module is not None:
                    states[f"side:{module_name}"] = dict(getattr(module, attribute))
        return states

    def flush(self, services: Iterable[str] | None = None, *, origin: str = "request") -> int:
        """Append a record for every service (of ``services``, default all) whose state changed;
        durable (fsynced) when it returns. Returns the number of records written."""
        with self._lock:
            started, before = time.perf_counter(), (self._file.tell() if self._file is not None else 0)
            try:
                return self._flush(services)
            finally:
                cost = self.cost.setdefault(origin, {"seconds": 0.0, "flushes": 0, "bytes": 0})
                cost["seconds"] += time.perf_counter() - started
                cost["flushes"] += 1
                if self._file is not None:
                    cost["bytes"] += max(0, self._file.tell() - before)

    def costs(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {origin: dict(values) for origin, values in self.cost.items()}

    def _flush(self, services: Iterable[str] | None) -> int:
        if self._file is None:
            return 0
        written = 0
        for key, state in self._states(services).items():
            payload, bodies = self._snapshot(key, state)
            digest = hashlib.blake2b(payload, digest_size=16).digest()
            if self._digests.get(key) == digest:
                continue
            self._file.write(_HEAD.pack(RECORD, len(payload), zlib.crc32(payload)) + payload)
            self._digests[key] = digest
            self._sizes[key] = len(payload) + _HEAD.size
            if bodies or key.startswith("moto.s3."):
                self._bodies[key] = bodies
            written += 1
        if written:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._maybe_compact()
        return written

    def _maybe_compact(self) -> None:
        size = self._file.tell()
        live = sum(self._sizes.values())
        floor = int(os.environ.get("PIPELINE_TOOLS_JOURNAL_COMPACT_BYTES") or COMPACT_MIN_BYTES)
        if size > max(floor, 4 * live):
            self._file.close()
            self._rewrite(self._states(None))
            self._file = open(self.path, "ab")
            self._collect_garbage(all_unreferenced=False)

    def _rewrite(self, states: dict[str, Any]) -> None:
        temporary = self.path.with_name(JOURNAL + ".tmp")
        with open(temporary, "wb") as handle:
            handle.write(MAGIC + json.dumps(self.header, sort_keys=True).encode() + b"\n")
            for key, state in states.items():
                payload, bodies = self._snapshot(key, state)
                handle.write(_HEAD.pack(RECORD, len(payload), zlib.crc32(payload)) + payload)
                self._digests[key] = hashlib.blake2b(payload, digest_size=16).digest()
                self._sizes[key] = len(payload) + _HEAD.size
                if bodies or key.startswith("moto.s3."):
                    self._bodies[key] = bodies
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        _fsync_dir(self.directory)

    def _collect_garbage(self, all_unreferenced: bool) -> None:
        """Delete body files no record refers to (at start: all; later: only files older than a
        minute, so a body written for a request not yet journaled is never taken)."""
        if not any(key.startswith("moto.s3.") for key in self._digests) and not all_unreferenced:
            return
        if all_unreferenced:
            referenced: set[str] = set()
            for key, state in self._states(["s3"]).items():
                referenced |= self._snapshot(key, state)[1]
        else:
            referenced = set().union(*self._bodies.values()) if self._bodies else set()
        horizon = time.time() - 60
        with os.scandir(self.objects) as entries:
            for entry in entries:
                if entry.name not in referenced and (all_unreferenced or entry.stat().st_mtime < horizon):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)

    # -- background ---------------------------------------------------------------------------------

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def start_background(self, interval: float = 0.5) -> None:
        def loop() -> None:
            while True:
                time.sleep(interval)
                try:
                    if time.monotonic() - self.last_activity < 3.0 or _anything_running():
                        self.flush(BACKGROUND_SERVICES, origin="background")
                except Exception as error:  # noqa: BLE001 - report, keep flushing
                    print(f"[durable] background flush failed: {type(error).__name__}: {error}", flush=True)

        threading.Thread(target=loop, name="durable-flush", daemon=True).start()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self.flush(origin="close")
                self._file.close()
                self._file = None


def _anything_running() -> bool:
    from .patches import sagemaker_jobs

    if sagemaker_jobs._stops:
        return True
    for backend_dict in _loaded().values():
        if backend_dict.service_name != "stepfunctions":
            continue
        for regions in backend_dict.values():
            for backend in dict.values(regions):
                for machine in getattr(backend, "state_machines", []):
                    for execution in getattr(machine, "executions", []):
                        if getattr(getattr(execution, "exec_status", None), "value", None) == "RUNNING":
                            return True
    return False


def stopped_cause(when: datetime.datetime, what: str) -> str:
    return (
        f"The local emulator stopped while this {what} ran (it was ended when the emulator restarted, "
        f"{when.strftime('%Y-%m-%d %H:%M:%S')} UTC); nothing of it runs any more. Start it again."
    )


def _end_executions(backend: Any, now: datetime.datetime) -> list[str]:
    from moto.stepfunctions.parser.api import ExecutionStatus

    ended = []
    for machine in backend.state_machines:
        for execution in getattr(machine, "executions", []):
            if getattr(execution, "exec_status", None) != ExecutionStatus.RUNNING:
                continue
            cause = stopped_cause(now, "execution")
            execution.exec_status = ExecutionStatus.FAILED
            execution.stop_date = now
            execution.error = STOPPED_ERROR
            execution.cause = cause
            worker = execution.exec_worker
            events = getattr(getattr(getattr(worker, "env", None), "event_manager", None), "events", None)
            if isinstance(events, list):
                last = events[-1]["id"] if events else 0
                events.append(
                    {
                        "timestamp": now,
                        "type": "ExecutionFailed",
                        "id": last + 1,
                        "previousEventId": last,
                        "executionFailedEventDetails": {"error": STOPPED_ERROR, "cause": cause},
                    }
                )
            ended.append(execution.exec_arn)
    return ended


def _end_jobs(backend: Any, now: datetime.datetime) -> list[str]:
    ended = []
    for kind, jobs in (("processing", backend.processing_jobs), ("training", backend.training_jobs), ("transform", backend.transform_jobs)):
        for job in jobs.values():
            status = getattr(job, f"{kind}_job_status", None)
            if status not in ("InProgress", "Stopping"):
                continue
            final = "Stopped" if status == "Stopping" else "Failed"
            setattr(job, f"{kind}_job_status", final)
            job.failure_reason = stopped_cause(now, f"{kind} job")
            setattr(job, f"{kind}_end_time", now)
            job.last_modified_time = now
            if kind == "training":
                job.secondary_status = final
                transitions = getattr(job, "secondary_status_transitions", None) or []
                if transitions:
                    transitions[-1].setdefault("EndTime", now)
                transitions.append({"Status": final, "StartTime": now, "EndTime": now, "StatusMessage": job.failure_reason})
                job.secondary_status_transitions = transitions
            ended.append(job.arn)
    return ended


# ---- reset ---------------------------------------------------------------------------------------


def wipe(directory: Path) -> bool:
    """Delete ``directory``'s durable state (the caller made sure no server holds it)."""
    import shutil

    where = data_dir(directory)
    existed = where.exists()
    shutil.rmtree(where, ignore_errors=True)
    return existed
