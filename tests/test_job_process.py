"""The emulator's job processes (jobs/common.JobProcess + jobs/launch): a job's Python starts
early, importing its libraries, and its code runs, exactly as `python SCRIPT ARGS` would, only
once released. Real subprocesses; the whole jobs run in tests/test_emulator_pipeline.py."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from pipeline_tools.emulator.jobs.common import HostGroup, JobProcess, host_directory, host_failure

SCRIPT = """\
import json, os, sys
if sys.argv[1:] == ["fail"]:
    raise RuntimeError("asked to fail")
open(os.path.join(os.path.dirname(__file__), "ran.json"), "w").write(json.dumps({
    "argv": sys.argv, "path0": sys.path[0], "name": __name__,
    "pandas_preloaded": "pandas" in sys.modules,
}))
sys.exit(int(sys.argv[1]) if sys.argv[1:] else 0)
"""


@pytest.fixture
def job(tmp_path):
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    script = code_dir / "job.py"
    script.write_text(SCRIPT)
    logs = tmp_path / "logs"
    logs.mkdir()

    def make(*args: str, preload=("pandas",), command=None) -> JobProcess:
        return JobProcess(command or [sys.executable, str(script), *args], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, log_dir=logs, preload=preload)

    return make, code_dir, logs


@pytest.mark.parametrize("preload", [("pandas",), ()], ids=["preloaded", "plain"])
def test_released_job_runs_like_python_script(job, preload):
    import json

    make, code_dir, _ = job
    process = make("3", preload=preload).start()
    assert (process.process is not None) == bool(preload)  # preloaded: the interpreter is already up
    code, why = process.run(timeout=60, stop=threading.Event())
    assert (code, why) == (3, "")
    ran = json.loads((code_dir / "ran.json").read_text())
    assert ran["argv"] == [str(code_dir / "job.py"), "3"]
    assert ran["path0"] == str(code_dir) and ran["name"] == "__main__"
    assert ran["pandas_preloaded"] is bool(preload)


def test_an_exception_exits_1_with_the_traceback_on_stderr(job):
    make, _, logs = job
    code, _ = make("fail").start().run(timeout=60, stop=threading.Event())
    assert code == 1
    assert "RuntimeError: asked to fail" in (logs / "stderr.log").read_text().splitlines()[-1]


def test_a_job_closed_before_release_never_runs(job):
    make, code_dir, _ = job
    process = make().start()
    time.sleep(0.2)
    process.close()
    assert process.process.poll() is not None
    assert not (code_dir / "ran.json").exists()


def test_timeout_and_stop_end_the_process(job):
    make, _, _ = job
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]  # -c: not preloadable, plain start
    assert make(command=sleeper).start().run(timeout=0.3, stop=threading.Event()) == (None, "timeout")
    stop = threading.Event()
    stop.set()
    assert make(command=sleeper).start().run(timeout=60, stop=stop) == (None, "stopped")


def test_a_crashed_host_fails_the_job_and_stops_the_others(tmp_path):
    """Two hosts: algo-2 crashes, so the job fails with its last error lines and algo-1, still
    running, is stopped (as SageMaker stops the other instances of a failed job)."""
    logs = tmp_path / "job"
    crash = "import sys, time\ntime.sleep(0.3)\nprint('loading shard', file=sys.stderr)\nraise SystemExit('error: shard 2 is corrupt')\n"
    hosts = {
        "algo-1": JobProcess([sys.executable, "-c", "import time; time.sleep(60)"], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, log_dir=host_directory(logs, "algo-1")),
        "algo-2": JobProcess([sys.executable, "-c", crash], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, log_dir=host_directory(logs, "algo-2")),
    }
    started = time.monotonic()
    outcome = HostGroup(hosts).run(timeout=60, stop=threading.Event())
    assert (outcome.kind, outcome.host, outcome.code) == ("failed", "algo-2", 1)
    assert time.monotonic() - started < 10
    assert hosts["algo-1"].process.poll() is not None  # stopped, not left running
    reason = host_failure(outcome.host, outcome.code, logs)
    assert reason.startswith("AlgorithmError: exit code 1 on algo-2: ")
    assert reason.endswith("loading shard\nerror: shard 2 is corrupt")


def test_stop_and_the_runtime_limit_end_every_host(tmp_path):
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]

    def group() -> HostGroup:
        return HostGroup({f"algo-{i}": JobProcess(sleeper, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, log_dir=host_directory(tmp_path, f"algo-{i}")) for i in (1, 2)})

    hosts = group()
    assert hosts.run(timeout=0.3, stop=threading.Event()).kind == "timeout"
    assert all(p.process.poll() is not None for p in hosts.hosts.values())
    stop, hosts = threading.Event(), group()
    threading.Timer(0.3, stop.set).start()
    assert hosts.run(timeout=60, stop=stop).kind == "stopped"
    assert all(p.process.poll() is not None for p in hosts.hosts.values())


def test_an_image_interpreter_runs_the_job_with_the_images_libraries_and_nothing_of_this_project(tmp_path):
    """The processing runner maps `python` to the image's environment (emulator/images): the launcher
    runs there by path, preloads the image's pandas, records what it loaded, and the job's code sees
    neither pipeline_tools nor this project's site-packages (pandas 1.5.0, not this venv's)."""
    import json

    from pipeline_tools.emulator import images

    python = str(images.ensure(images.resolve("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3")))
    script = tmp_path / "job.py"
    script.write_text(
        "import json, sys, pandas, importlib.util as u\n"
        "print(json.dumps({'pandas': pandas.__version__, 'pipeline_tools': u.find_spec('pipeline_tools') is not None,"
        " 'click': u.find_spec('click') is not None, 'launch': u.find_spec('launch') is not None, 'executable': sys.executable}))\n"
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    process = JobProcess([python, str(script)], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, log_dir=logs, preload=("numpy", "pandas"), python=python).start()
    assert process.process is not None  # preloaded through the launcher, in the image's interpreter
    assert process.run(timeout=60, stop=threading.Event()) == (0, ""), (logs / "stderr.log").read_text()
    seen = json.loads((logs / "stdout.log").read_text())
    assert seen == {"pandas": "1.5.0", "pipeline_tools": False, "click": False, "launch": False, "executable": python}
    recorded = json.loads((logs / "runtime.json").read_text())
    assert recorded["libraries"] == {"numpy": "1.24.1", "pandas": "1.5.0"} and recorded["executable"] == python
