"""`make bench`: synth, gate and pipeline benchmarks, written to docs/benchmarks.md.

Measures, in one run on this machine (issue 6):

* synth: our app (`pipeline-tools synth`), cold and warm, and cached (an unchanged project);
  the same stack with the archived cdktf 0.21 (throwaway venv ``benchmarks/.venv-cdktf``, created
  here when missing); the framework floor (a cdktn app with one S3 bucket);
* gate: synth, validate, verify-iam, scan, each stage timed (stages whose command or prerequisite
  is missing are reported as skipped, with the reason);
* pipeline: the plain scripts (generate -> transform -> xgboost) per row count, wall time and peak
  memory per step; and the local run (`pipeline-tools run --target local --rows N`) with the
  overhead ratio, on a running emulator, or on one started and deployed here (and stopped after);
* iam: a 1M-row local run with IAM enforcement on vs off (issue 11): two emulators of their own,
  the same stack deployed to each, runs alternating between them; target: on <= 1.05x off;
* durable: the demo against the provider's floor, demo again, a no-change deploy and the restore
  of a state with 20 runs (issue 12; benchmarks/durable.py, also runnable alone);
* hosts: 10M rows with 1 and 2 training hosts side by side, wall time and the emulator tree's peak
  memory (issue 14; benchmarks/hosts.py, also runnable alone).

Only public tools: ``time.perf_counter`` for wall time, ``resource.getrusage(RUSAGE_CHILDREN)``
in a fresh wrapper process per command for peak RSS. Each number is the median of ``--runs``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
VENV_BIN = ROOT / ".venv" / "bin"
PIPELINE_TOOLS = VENV_BIN / "pipeline-tools"
PYTHON = VENV_BIN / "python"
CDKTF_VENV = BENCH / ".venv-cdktf"
CDKTF_PINS = ["cdktf==0.21.0", "cdktf-cdktf-provider-aws>=21,<22", "constructs>=10.4,<10.5", "pydantic>=2.7,<3"]
WORK = BENCH / "work"
DOC = ROOT / "docs" / "benchmarks.md"

# Runs one command and writes its children's rusage to the file in argv[1] as JSON: the peak RSS
# (KiB on Linux) of the largest process the command waited for, and user + system CPU seconds.
_RSS_WRAPPER = (
    "import json, resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "open(sys.argv[1], 'w').write(json.dumps([usage.ru_maxrss, usage.ru_utime + usage.ru_stime]))\n"
    "sys.exit(code)\n"
)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    return env


def load() -> float:
    """The 1-minute load average (what `uptime` prints first): on a shared machine, the context of
    every timing. Recorded with each measurement; it does not change peak memory."""
    return os.getloadavg()[0]


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT, check: bool = True) -> dict:
    """Wall seconds, CPU seconds (user + system of the processes it waited for), peak RSS (MiB) and
    the load average when it started, of one command run under a fresh wrapper process."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        started_at_load = load()
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", _RSS_WRAPPER, rss.name, *map(str, cmd)],
            env=env or base_env(), cwd=cwd, capture_output=True, text=True,
        )
        wall = time.perf_counter() - start
        text = Path(rss.name).read_text()
    peak_kib, cpu = json.loads(text) if text else (0, 0.0)
    if check and result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {result.returncode}: {' | '.join(tail)}")
    return {"seconds": wall, "cpu_seconds": cpu, "peak_mib": peak_kib / 1024, "returncode": result.returncode,
            "load": started_at_load}


def median(samples: list[dict], key: str = "seconds") -> float:
    return statistics.median(s[key] for s in samples)


def clear_bytecode() -> None:
    """Cold start: drop the project's bytecode caches (site-packages and the OS page cache stay)."""
    for folder in ("infra", "python", "benchmarks", "scripts"):
        for cache in (ROOT / folder).rglob("__pycache__"):
            if ".venv" not in cache.parts:
                shutil.rmtree(cache, ignore_errors=True)


def cold_env(tag: str) -> dict[str, str]:
    """A fresh, empty jsii runtime package cache, so jsii unpacks its assemblies again."""
    cache = WORK / f"jsii-cache-{tag}-{time.time_ns()}"
    env = base_env()
    env["JSII_RUNTIME_PACKAGE_CACHE_ROOT"] = str(cache)
    return env


# ----------------------------------------------------------------------------------------- synth


