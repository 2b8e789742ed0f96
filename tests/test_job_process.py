"""The emulator's job processes (jobs/common.JobProcess + jobs/launch): a job's Python starts
early, importing its libraries, and its code runs, exactly as `python SCRIPT ARGS` would, only
once released. Real subprocesses; the whole jobs run in tests/test_emulator_pipeline.py."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from pipeline_tools.emulator.jobs.common import JobProcess

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
