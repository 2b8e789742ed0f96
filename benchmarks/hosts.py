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

``--tree-methods image,hist`` (issue 27) doubles the projects: for each host count one whose
``[training] hyperparameters`` are the sample's (no ``tree_method``: the image's default, ``auto``)
and one per named tree method (the sample's plus ``tree_method``), all runs alternating, so the
tree methods are compared side by side under the same machine load. Without it, the projects
use the config's default hyperparameters. The 1-minute load average at the start of each run is
recorded beside it.

``python benchmarks/hosts.py [--rows 10000000] [--runs 1] [--tree-methods image,hist]``;
``benchmarks/run.py --only hosts [--hosts-rows N] [--hosts-tree-methods image,hist]`` runs it as
part of ``make bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
from pathlib import Path

from run import PIPELINE_TOOLS, WORK, TreeMemory, base_env, job_environments, load, measure as measure_command

HOSTS_WORK = WORK / "hosts"
COUNTS = (1, 2)
TRAIN = "Train model (XGBoost)"
STANDARDIZE = "Standardization: x' = (x - x̄) / σ"


# The sample's hyperparameters (the config's defaults before issue 27): no tree_method, so the
# image's xgboost picks its own ("auto").
SAMPLE_HYPERPARAMETERS = {"objective": "reg:logistic", "eval_metric": "rmse", "num_round": "5"}
IMAGE_DEFAULT = "image"


def pipeline_toml(hosts: int, tree_method: str | None = None) -> str:
    """``tree_method``: None -> the config's default hyperparameters; ``image`` -> the sample's
    (the image's default tree method); any other -> the sample's plus that ``tree_method``."""
    text = f"[dataset]\nseed = 7\n\n[training]\ninstance_count = {hosts}\n"
    if tree_method is not None:
        hyperparameters = dict(SAMPLE_HYPERPARAMETERS)
        if tree_method != IMAGE_DEFAULT:
            hyperparameters["tree_method"] = tree_method
        text += "hyperparameters = { " + ", ".join(f'{k} = "{v}"' for k, v in hyperparameters.items()) + " }\n"
    return text


def variant_key(hosts: int, tree_method: str | None) -> str:
    return str(hosts) if tree_method is None else f"{hosts}-{tree_method}"


def cli(directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PIPELINE_TOOLS), *args], capture_output=True, text=True, env=base_env(), cwd=directory)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def one_run(directory: Path, rows: int, name: str) -> dict:
    emulator_pid = json.loads((directory / ".pipeline-tools" / "emulator.json").read_text())["pid"]
    started_at_load = load()
    with TreeMemory(emulator_pid) as tree:
        sample = measure_command([str(PIPELINE_TOOLS), "run", "--target", "local", "--rows", str(rows), "--name", name],
                                 cwd=directory, check=False)
    summary_file = directory / "artifacts" / name / "summary.json"
    if sample["returncode"] != 0 or not summary_file.exists():
        raise RuntimeError(f"`pipeline-tools run` in {directory.name} exited {sample['returncode']}")
    summary = json.loads(summary_file.read_text())
    states = {s.get("name"): s.get("duration_seconds") for s in summary.get("states", [])}
    return {
        "load": started_at_load,
        "seconds": sample["seconds"],
        "cli_peak_mib": sample["peak_mib"],
        "tree_peak_mib": tree.peak_total_kib / 1024,
        "tree_cpu_seconds": tree.cpu_seconds,
        "single_peak_mib": tree.peak_single_kib / 1024,
        "execution_seconds": summary.get("duration_seconds"),
        "train_seconds": states.get(TRAIN),
        "standardize_seconds": states.get(STANDARDIZE),
        "rmse": ((summary.get("training") or {}).get("metrics") or {}).get("train:rmse"),
        "hyperparameters": (summary.get("training") or {}).get("hyperparameters") or {},
        "training_hosts": [i["host"] for i in (summary.get("training") or {}).get("instances") or []],
        "files_per_host": [len(i.get("input_files") or []) for i in (summary.get("training") or {}).get("instances") or []],
    }