def ensure_cdktf_venv() -> str | None:
    """Create the throwaway cdktf 0.21 venv if missing; None when it works, else why not."""
    python = CDKTF_VENV / "bin" / "python"
    if not python.exists():
        print("creating benchmarks/.venv-cdktf (cdktf 0.21, archived) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(CDKTF_VENV)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *CDKTF_PINS])
        if done.returncode != 0:
            shutil.rmtree(CDKTF_VENV, ignore_errors=True)
            return "pip could not install " + " ".join(CDKTF_PINS)
    return None


def synth_commands() -> dict[str, tuple[list[str], dict[str, str]]]:
    no_cache = {"PIPELINE_TOOLS_NO_SYNTH_CACHE": "1"}
    return {
        "ours (cdktn)": ([str(PIPELINE_TOOLS), "synth", "--out", str(WORK / "synth-ours")], no_cache),
        "cdktf 0.21 (same stack)": ([str(CDKTF_VENV / "bin" / "python"), str(BENCH / "cdktf_app.py"), str(WORK / "synth-cdktf")], {}),
        "floor (cdktn, one bucket)": ([str(PYTHON), str(BENCH / "floor_app.py"), str(WORK / "synth-floor")], {}),
    }


def bench_synth(runs: int) -> dict:
    problem = ensure_cdktf_venv()
    results: dict = {}
    for name, (cmd, extra) in synth_commands().items():
        if problem and "cdktf" in name:
            results[name] = {"skipped": problem}
            continue
        print(f"synth: {name}", flush=True)
        cold = []
        for index in range(runs):
            clear_bytecode()
            cold.append(measure(cmd, {**cold_env(f"{index}"), **extra}))
        warm_env = {**cold_env("warm"), **extra}
        measure(cmd, warm_env)  # fill the caches once
        warm = [measure(cmd, warm_env) for _ in range(runs)]
        results[name] = {"cold": median(cold), "warm": median(warm), "peak_mib": median(warm, "peak_mib")}
    # Cached: an unchanged project, synthesized again into the same directory.
    out = WORK / "synth-cached"
    cmd = [str(PIPELINE_TOOLS), "synth", "--out", str(out)]
    measure(cmd)
    cached = [measure(cmd) for _ in range(max(runs, 5))]
    results["ours, cached (unchanged project)"] = {"warm": median(cached), "peak_mib": median(cached, "peak_mib")}
    return results


# ------------------------------------------------------------------------------------------ gate


def bench_gate(runs: int) -> dict:
    stack = WORK / "gate" / "stacks" / "ml-pipeline"
    env = {**base_env(), "PIPELINE_TOOLS_NO_SYNTH_CACHE": "1"}
    stages: dict[str, tuple[list[str], str | None]] = {
        "synth": ([str(PIPELINE_TOOLS), "synth", "--out", str(WORK / "gate")], None),
        "validate": (
            [str(PIPELINE_TOOLS), "validate", "--stack-dir", str(stack)],
            None if env.get("PIPELINE_TOOLS_PLUGIN_DIR") else "PIPELINE_TOOLS_PLUGIN_DIR unset (terraform init needs the provider mirror)",
        ),
        "verify-iam": ([str(PIPELINE_TOOLS), "verify-iam", "--stack-dir", str(stack)], None),
        "scan": ([str(PIPELINE_TOOLS), "scan", "--stack-dir", str(stack)], None),
    }
    available = subprocess.run([str(PIPELINE_TOOLS), "--help"], capture_output=True, text=True, env=env).stdout
    results: dict = {}
    for name, (cmd, skip) in stages.items():
        if skip is None and f"  {name} " not in available and f"  {name}\n" not in available:
            skip = f"`pipeline-tools {name}` is not there yet"
        if skip:
            results[name] = {"skipped": skip}
            continue
        print(f"gate: {name}", flush=True)
        samples = [measure(cmd, env, check=False) for _ in range(runs)]
        results[name] = {"seconds": median(samples), "peak_mib": median(samples, "peak_mib"), "exit": samples[-1]["returncode"]}
    timed = [r["seconds"] for r in results.values() if "seconds" in r]
    results["total"] = {"seconds": sum(timed)}
    return results


# -------------------------------------------------------------------------------------- pipeline


def job_environments() -> dict[str, dict]:
    """Where each step of the local run runs, so the plain scripts can run there too: the Lambda
    (Generate dataset) in the emulator's own interpreter (this venv), processing in the default
    processing image's environment, training in the default training image's (docs/images.md;
    built by `make setup`, or here when missing). Also the hyperparameters the training job gets
    by default (the config's), which the plain training step uses too."""
    from pipeline_tools.emulator import images
    from sfn_ml_pipeline.config import PipelineConfig

    config = PipelineConfig()
    processing, training = images.resolve(config.processing_image), images.resolve(config.training_image)
    return {
        "generate": {"python": PYTHON, "label": "the emulator's Python (the Lambda runtime)"},
        "transform": {"python": images.ensure(processing), "label": processing.label},
        "train": {"python": images.ensure(training), "label": training.label},
        "hyperparameters": {k: str(v) for k, v in config.training.hyperparameters.items()},
    }


def library_versions(python: Path) -> str:
    done = subprocess.run([str(python), "-c", "import importlib.metadata as m\nfor d in ('pandas', 'numpy', 'xgboost', 'xgboost-cpu'):\n"
                           "    try: print(d, m.version(d))\n    except m.PackageNotFoundError: pass"],
                          capture_output=True, text=True)
    return ", ".join(done.stdout.split("\n")[:-1]) if done.returncode == 0 else "unknown"


def bench_plain(rows: int, runs: int, environments: dict) -> dict:
    """generate -> transform -> xgboost as plain scripts, wall time, CPU time and peak memory per
    step, in two library sets side by side (each run does both, alternating which goes first):

    * ``image``: each step with the interpreter its state runs with locally (the jobs' image
      environments: pandas 1.5, xgboost 1.7.4), so local / plain measures the emulator alone;
    * ``host``: every step with this project's venv (pandas 3, xgboost 3.x): what the same
      scripts cost with current libraries.

    Training uses the job's default hyperparameters (the config's) in both."""
    hyperparameters = json.dumps(environments["hyperparameters"])
    sets = {"image": {step: environments[step]["python"] for step in ("generate", "transform", "train")},
            "host": {step: PYTHON for step in ("generate", "transform", "train")}}
    samples: dict[str, dict[str, list[dict]]] = {name: {step: [] for step in ("generate", "transform", "train")} for name in sets}
    for index in range(runs):
        for name in (("image", "host") if index % 2 == 0 else ("host", "image")):
            python = sets[name]
            folder = WORK / f"plain-{rows}-{name}"
            steps = {
                "generate": [str(python["generate"]), str(ROOT / "scripts" / "generate_dataset.py"), "--rows", str(rows),
                             "--seed", "1", "--out", str(folder / "raw" / "raw.csv")],
                "transform": [str(python["transform"]), str(ROOT / "scripts" / "transform.py"), "--input-dir", str(folder / "raw"),
                              "--output-dir", str(folder / "train")],
                "train": [str(python["train"]), str(BENCH / "train_xgboost.py"), "--input", str(folder / "train"),
                          "--model", str(folder / "model.json"), "--hyperparameters", hyperparameters],
            }
            shutil.rmtree(folder, ignore_errors=True)
            (folder / "raw").mkdir(parents=True)
            for step, cmd in steps.items():
                samples[name][step].append(measure(cmd))
            shutil.rmtree(folder, ignore_errors=True)
    result: dict = {}
    for name, by_step in samples.items():
        steps_out = {step: {"seconds": median(s), "cpu_seconds": median(s, "cpu_seconds"), "peak_mib": median(s, "peak_mib")}
                     for step, s in by_step.items()}
        steps_out["total"] = {"seconds": sum(r["seconds"] for r in steps_out.values()),
                              "cpu_seconds": sum(r["cpu_seconds"] for r in steps_out.values()),
                              "peak_mib": max(r["peak_mib"] for r in steps_out.values())}
        steps_out["load"] = [round(x["load"], 1) for step in by_step.values() for x in step]
        result[name] = steps_out
    return result


class TreeMemory:
    """Samples the resident memory of a process tree (the emulator and the jobs it runs) from /proc,
    and counts the CPU time the tree spends while it is open.

    Reports the peak of the tree's summed RSS and the peak of its largest single process: the
    pipeline's memory lives there, not in the `pipeline-tools run` client. ``cpu_seconds``: user +
    system time of the tree between enter and exit: the root's own and its waited-for children's
    (``utime + stime + cutime + cstime`` in /proc/<pid>/stat, where a job host's time lands once the
    emulator reaps it), plus that of every descendant still alive, at exit minus at enter. Unlike
    wall time it hardly moves with the machine's load.
    """

    def __init__(self, root_pid: int, interval: float = 0.05):
        self.root_pid, self.interval = root_pid, interval
        self.peak_total_kib = self.peak_single_kib = 0
        self.cpu_seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def _snapshot() -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
        """(parent, RSS KiB, CPU clock ticks incl. waited-for children) of every process."""
        parents, rss, ticks = {}, {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
                rss[int(entry)] = int(fields[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
                ticks[int(entry)] = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
            except (OSError, IndexError, ValueError):
                continue
        return parents, rss, ticks

    def _tree(self, parents: dict[int, int]) -> set[int]:
        tree, frontier = {self.root_pid}, [self.root_pid]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
            tree.update(children)
            frontier.extend(children)
        return tree

    def _tree_ticks(self) -> int:
        parents, _, ticks = self._snapshot()
        return sum(ticks.get(pid, 0) for pid in self._tree(parents))

    def _loop(self) -> None:
        while not self._stop.is_set():
            parents, rss, _ = self._snapshot()
            sizes = [rss.get(pid, 0) for pid in self._tree(parents)]
            self.peak_total_kib = max(self.peak_total_kib, sum(sizes))
            self.peak_single_kib = max(self.peak_single_kib, max(sizes, default=0))
            self._stop.wait(self.interval)

    def __enter__(self) -> "TreeMemory":
        self._start_ticks = self._tree_ticks()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_seconds = (self._tree_ticks() - self._start_ticks) / os.sysconf("SC_CLK_TCK")


def local_stack_up() -> tuple[bool, str | None]:
    """Make sure an emulator runs with the stack deployed: reuse a running one (as it is), else
    `local up` + `deploy --target local` (~90 s, mostly the provider's lifecycle wait).
    Returns (started here, why the local runs must be skipped or None)."""
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(PIPELINE_TOOLS), *args], capture_output=True, text=True, env=base_env(), cwd=ROOT)

    if cli("local", "status").returncode == 0:
        return False, None
    print("pipeline: starting the local emulator and deploying the stack to it", flush=True)
    up = cli("local", "up")
    if up.returncode != 0:
        return False, f"`pipeline-tools local up` failed: {(up.stderr or up.stdout).strip()[:200]}"
    deploy = cli("deploy", "--target", "local", "--auto-approve")
    if deploy.returncode != 0:
        return True, f"`pipeline-tools deploy --target local` failed: {(deploy.stderr or deploy.stdout).strip()[:200]}"
    return True, None


def bench_local(rows: int, runs: int) -> dict:
    """The local run: `pipeline-tools run --target local --rows N`, per-state durations from
    artifacts/<execution>/summary.json, on the emulator :func:`local_stack_up` provides."""
    artifacts = WORK / "artifacts"
    samples = []
    for index in range(runs):
        name = f"bench-{rows}-{index}-{time.time_ns() % 10**8}"
        emulator_pid = json.loads((ROOT / ".pipeline-tools" / "emulator.json").read_text())["pid"]
        with TreeMemory(emulator_pid) as tree:
            sample = measure([str(PIPELINE_TOOLS), "run", "--target", "local", "--rows", str(rows), "--name", name,
                              "--artifacts-dir", str(artifacts)], check=False)
        sample["emulator_tree_peak_mib"] = tree.peak_total_kib / 1024
        sample["emulator_cpu_seconds"] = tree.cpu_seconds
        sample["emulator_single_peak_mib"] = tree.peak_single_kib / 1024
        summary_file = artifacts / name / "summary.json"
        if sample["returncode"] != 0 or not summary_file.exists():
            return {"skipped": f"`pipeline-tools run` exited {sample['returncode']}"}
        summary = json.loads(summary_file.read_text())
        sample["states"] = {s.get("name"): s.get("duration_seconds") for s in summary.get("states", [])}
        sample["execution_seconds"] = summary.get("duration_seconds")
        samples.append(sample)
    states = {key: statistics.median(s["states"][key] or 0 for s in samples) for key in samples[0]["states"]}
    return {"seconds": median(samples), "peak_mib": median(samples, "peak_mib"),
            "emulator_tree_peak_mib": median(samples, "emulator_tree_peak_mib"),
            "emulator_single_peak_mib": median(samples, "emulator_single_peak_mib"),
            "emulator_cpu_seconds": median(samples, "emulator_cpu_seconds"), "cli_cpu_seconds": median(samples, "cpu_seconds"),
            "execution_seconds": statistics.median(s["execution_seconds"] or 0 for s in samples), "states": states,
            "first_seconds": samples[0]["seconds"], "load": [round(s["load"], 1) for s in samples]}


def bench_iam(rows: int, runs: int) -> dict:
    """`pipeline-tools run --target local --rows N` with IAM enforcement on and off, each on an
    emulator (and deploy) of its own in benchmarks/work/iam-{on,off}/, runs alternating (off, on)
    so that machine noise hits both alike. Execution time from summary.json; median of ``runs``."""
    import socket

    dirs = {mode: WORK / f"iam-{mode}" for mode in ("off", "on")}

    def cli(directory: Path, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(PIPELINE_TOOLS), *args], capture_output=True, text=True, env=base_env(), cwd=directory)

    try:
        for mode, directory in dirs.items():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            print(f"iam: emulator with enforcement {mode}, deploying the stack", flush=True)
            up = cli(directory, "local", "up", "--port", str(port), "--iam" if mode == "on" else "--no-iam")
            if up.returncode != 0:
                return {"skipped": f"`local up` ({mode}) failed: {(up.stderr or up.stdout).strip()[:200]}"}
            deploy = cli(directory, "deploy", "--target", "local", "--auto-approve")
            if deploy.returncode != 0:
                return {"skipped": f"deploy ({mode}) failed: {(deploy.stderr or deploy.stdout).strip()[:200]}"}
        samples: dict[str, list[dict]] = {"off": [], "on": []}
        for index in range(runs + 1):  # the first pair warms both emulators (Lambda environment, imports): not counted
            for mode, directory in dirs.items():
                name = f"iam-{mode}-{rows}-{index}"
                sample = measure([str(PIPELINE_TOOLS), "run", "--target", "local", "--rows", str(rows), "--name", name],
                                 cwd=directory, check=False)
                summary_file = directory / "artifacts" / name / "summary.json"
                if sample["returncode"] != 0 or not summary_file.exists():
                    return {"skipped": f"run ({mode}) exited {sample['returncode']}"}
                summary = json.loads(summary_file.read_text())
                sample["execution_seconds"] = summary.get("duration_seconds")
                sample["states"] = {s.get("name"): s.get("duration_seconds") for s in summary.get("states", [])}
                sample["decisions"] = (summary.get("access") or {}).get("decisions")
                sample["cost"] = ((summary.get("access") or {}).get("cost") or {}).get("seconds")
                sample["checks"] = ((summary.get("access") or {}).get("cost") or {}).get("checks")
                if index:
                    samples[mode].append(sample)
        out = {}
        for mode, taken in samples.items():
            out[mode] = {
                "seconds": median(taken),
                "execution_seconds": statistics.median(s["execution_seconds"] or 0 for s in taken),
                "states": {k: statistics.median(s["states"][k] or 0 for s in taken) for k in taken[0]["states"]},
                "decisions": taken[-1]["decisions"],
                "all_execution_seconds": [s["execution_seconds"] for s in taken],
                "cost_seconds": statistics.median(s["cost"] or 0 for s in taken) if taken[0].get("cost") is not None else None,
                "checks": taken[-1].get("checks"),
            }
        out["ratio"] = out["on"]["execution_seconds"] / out["off"]["execution_seconds"]
        out["rows"] = rows
        return out
    finally:
        for directory in dirs.values():
            if (directory / ".pipeline-tools").exists():
                cli(directory, "local", "down")


# --------------------------------------------------------------------------------------- machine


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kib = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                    if line.startswith("MemTotal")), 0)

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "absent"

    def tool(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "absent"

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
        "cpu": cpu, "nproc": os.cpu_count(), "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": platform.platform(), "python": platform.python_version(), "node": tool(["node", "--version"]),
        "terraform": tool(["terraform", "version"]),
        "versions": {d: version(d) for d in ("cdktn", "cdktn-provider-aws", "constructs", "jsii", "xgboost-cpu", "pandas", "numpy", "moto")},
        "cdktf_venv": cdktf_versions(),
    }


