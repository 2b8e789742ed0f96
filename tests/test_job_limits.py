"""The job runners' shared parts (python/pipeline_tools/emulator/jobs/common.py) at their limits:
hosts and their shares of a channel in the documented order, and a job's hosts run, failed, stopped
and timed out WHEN they should (issue 26: the runtime limit enforced ten times late passed every
test, which only looked at final statuses). Real processes; timing asserted with tolerances."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline_tools.emulator.jobs import common
from pipeline_tools.emulator.jobs.common import HostGroup, JobProcess, Outcome, distribute, host_names

KEYS = [f"train/part-{i}.csv" for i in range(7)]


def test_host_names_are_algo_1_to_n():
    assert host_names(1) == ["algo-1"]
    assert host_names(3) == ["algo-1", "algo-2", "algo-3"]
    assert host_names("2") == ["algo-1", "algo-2"]
    assert host_names(0) == ["algo-1"]  # at least one host


def test_sharded_by_s3_key_deals_the_sorted_keys_round_robin():
    shares = distribute(KEYS, host_names(3), "ShardedByS3Key")
    assert shares == {
        "algo-1": ["train/part-0.csv", "train/part-3.csv", "train/part-6.csv"],
        "algo-2": ["train/part-1.csv", "train/part-4.csv"],
        "algo-3": ["train/part-2.csv", "train/part-5.csv"],
    }
    assert distribute(KEYS[:2], host_names(3), "ShardedByS3Key") == {"algo-1": [KEYS[0]], "algo-2": [KEYS[1]], "algo-3": []}
    assert distribute(KEYS, ["algo-1"], "ShardedByS3Key") == {"algo-1": KEYS}


def test_fully_replicated_gives_every_host_every_key():
    for distribution in (None, "FullyReplicated"):
        shares = distribute(KEYS, host_names(2), distribution)
        assert shares == {"algo-1": KEYS, "algo-2": KEYS}
        shares["algo-1"].append("x")  # each host's list is its own
        assert shares["algo-2"] == KEYS and KEYS[-1] != "x"


def _hosts(tmp_path: Path, **programs: str) -> dict[str, JobProcess]:
    hosts = {}
    for host, program in programs.items():
        log_dir = tmp_path / host
        log_dir.mkdir()
        hosts[host] = JobProcess([sys.executable, "-c", program], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, log_dir=log_dir).start()
    return hosts


SLEEP = "import time; time.sleep(60)"


def test_the_runtime_limit_stops_every_host_on_time(tmp_path):
    hosts = _hosts(tmp_path, **{"algo-1": SLEEP, "algo-2": SLEEP})
    started = time.monotonic()
    outcome = HostGroup(hosts).run(timeout=1.0, stop=threading.Event())
    elapsed = time.monotonic() - started
    assert outcome.kind == "timeout" and outcome.host is None and outcome.code is None
    # Not before the limit, and within a loaded machine's tolerance after it (10x late is 10 s).
    assert 1.0 <= outcome.seconds <= 2.5 and elapsed < 4.0, (outcome.seconds, elapsed)
    assert all(p.process.poll() is not None for p in hosts.values())  # stopped, not left running


def test_a_single_process_job_times_out_the_same_way(tmp_path):
    (process,) = _hosts(tmp_path, **{"algo-1": SLEEP}).values()
    started = time.monotonic()
    assert process.run(timeout=0.5, stop=threading.Event()) == (None, "timeout")
    assert 0.5 <= time.monotonic() - started < 3.0
    assert process.process.poll() is not None


def test_every_host_exiting_zero_completes_the_job(tmp_path):
    hosts = _hosts(tmp_path, **{"algo-1": "print('one')", "algo-2": "import time; time.sleep(0.3)"})
    outcome = HostGroup(hosts).run(timeout=30, stop=threading.Event())
    assert (outcome.kind, outcome.code, outcome.host) == ("completed", 0, None)
    assert outcome.seconds >= 0.3  # waited for the slower host
    assert (tmp_path / "algo-1" / "stdout.log").read_text() == "one\n"
    assert repr(outcome) == "Outcome('completed', host=None, code=0)"


def test_the_first_host_to_fail_fails_the_job_and_the_others_are_stopped(tmp_path):
    hosts = _hosts(tmp_path, **{"algo-1": SLEEP, "algo-2": "import sys; sys.stderr.write('boom'); sys.exit(3)"})
    started = time.monotonic()
    outcome = HostGroup(hosts).run(timeout=60, stop=threading.Event())
    assert (outcome.kind, outcome.host, outcome.code) == ("failed", "algo-2", 3)
    assert time.monotonic() - started < 10  # did not wait for algo-1's minute
    assert hosts["algo-1"].process.poll() is not None
    assert common.host_failure("algo-2", 3, tmp_path) == "AlgorithmError: exit code 3 on algo-2: boom"
    assert common.host_failure("algo-1", -15, tmp_path) == "AlgorithmError: exit code -15 on algo-1: no output on stderr"
    assert JobProcess([sys.executable, "-c", "raise SystemExit(4)"], cwd=tmp_path, env={}, log_dir=tmp_path / "algo-1").run(timeout=30, stop=threading.Event()) == (4, "")


def test_a_stop_request_stops_every_host_promptly(tmp_path):
    hosts = _hosts(tmp_path, **{"algo-1": SLEEP, "algo-2": SLEEP})
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    outcome = HostGroup(hosts).run(timeout=60, stop=stop)
    assert outcome.kind == "stopped" and 0.5 <= outcome.seconds < 3.0
    assert all(p.process.poll() is not None for p in hosts.values())


def test_the_runtime_limit_reason_names_the_kind_and_the_limit():
    assert common.runtime_exceeded("training", 86400) == "MaxRuntimeExceeded: the training job exceeded MaxRuntimeInSeconds (86400 s) and was stopped"
    assert common.runtime_exceeded("processing", 1.4) == "MaxRuntimeExceeded: the processing job exceeded MaxRuntimeInSeconds (1 s) and was stopped"


def test_a_failure_reason_keeps_the_last_lines_within_sagemakers_limit():
    assert common.FAILURE_REASON_LIMIT == 1024
    assert common.tail("  short  ") == "short"
    long = "x" * 2000 + "END"
    kept = common.tail(long)
    assert kept.endswith("END") and kept.startswith("...") and len(kept) == 3 + common.FAILURE_REASON_LIMIT - 100
    assert common.tail("y" * 924) == "y" * 924 and common.tail("y" * 925) == "..." + "y" * 924


def test_s3_uris_and_sandbox(tmp_path, monkeypatch):
    assert common.split_s3_uri("s3://bucket/a/b") == ("bucket", "a/b")
    assert common.split_s3_uri("s3://bucket") == ("bucket", "")
    with pytest.raises(ValueError, match="not an S3 URI: /tmp/x"):
        common.split_s3_uri("/tmp/x")
    monkeypatch.setenv("SECRET_OF_THE_HOST", "1")
    env = common.sandbox_env(tmp_path, aws=False)
    assert set(env) == {"PATH", "HOME", "TMPDIR", "LANG", "PYTHONUNBUFFERED", "AWS_EC2_METADATA_DISABLED"} and env["HOME"] == str(tmp_path)
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"  # an isolated job finds no credentials anywhere
    assert "AWS_ENDPOINT_URL" in common.sandbox_env(tmp_path) and "SECRET_OF_THE_HOST" not in common.sandbox_env(tmp_path)


def test_which_commands_the_launcher_may_preload(tmp_path):
    python = sys.executable
    assert common._is_python_program([python, "train.py"], python)
    assert common._is_python_program([python, "-m", "pkg.mod", "x"], python)
    assert not common._is_python_program([python, "-m"], python)
    assert not common._is_python_program([python, "-c", "print(1)"], python)
    assert not common._is_python_program([python], python)
    assert not common._is_python_program(["/bin/sh", "x.sh"], python)
    preloaded = JobProcess([python, "train.py"], cwd=tmp_path, env={"A": "1"}, log_dir=tmp_path, preload=("numpy",))
    assert preloaded.preload == ("numpy",) and preloaded.env == {"A": "1", common.RUNTIME_RECORD_VARIABLE: str(tmp_path / "runtime.json")}
    plain = JobProcess([python, "-c", "1"], cwd=tmp_path, env={"A": "1"}, log_dir=tmp_path, preload=("numpy",))
    assert plain.preload == () and plain.env == {"A": "1"}
    assert common.read_tail(tmp_path / "missing.log") == ""
    (tmp_path / "big.log").write_bytes(b"a" * 5000 + b"END")
    assert common.read_tail(tmp_path / "big.log", 10) == "aaaaaaaEND"


def test_a_preloaded_job_runs_its_script_with_its_arguments_once_released(tmp_path):
    script = tmp_path / "job.py"
    script.write_text("import json, os, sys\nprint(json.dumps({'argv': sys.argv[1:], 'cwd': os.getcwd(), 'env': os.environ.get('JOB_ENV')}))\n")
    work = tmp_path / "work"
    work.mkdir()
    process = JobProcess([sys.executable, str(script), "--rows", "3"], cwd=work, env={"JOB_ENV": "yes", "PATH": "/usr/bin:/bin"},
                         log_dir=tmp_path, preload=("json",)).start()
    assert process.process is not None and process.process.poll() is None  # the interpreter waits for "run"
    assert process.run(timeout=30, stop=threading.Event()) == (0, "")
    import json

    assert json.loads((tmp_path / "stdout.log").read_text()) == {"argv": ["--rows", "3"], "cwd": str(work), "env": "yes"}
    runtime = json.loads((tmp_path / "runtime.json").read_text()) if (tmp_path / "runtime.json").exists() else None
    assert runtime is None or runtime["libraries"] == {"json": runtime["libraries"]["json"]}


def test_a_plain_job_runs_in_its_directory_with_its_environment(tmp_path):
    (tmp_path / "algo-1").mkdir()
    process = JobProcess([sys.executable, "-c", "import os; print(os.getcwd(), os.environ.get('JOB_ENV'))"], cwd=tmp_path,
                         env={"JOB_ENV": "plain"}, log_dir=tmp_path / "algo-1")
    assert process.start().process is None  # nothing to preload: starts when released
    assert process.run(timeout=30, stop=threading.Event()) == (0, "")
    assert (tmp_path / "algo-1" / "stdout.log").read_text() == f"{tmp_path} plain\n"


def test_close_ends_a_job_that_was_never_released(tmp_path):
    process = JobProcess([sys.executable, "job.py"], cwd=tmp_path, env={}, log_dir=tmp_path, preload=("json",)).start()
    assert process.process.poll() is None
    process.close()
    assert process.process.poll() is not None
    process.close()  # again: nothing to do
    JobProcess([sys.executable, "-c", "1"], cwd=tmp_path, env={}, log_dir=tmp_path).close()  # never started


def test_a_host_that_ignores_sigterm_is_killed_after_the_five_second_grace(tmp_path):
    stubborn = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(60)\n"
    hosts = _hosts(tmp_path, **{"algo-1": stubborn})
    group = HostGroup(hosts)
    for process in hosts.values():
        process.release()
    deadline = time.monotonic() + 10
    while (tmp_path / "algo-1" / "stdout.log").read_text() != "ready\n" and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    group.close()
    elapsed = time.monotonic() - started
    assert hosts["algo-1"].process.returncode == -9  # SIGKILL
    assert 4.8 <= elapsed < 5.9, elapsed


def test_outcomes_carry_how_long_the_hosts_ran(tmp_path):
    assert Outcome("stopped").seconds == 0.0 and Outcome("failed", "algo-1", 2).code == 2
    failed = HostGroup(_hosts(tmp_path, **{"algo-1": "import time; time.sleep(0.2); raise SystemExit(1)"})).run(timeout=30, stop=threading.Event())
    assert failed.kind == "failed" and 0.2 <= failed.seconds < 10
    (tmp_path / "b").mkdir()
    completed = HostGroup(_hosts(tmp_path / "b", **{"algo-1": "pass"})).run(timeout=30, stop=threading.Event())
    assert completed.kind == "completed" and 0 <= completed.seconds < 10


def test_sandbox_environment_values(tmp_path, monkeypatch):
    for name in ("PIPELINE_TOOLS_EMULATOR_ENDPOINT", "AWS_CA_BUNDLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "PATH"):
        monkeypatch.delenv(name, raising=False)
    defaults = common.sandbox_env(tmp_path)
    assert defaults == {
        "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path), "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1",
        "AWS_ENDPOINT_URL": "", "AWS_CA_BUNDLE": "", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    given = {"PATH": "/opt/bin", "PIPELINE_TOOLS_EMULATOR_ENDPOINT": "https://127.0.0.1:1", "AWS_CA_BUNDLE": "/ca.pem",
             "AWS_ACCESS_KEY_ID": "ASIAX", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "eu-west-1"}
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    env = common.sandbox_env(tmp_path)
    assert (env["PATH"], env["AWS_ENDPOINT_URL"], env["AWS_CA_BUNDLE"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_DEFAULT_REGION"]) == (
        "/opt/bin", "https://127.0.0.1:1", "/ca.pem", "ASIAX", "s", "eu-west-1")


def test_host_directories_and_log_tails(tmp_path):
    path = common.host_directory(tmp_path / "new" / "job", "algo-2")
    assert path == tmp_path / "new" / "job" / "algo-2" and path.is_dir()
    assert common.host_directory(tmp_path / "new" / "job", "algo-2") == path  # again: fine
    (tmp_path / "log").write_bytes(b"x" * 4100 + b"\xff" + b"end")
    tail = common.read_tail(tmp_path / "log")
    assert len(tail) == 4000 and tail.endswith("\ufffdend")
    assert common._is_python_program([sys.executable, "-m", "mod"], sys.executable)


def test_every_preloaded_module_is_imported_before_the_job_runs(tmp_path):
    script = tmp_path / "job.py"
    script.write_text("print('ran')\n")
    process = JobProcess([sys.executable, str(script)], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, log_dir=tmp_path, preload=("json", "csv")).start()
    assert process.run(timeout=30, stop=threading.Event()) == (0, "")
    import json

    record = json.loads((tmp_path / "runtime.json").read_text())
    assert sorted(record["libraries"]) == ["csv", "json"]
    assert (tmp_path / "stdout.log").read_text() == "ran\n"


def test_a_job_never_reads_the_emulators_stdin(tmp_path):
    program = "import os, sys; print(os.path.samestat(os.fstat(0), os.stat(os.devnull)))"
    (process,) = _hosts(tmp_path, **{"algo-1": program}).values()
    assert process.run(timeout=30, stop=threading.Event()) == (0, "")
    assert (tmp_path / "algo-1" / "stdout.log").read_text() == "True\n"


def test_closing_a_group_with_a_host_never_released(tmp_path):
    (tmp_path / "algo-1").mkdir()
    never = JobProcess([sys.executable, "-c", "1"], cwd=tmp_path, env={}, log_dir=tmp_path / "algo-1")
    HostGroup({"algo-1": never}).close()  # nothing started: nothing to stop, no error
    assert never.process is None


def test_a_job_ignoring_sigterm_is_killed_after_the_grace_when_closed(tmp_path):
    stubborn = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(60)\n"
    (process,) = _hosts(tmp_path, **{"algo-1": stubborn}).values()
    process.release()
    deadline = time.monotonic() + 10
    while (tmp_path / "algo-1" / "stdout.log").read_text() != "ready\n" and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    process.close()
    assert process.process.returncode == -9 and 4.8 <= time.monotonic() - started < 5.9


def test_a_job_sees_its_folder_at_opt_ml_where_the_machine_allows(tmp_path):
    """container_root is mounted at /opt/ml for the job's process alone (in_container), where the
    machine allows it (common.container_paths); elsewhere the runners map the paths and the process
    sees the host's /opt/ml, which holds no such file."""
    ml = tmp_path / "ml"
    ml.mkdir()
    (ml / "marker").write_text("inside\n")
    (tmp_path / "algo-1").mkdir()
    process = JobProcess(["/bin/sh", "-c", "cat /opt/ml/marker 2>/dev/null || echo mapped"], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"},
                         log_dir=tmp_path / "algo-1", container_root=ml)
    assert process.run(timeout=30, stop=threading.Event()) == (0, "")
    expected = "inside\n" if common.container_paths() is not None else "mapped\n"
    assert (tmp_path / "algo-1" / "stdout.log").read_text() == expected
    assert not Path("/opt/ml/marker").exists()  # the mount was the process's own