def measure(rows: int, runs: int = 1, tree_methods: list[str] | None = None) -> dict:
    """Deploy every project (host count x tree method), then ``runs`` rounds in which each runs
    ``rows`` rows once, in turn; the median of each. Any failure returns ``{"skipped": reason}``;
    the emulators are always stopped."""
    variants = [(hosts, method) for method in (tree_methods or [None]) for hosts in COUNTS]
    job_environments()  # the image environments exist before anything is timed (a build takes ~1 min)
    dirs = {variant_key(*v): HOSTS_WORK / f"hosts-{variant_key(*v)}" for v in variants}
    try:
        for hosts, method in variants:
            directory = dirs[variant_key(hosts, method)]
            if (directory / ".pipeline-tools" / "emulator.json").exists():
                cli(directory, "local", "down")
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            (directory / "pipeline.toml").write_text(pipeline_toml(hosts, method))
            print(f"hosts: emulator and deploy for {hosts} training host(s)" + (f", tree method {method}" if method else ""), flush=True)
            up = cli(directory, "local", "up", "--port", str(free_port()))
            if up.returncode != 0:
                return {"skipped": f"`local up` ({directory.name}) failed: {(up.stderr or up.stdout).strip()[:200]}"}
            deploy = cli(directory, "deploy", "--target", "local", "--auto-approve")
            if deploy.returncode != 0:
                return {"skipped": f"deploy ({directory.name}) failed: {(deploy.stderr or deploy.stdout).strip()[:200]}"}
        samples: dict[str, list[dict]] = {key: [] for key in dirs}
        for index in range(runs):
            # Alternate the order round by round, so that neither variant always follows the same one.
            order = variants if index % 2 == 0 else list(reversed(variants))
            for hosts, method in order:
                key = variant_key(hosts, method)
                print(f"hosts: {rows:,} rows on {hosts} training host(s)" + (f", tree method {method}" if method else "")
                      + f", run {index + 1}/{runs} (load {os.getloadavg()[0]:.1f})", flush=True)
                samples[key].append(one_run(dirs[key], rows, f"hosts-{key}-{index}"))
    except RuntimeError as error:
        return {"skipped": str(error)}
    finally:
        for directory in dirs.values():
            if (directory / ".pipeline-tools" / "emulator.json").exists():
                cli(directory, "local", "down")
            # the emulator's saved objects (~0.5 GB per project at 10M rows); artifacts/ stays
            shutil.rmtree(directory / ".pipeline-tools" / "emulator", ignore_errors=True)
    out: dict = {"rows": rows, "runs": runs, "tree_methods": tree_methods or []}
    for key, taken in samples.items():
        numeric = [k for k, v in taken[0].items() if isinstance(v, (int, float))]
        out[key] = {k: statistics.median(s[k] for s in taken) for k in numeric}
        out[key].update(training_hosts=taken[-1]["training_hosts"], files_per_host=taken[-1]["files_per_host"],
                        hyperparameters=taken[-1]["hyperparameters"],
                        all_seconds=[s["seconds"] for s in taken], all_train_seconds=[s["train_seconds"] for s in taken],
                        all_tree_peak_mib=[s["tree_peak_mib"] for s in taken], all_load=[round(s["load"], 1) for s in taken])
    return out


def markdown(results: dict) -> str:
    if "skipped" in results:
        return f"skipped: {results['skipped']}\n"
    methods = results.get("tree_methods") or [None]
    lines = [
        "| training hosts | tree_method | wall | execution | Standardization | Train model (XGBoost) (each run) | shards per host | "
        "peak RSS: emulator tree (sum) (each run) / largest process | CPU: emulator tree | train:rmse | load at each run's start |",
        "|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for method in methods:
        for hosts in COUNTS:
            r = results[variant_key(hosts, method)]
            shown = r.get("hyperparameters", {}).get("tree_method", "auto (image default)" if method else "config default")
            each_train = ", ".join(f"{v:.1f}" for v in r.get("all_train_seconds", []))
            each_peak = ", ".join(f"{v:.0f}" for v in r.get("all_tree_peak_mib", []))
            lines.append(
                f"| {hosts} ({', '.join(r['training_hosts'])}) | {shown} | {r['seconds']:.2f} s | {r['execution_seconds']:.2f} s | "
                f"{r['standardize_seconds']:.2f} s | {r['train_seconds']:.2f} s ({each_train}) | {' + '.join(map(str, r['files_per_host']))} | "
                f"{r['tree_peak_mib']:.0f} MiB ({each_peak}) / {r['single_peak_mib']:.0f} MiB | "
                f"{(str(round(r['tree_cpu_seconds'], 1)) + ' s') if 'tree_cpu_seconds' in r else '-'} | {r['rmse']:.4f} | "
                f"{', '.join(map(str, r.get('all_load', [])))} |"
            )
    lines.append("")
    for method in methods:
        one, two = results[variant_key(1, method)], results[variant_key(2, method)]
        label = f" ({method})" if method else ""
        lines.append(
            f"2 hosts / 1 host{label}: training state **{two['train_seconds'] / one['train_seconds']:.2f}x**, "
            f"execution {two['execution_seconds'] / one['execution_seconds']:.2f}x, "
            f"emulator tree peak **{two['tree_peak_mib'] / one['tree_peak_mib']:.2f}x**, "
            f"largest process {two['single_peak_mib'] / one['single_peak_mib']:.2f}x."
        )
    if len(methods) == 2 and None not in methods:
        base, other = methods
        for hosts in COUNTS:
            a, b = results[variant_key(hosts, other)], results[variant_key(hosts, base)]
            lines.append(
                f"{other} / {base}, {hosts} host(s): training state **{a['train_seconds'] / b['train_seconds']:.2f}x**, "
                + (f"emulator tree CPU {a['tree_cpu_seconds'] / b['tree_cpu_seconds']:.2f}x, " if "tree_cpu_seconds" in a else "")
                + f"emulator tree peak **{a['tree_peak_mib'] / b['tree_peak_mib']:.2f}x**, "
                f"largest process {a['single_peak_mib'] / b['single_peak_mib']:.2f}x."
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows per run (default 10,000,000)")
    parser.add_argument("--runs", type=int, default=1, help="rounds of (1 host, 2 hosts); medians reported")
    parser.add_argument("--tree-methods", default="", help="e.g. image,hist: compare tree methods (image = the sample's hyperparameters)")
    args = parser.parse_args()
    HOSTS_WORK.mkdir(parents=True, exist_ok=True)
    results = measure(args.rows, args.runs, [m for m in args.tree_methods.split(",") if m] or None)
    (HOSTS_WORK / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    return 0 if "skipped" not in results else 1


if __name__ == "__main__":
    sys.exit(main())