def cdktf_versions() -> str:
    """The cdktf comparison venv's versions; it is made by the synth part, so ask again after it ran."""
    try:
        done = subprocess.run([str(CDKTF_VENV / "bin" / "python"), "-c",
                               "from importlib.metadata import version as v; print(v('cdktf'), v('cdktf-cdktf-provider-aws'), v('constructs'), v('jsii'))"],
                              capture_output=True, text=True, timeout=60)
        return done.stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "absent"


# ---------------------------------------------------------------------------------------- report


def fmt(value, unit="s") -> str:
    if value is None:
        return "-"
    return f"{value:.2f} {unit}" if unit == "s" else f"{value:.0f} {unit}"


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "## Results (written by `make bench`)", "",
        f"Machine: {m['cpu']}, {m['nproc']} cores, {m['memory_gib']} GiB; {m['os']}. Date: {m['date']}"
        + (f" to {results['finished']}" if results.get("finished") else "") + f". Median of {results['runs']} runs.", "",
        f"Load average (1 / 5 / 15 min) at the start: {m.get('load', '-')}"
        + (f"; at the end: {results['load_end']}" if results.get("load_end") else "")
        + ". Each table gives the 1-minute load at the start of every measured run: on a shared machine wall times "
        "move with it, peak memory does not.", "",
        f"Versions: Python {m['python']}, node {m['node']}, {m['terraform']}; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + f"; cdktf venv (cdktf, cdktf-cdktf-provider-aws, constructs, jsii): {m['cdktf_venv']}.", "",
    ]
    synth = results.get("synth")
    if synth:
        lines += ["### Synth", "", "| app | cold | warm | peak RSS (warm) |", "|---|---:|---:|---:|"]
        for name, r in synth.items():
            if "skipped" in r:
                lines.append(f"| {name} | skipped: {r['skipped']} | | |")
            else:
                lines.append(f"| {name} | {fmt(r.get('cold'))} | {fmt(r.get('warm'))} | {fmt(r.get('peak_mib'), 'MiB')} |")
        ours, floor = synth.get("ours (cdktn)", {}), synth.get("floor (cdktn, one bucket)", {})
        cdktf = synth.get("cdktf 0.21 (same stack)", {})
        if ours.get("warm") and floor.get("warm"):
            lines += ["", f"Warm synth / framework floor: **{ours['warm'] / floor['warm']:.2f}x** (target <= 1.3x)."]
        if ours.get("warm") and cdktf.get("warm"):
            lines += [f"cdktf 0.21 / ours, warm: **{cdktf['warm'] / ours['warm']:.1f}x**; cold: "
                      f"**{cdktf['cold'] / ours['cold']:.1f}x**."]
        cached = synth.get("ours, cached (unchanged project)", {})
        if cached.get("warm"):
            lines += [f"Cached synth of an unchanged project: **{cached['warm']:.2f} s** (target < 0.3 s)."]
        lines.append("")
    gate = results.get("gate")
    if gate:
        lines += ["### Gate", "", "| stage | time | peak RSS | exit |", "|---|---:|---:|---:|"]
        for name, r in gate.items():
            if "skipped" in r:
                lines.append(f"| {name} | skipped: {r['skipped']} | | |")
            else:
                lines.append(f"| {name} | {fmt(r.get('seconds'))} | {fmt(r.get('peak_mib'), 'MiB')} | {r.get('exit', '')} |")
        lines.append("")
    pipeline = results.get("pipeline")
    if pipeline:
        first = next(iter(pipeline.values()))["plain"]
        envs = results.get("environments", {})
        lines += ["### Pipeline", "",
                  "Plain scripts (generate -> transform -> xgboost with the job's default hyperparameters "
                  f"`{json.dumps(envs.get('hyperparameters', {}))}`), each step run with the interpreter its state "
                  "runs with locally (**image** libraries: " + "; ".join(
                      f"{step}: {envs[step]['label']} ({envs[step]['versions']})" for step in ("generate", "transform", "train") if step in envs)
                  + ") and, beside it, every step with this project's venv (**host** libraries). Wall time (CPU time):", "",
                  "| rows | libraries | generate | transform | train | total | peak RSS | load (1-min avg at each step's start) |",
                  "|---:|---|---:|---:|---:|---:|---:|---|"]
        for rows, r in pipeline.items():
            for name in ("image", "host"):
                p = r["plain"].get(name)
                if not p:
                    continue
                cells = " | ".join(f"{fmt(p[step]['seconds'])} ({fmt(p[step].get('cpu_seconds'))})" for step in ("generate", "transform", "train", "total"))
                lines.append(f"| {int(rows):,} | {name} | {cells} | {fmt(p['total']['peak_mib'], 'MiB')} | "
                             f"{', '.join(map(str, p.get('load', [])))} |")
        del first
        lines += ["", "Local runs (`pipeline-tools run --target local --rows N`); overhead = the local run / the plain scripts "
                  "with the **image** libraries (the same libraries as the jobs, so it measures the emulator); the host-library "
                  "ratio beside it:", "",
                  "| rows | wall (first run) | execution | per state | peak RSS: CLI / emulator tree (sum) / largest process | CPU: emulator tree + CLI | overhead vs plain (image): wall / execution / CPU | vs plain (host): wall / execution | load |",
                  "|---:|---:|---:|---|---:|---:|---:|---:|---|"]
        for rows, r in pipeline.items():
            local = r["local"]
            if "skipped" in local:
                lines.append(f"| {int(rows):,} | skipped: {local['skipped']} | | | | | | | |")
                continue
            states = ", ".join(f"{k}: {v:.2f} s" for k, v in local["states"].items())
            image_total = r["plain"]["image"]["total"]["seconds"]
            host_total = r["plain"]["host"]["total"]["seconds"]
            first = f" ({fmt(local['first_seconds'])})" if local.get("first_seconds") else ""
            cpu = (local.get("emulator_cpu_seconds") or 0) + (local.get("cli_cpu_seconds") or 0)
            image_cpu = r["plain"]["image"]["total"].get("cpu_seconds") or 0
            lines.append(f"| {int(rows):,} | {fmt(local['seconds'])}{first} | {fmt(local['execution_seconds'])} | {states} | "
                         f"{fmt(local['peak_mib'], 'MiB')} / {fmt(local.get('emulator_tree_peak_mib'), 'MiB')} / "
                         f"{fmt(local.get('emulator_single_peak_mib'), 'MiB')} | "
                         f"{fmt(local.get('emulator_cpu_seconds'))} + {fmt(local.get('cli_cpu_seconds'))} | "
                         f"**{local['seconds'] / image_total:.2f}x** / **{local['execution_seconds'] / image_total:.2f}x** / "
                         f"{(f'{cpu / image_cpu:.2f}x') if image_cpu else '-'} | "
                         f"{local['seconds'] / host_total:.2f}x / {local['execution_seconds'] / host_total:.2f}x | "
                         f"{', '.join(map(str, local.get('load', [])))} |")
        lines.append("")
    iam = results.get("iam")
    if iam:
        lines += ["### IAM enforcement on vs off", ""]
        if "skipped" in iam:
            lines += [f"skipped: {iam['skipped']}", ""]
        else:
            lines += [f"`pipeline-tools run --target local --rows {iam['rows']:,}` on two emulators with the same stack, runs "
                      "alternating; execution time from summary.json (each sample listed).", "",
                      "| enforcement | execution (median) | samples | wall | per state | decisions recorded | time authorizing (checks) |",
                      "|---|---:|---|---:|---|---:|---:|"]
            for mode in ("off", "on"):
                r = iam[mode]
                states = ", ".join(f"{k}: {v:.2f} s" for k, v in r["states"].items())
                samples = ", ".join(f"{v:.2f}" for v in r["all_execution_seconds"])
                authorizing = f"{fmt(r['cost_seconds'])} ({r['checks']})" if r.get("cost_seconds") is not None else "-"
                lines.append(f"| {mode} | {fmt(r['execution_seconds'])} | {samples} | {fmt(r['seconds'])} | {states} | "
                             f"{r['decisions'] if r['decisions'] is not None else '-'} | {authorizing} |")
            best = min(iam["on"]["all_execution_seconds"]) / min(iam["off"]["all_execution_seconds"])
            lines += ["", f"On / off: **{iam['ratio']:.3f}x** by median, {best:.3f}x by the fastest run of each (target <= 1.05x)."]
            on = iam["on"]
            if on.get("cost_seconds") is not None:
                lines += [f"Measured inside the emulator, independent of machine noise: authentication and authorization "
                          f"take {on['cost_seconds']:.3f} s of the {on['execution_seconds']:.2f} s execution "
                          f"(**{100 * on['cost_seconds'] / on['execution_seconds']:.1f}%**), {on['checks']} checks."]
            lines.append("")
    durable_results = results.get("durable")
    if durable_results:
        import durable

        lines += ["### The durable local target and the demo at the provider's floor (issue 12)", "",
                  "Each measured once, in one run with the floor (`benchmarks/durable.py`).", "",
                  durable.markdown(durable_results)]
    hosts_results = results.get("hosts")
    if hosts_results:
        import hosts

        lines += ["### One and two training hosts (issue 14)", ""]
        if "skipped" not in hosts_results:
            lines += [f"`pipeline-tools run --target local --rows {hosts_results['rows']:,}` with `[training] instance_count` 1 "
                      "and 2 (`benchmarks/hosts.py`): two projects with an emulator each, the same stack and dataset seed, "
                      f"runs alternating; median of {hosts_results['runs']}.", ""]
        lines += [hosts.markdown(hosts_results)]
    return "\n".join(lines) + "\n"


