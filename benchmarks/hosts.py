"""One and two training hosts side by side (issue 14): the same pipeline run locally with
``[training] instance_count = 1`` and ``= 2``, wall time and the emulator tree's peak memory.

Two project directories under ``benchmarks/work/hosts/`` (``hosts-1``, ``hosts-2``), each with an
emulator of its own and the stack deployed to it; their pipeline.toml differ only in
``[training] instance_count`` (same ``[dataset] seed``, so both runs train on the same rows;
processing stays on one host, so the training job reads the same ten 1M-row shards). Then
``pipeline-tools run --target local --rows N`` alternates between them (1 host, 2 hosts, per
round), each timed with ``run.measure`` while ``run.TreeMemory`` samples the RSS of that
project's emulator process tree (the server and the job hosts it starts). Per-state durations,
``train:rmse`` and the hosts each job ran on come from the run's summary.json. The deploys are
not timed.

``python benchmarks/hosts.py [--rows 10000000] [--runs 1]``;
``benchmarks/run.py --only hosts [--hosts-rows N]`` runs it as part of ``make bench``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
from pathlib import Path

from run import PIPELINE_TOOLS, WORK, TreeMemory, base_env, measure as measure_command

HOSTS_WORK = WORK / "hosts"
COUNTS = (1, 2)
TRAIN = "Train model (XGBoost)"
STANDARDIZE = "Standardization: x' = (x - x̄) / σ"


def pipeline_toml(hosts: int) -> str:
    return f"[dataset]\nseed = 7\n\n[training]\ninstance_count = {hosts}\n"


def cli(directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PIPELINE_TOOLS), *args], capture_output=True, text=True, env=base_env(), cwd=directory)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def one_run(directory: Path, rows: int, name: str) -> dict:
    emulator_pid = json.loads((directory / ".pipeline-tools" / "emulator.json").read_text())["pid"]
    with TreeMemory(emulator_pid) as tree:
        sample = measure_command([str(PIPELINE_TOOLS), "run", "--target", "local", "--rows", str(rows), "--name", name],
                                 cwd=directory, check=False)
    summary_file = directory / "artifacts" / name / "summary.json"
    if sample["returncode"] != 0 or not summary_file.exists():
        raise RuntimeError(f"`pipeline-tools run` in {directory.name} exited {sample['returncode']}")
    summary = json.loads(summary_file.read_text())
    states = {s.get("name"): s.get("duration_seconds") for s in summary.get("states", [])}
    return {
        "seconds": sample["seconds"],
        "cli_peak_mib": sample["peak_mib"],
        "tree_peak_mib": tree.peak_total_kib / 1024,
        "single_peak_mib": tree.peak_single_kib / 1024,
        "execution_seconds": summary.get("duration_seconds"),
        "train_seconds": states.get(TRAIN),
        "standardize_seconds": states.get(STANDARDIZE),
        "rmse": ((summary.get("training") or {}).get("metrics") or {}).get("train:rmse"),
        "training_hosts": [i["host"] for i in (summary.get("training") or {}).get("instances") or []],
        "files_per_host": [len(i.get("input_files") or []) for i in (summary.get("training") or {}).get("instances") or []],
    }


def measure(rows: int, runs: int = 1) -> dict:
    """Deploy both projects, then ``runs`` rounds of (1 host, 2 hosts) runs of ``rows`` rows; the
    median of each. Any failure returns ``{"skipped": reason}``; the emulators are always stopped."""
    dirs = {hosts: HOSTS_WORK / f"hosts-{hosts}" for hosts in COUNTS}
    try:
        for hosts, directory in dirs.items():
            if (directory / ".pipeline-tools" / "emulator.json").exists():
                cli(directory, "local", "down")
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            (directory / "pipeline.toml").write_text(pipeline_toml(hosts))
            print(f"hosts: emulator and deploy for {hosts} training host(s)", flush=True)
            up = cli(directory, "local", "up", "--port", str(free_port()))
            if up.returncode != 0:
                return {"skipped": f"`local up` ({hosts} hosts) failed: {(up.stderr or up.stdout).strip()[:200]}"}
            deploy = cli(directory, "deploy", "--target", "local", "--auto-approve")
            if deploy.returncode != 0:
                return {"skipped": f"deploy ({hosts} hosts) failed: {(deploy.stderr or deploy.stdout).strip()[:200]}"}
        samples: dict[int, list[dict]] = {hosts: [] for hosts in COUNTS}
        for index in range(runs):
            for hosts, directory in dirs.items():
                print(f"hosts: {rows:,} rows on {hosts} training host(s), run {index + 1}/{runs}", flush=True)
                samples[hosts].append(one_run(directory, rows, f"hosts-{hosts}-{index}"))
    except RuntimeError as error:
        return {"skipped": str(error)}
    finally:
        for directory in dirs.values():
            if (directory / ".pipeline-tools" / "emulator.json").exists():
                cli(directory, "local", "down")
            # the emulator's saved objects (~0.5 GB per project at 10M rows); artifacts/ stays
            shutil.rmtree(directory / ".pipeline-tools" / "emulator", ignore_errors=True)
    out: dict = {"rows": rows, "runs": runs}
    for hosts, taken in samples.items():
        numeric = [k for k, v in taken[0].items() if isinstance(v, (int, float))]
        out[str(hosts)] = {k: statistics.median(s[k] for s in taken) for k in numeric}
        out[str(hosts)].update(training_hosts=taken[-1]["training_hosts"], files_per_host=taken[-1]["files_per_host"],
                               all_seconds=[s["seconds"] for s in taken])
    return out


def markdown(results: dict) -> str:
    if "skipped" in results:
        return f"skipped: {results['skipped']}\n"
    lines = [
        "| training hosts | wall | execution | Standardization | Train model (XGBoost) | shards per host | "
        "peak RSS: emulator tree (sum) / largest process | train:rmse |",
        "|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for hosts in COUNTS:
        r = results[str(hosts)]
        lines.append(
            f"| {hosts} ({', '.join(r['training_hosts'])}) | {r['seconds']:.2f} s | {r['execution_seconds']:.2f} s | "
            f"{r['standardize_seconds']:.2f} s | {r['train_seconds']:.2f} s | {' + '.join(map(str, r['files_per_host']))} | "
            f"{r['tree_peak_mib']:.0f} MiB / {r['single_peak_mib']:.0f} MiB | {r['rmse']:.4f} |"
        )
    one, two = results["1"], results["2"]
    lines += [
        "",
        f"2 hosts / 1 host: training state **{two['train_seconds'] / one['train_seconds']:.2f}x**, "
        f"execution {two['execution_seconds'] / one['execution_seconds']:.2f}x, "
        f"emulator tree peak **{two['tree_peak_mib'] / one['tree_peak_mib']:.2f}x**, "
        f"largest process {two['single_peak_mib'] / one['single_peak_mib']:.2f}x.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows per run (default 10,000,000)")
    parser.add_argument("--runs", type=int, default=1, help="rounds of (1 host, 2 hosts); medians reported")
    args = parser.parse_args()
    HOSTS_WORK.mkdir(parents=True, exist_ok=True)
    results = measure(args.rows, args.runs)
    (HOSTS_WORK / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    return 0 if "skipped" not in results else 1


if __name__ == "__main__":
    sys.exit(main())