MARK = "<!-- results: everything below is rewritten by `make bench` -->"


def write_doc(results: dict) -> None:
    """Replace the results part of docs/benchmarks.md, keeping the hand-written method and notes."""
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{MARK}\n"
    head = text.split(MARK)[0] if MARK in text else text + "\n"
    tmp = DOC.with_suffix(".md.tmp")
    tmp.write_text(head + MARK + "\n\n" + markdown(results))
    tmp.replace(DOC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--rows", default="5000,100000,1000000", help="comma-separated row counts (add 10000000 for the big one)")
    parser.add_argument("--only", default="synth,gate,pipeline,iam,durable,hosts", help="comma-separated parts to run")
    parser.add_argument("--restore-runs", type=int, default=20, help="runs in the state the durable restore reads")
    parser.add_argument("--iam-rows", type=int, default=1_000_000, help="rows of the IAM on/off comparison")
    parser.add_argument("--hosts-rows", type=int, default=10_000_000, help="rows of the 1 vs 2 training hosts comparison")
    parser.add_argument("--hosts-tree-methods", default="",
                        help="e.g. image,hist: the hosts part compares these tree methods too (default: the config's hyperparameters)")
    parser.add_argument("--no-doc", action="store_true", help="print the tables, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict = {"runs": args.runs, "machine": machine()}
    if "synth" in parts:
        results["synth"] = bench_synth(args.runs)
        results["machine"]["cdktf_venv"] = cdktf_versions()  # made by bench_synth on a fresh checkout
    if "gate" in parts:
        results["gate"] = bench_gate(args.runs)
    if "pipeline" in parts:
        results["pipeline"] = {}
        environments = job_environments()
        results["environments"] = {
            **{step: {"label": environments[step]["label"], "versions": library_versions(environments[step]["python"])}
               for step in ("generate", "transform", "train")},
            "hyperparameters": environments["hyperparameters"],
        }
        started, why_not = local_stack_up()
        try:
            for rows in (int(r) for r in args.rows.split(",") if r):
                print(f"pipeline: {rows:,} rows", flush=True)
                local = {"skipped": why_not} if why_not else bench_local(rows, args.runs)
                results["pipeline"][str(rows)] = {"plain": bench_plain(rows, args.runs, environments), "local": local}
        finally:
            if started:
                subprocess.run([str(PIPELINE_TOOLS), "local", "down"], capture_output=True, env=base_env(), cwd=ROOT)
    if "iam" in parts:
        results["iam"] = bench_iam(args.iam_rows, args.runs)
    if "durable" in parts:
        import durable  # benchmarks/durable.py (this script's directory is on sys.path)

        results["durable"] = durable.measure(["floor", "demo", "deploy", "restore", "hotpath"], args.restore_runs, 100_000)
    if "hosts" in parts:
        import hosts  # benchmarks/hosts.py

        results["hosts"] = hosts.measure(args.hosts_rows, args.runs, [m for m in args.hosts_tree_methods.split(",") if m] or None)
    results["finished"] = datetime.now(timezone.utc).strftime("%H:%M UTC")
    results["load_end"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    (WORK / "results.json").write_text(json.dumps(results, indent=2))
    print(markdown(results))
    if not args.no_doc:
        write_doc(results)
    for cache in WORK.glob("jsii-cache-*"):
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
