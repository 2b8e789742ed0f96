"""The durable local target and the demo at the provider's floor (issue 12), measured in one run.

* **floor**: one `terraform apply` of a bucket with only a lifecycle configuration, on a fresh
  emulator: terraform-provider-aws's lifecycle waiter alone (>= 55 s), what any deploy of the stack pays;
* **demo from nothing**: `pipeline-tools demo` in an empty project directory (no emulator state,
  no synth output, no .terraform): `make demo` after `make setup`; target floor + 15 s;
* **demo again**: the same command in the same directory, state kept; target < 20 s;
* **deploy, nothing changed**: `local up`, then `deploy --target local --auto-approve` timed; target < 10 s;
* **restore**: a state holding the stack and 20 runs of 100,000 rows, `local down` then
  `local up`: the restore inside the server (its own clock) and `local up`'s wall time; target < 5 s;
* **hotpath**: what journaling costs a 1,000,000-row run: the server's flush time during it, on
  the request path (a response waits for it) and in the background (beside the jobs).

Each in a private directory under ``benchmarks/work/durable/``, each sharing one provider plugin cache.
``python benchmarks/durable.py [--restore-runs 20] [--restore-rows 100000] [--only floor,demo,deploy,restore]``;
``benchmarks/run.py --only durable`` runs it as part of ``make bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIPELINE_TOOLS = ROOT / ".venv" / "bin" / "pipeline-tools"
WORK = ROOT / "benchmarks" / "work" / "durable"

FLOOR_STACK = {
    "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": ">= 5.100, < 7"}}},
    "provider": {"aws": [{"region": "us-east-1"}]},
    "resource": {
        "aws_s3_bucket": {"floor": {"bucket": "floor-lifecycle-bench"}},
        "aws_s3_bucket_lifecycle_configuration": {
            "floor": {
                "bucket": "${aws_s3_bucket.floor.id}",
                "rule": [{"id": "expire", "status": "Enabled", "filter": {}, "expiration": {"days": 30}}],
            }
        },
    },
}


def env() -> dict[str, str]:
    values = dict(os.environ)
    values.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    values.setdefault("TF_PLUGIN_CACHE_DIR", str(WORK / "plugin-cache"))
    Path(values["TF_PLUGIN_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)
    return values


def cli(directory: Path, *args: str, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    result = subprocess.run([str(PIPELINE_TOOLS), *args], cwd=directory, env=env(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if check and result.returncode != 0:
        raise RuntimeError(f"`pipeline-tools {' '.join(args)}` exited {result.returncode}: {(result.stderr or result.stdout).strip()[-400:]}")
    return seconds, result


def fresh(name: str) -> Path:
    directory = WORK / name
    if (directory / ".pipeline-tools" / "emulator.json").exists():
        cli(directory, "local", "down", check=False)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def bench_floor() -> dict:
    """One apply of the lifecycle-only bucket against a fresh emulator (init not counted)."""
    from pipeline_tools.emulator.env import emulator_settings
    from pipeline_tools.terraform import find_terraform, plugin_dir_from

    directory = fresh("floor")
    cli(directory, "local", "up", "--port", "0")
    try:
        state = json.loads((directory / ".pipeline-tools" / "emulator.json").read_text())
        stack = directory / "stack"
        stack.mkdir()
        (stack / "main.tf.json").write_text(json.dumps(FLOOR_STACK, indent=2))
        tf_env = {**env(), **emulator_settings(state), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            tf_env.pop(name, None)
        terraform = find_terraform()
        init = [terraform, "init", "-input=false", "-no-color"]
        plugin_dir = plugin_dir_from(None)
        if plugin_dir:
            init.append(f"-plugin-dir={plugin_dir}")
        subprocess.run(init, cwd=stack, env=tf_env, check=True, capture_output=True)
        started = time.perf_counter()
        applied = subprocess.run([terraform, "apply", "-input=false", "-no-color", "-auto-approve"], cwd=stack, env=tf_env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if applied.returncode != 0:
            raise RuntimeError(f"floor apply failed: {applied.stderr.strip()[-400:]}")
        return {"seconds": seconds}
    finally:
        cli(directory, "local", "down", check=False)


def bench_demo() -> dict:
    directory = fresh("demo")
    first, _ = cli(directory, "demo")
    again, result = cli(directory, "demo")
    return {"first_seconds": first, "again_seconds": again, "again_tail": result.stdout.strip().splitlines()[-1:]}


def bench_deploy() -> dict:
    directory = WORK / "demo"  # the demo's project: stack deployed, state kept
    if not (directory / ".pipeline-tools" / "emulator").is_dir():
        directory = fresh("demo")
        cli(directory, "demo")
    cli(directory, "local", "up", "--port", "0")
    try:
        seconds, result = cli(directory, "deploy", "--target", "local", "--auto-approve")
        return {"seconds": seconds, "plan": next((l for l in result.stdout.splitlines() if "No changes" in l or l.startswith("Plan:")), "?")}
    finally:
        cli(directory, "local", "down", check=False)


def durable_cost(directory: Path) -> dict:
    """The emulator's journaling cost so far (serve.py DURABLE_COST_PATH), over its own HTTPS."""
    import ssl
    import urllib.request

    from pipeline_tools.emulator.serve import DURABLE_COST_PATH

    state = json.loads((directory / ".pipeline-tools" / "emulator.json").read_text())
    context = ssl.create_default_context(cafile=state["ca_bundle"])
    with urllib.request.urlopen(f"{state['endpoint']}{DURABLE_COST_PATH}", context=context, timeout=10) as response:
        return json.loads(response.read())


def bench_hotpath(rows: int) -> dict:
    """What journaling costs a run of ``rows`` rows: the flush time the server spent during it, on
    the request path (before responses) and in the background, against the execution's duration."""
    directory = WORK / "demo"
    if not (directory / ".pipeline-tools" / "emulator").is_dir():
        directory = fresh("demo")
        cli(directory, "demo")
    cli(directory, "local", "up", "--port", "0")
    try:
        cli(directory, "deploy", "--target", "local", "--auto-approve")
        before = durable_cost(directory)
        name = f"hotpath-{int(time.time())}"
        seconds, _ = cli(directory, "run", "--target", "local", "--rows", str(rows), "--name", name)
        after = durable_cost(directory)
    finally:
        cli(directory, "local", "down", check=False)
    summary = json.loads((directory / "artifacts" / name / "summary.json").read_text())
    spent = {
        origin: {key: round(after[origin][key] - before.get(origin, {}).get(key, 0), 3) for key in after[origin]}
        for origin in after
        if origin != "close"
    }
    return {"rows": rows, "run_seconds": seconds, "execution_seconds": summary.get("duration_seconds"), "journal": spent}


def bench_restore(runs: int, rows: int) -> dict:
    directory = fresh("restore")
    cli(directory, "local", "up", "--port", "0")
    try:
        cli(directory, "deploy", "--target", "local", "--auto-approve")
        for index in range(runs):
            cli(directory, "run", "--target", "local", "--rows", str(rows), "--name", f"restore-{index:02d}")
    finally:
        cli(directory, "local", "down", check=False)
    data = directory / ".pipeline-tools" / "emulator"
    objects = list((data / "objects").iterdir())
    up_seconds, _ = cli(directory, "local", "up", "--port", "0")
    try:
        state = json.loads((directory / ".pipeline-tools" / "emulator.json").read_text())
    finally:
        cli(directory, "local", "down", check=False)
    return {
        "runs": runs,
        "rows": rows,
        "restore_seconds": state["restored"]["seconds"],
        "local_up_seconds": up_seconds,
        "journal_bytes": (data / "journal").stat().st_size,
        "object_files": len(objects),
        "object_bytes": sum(path.stat().st_size for path in objects),
    }


def measure(parts: list[str], restore_runs: int, restore_rows: int) -> dict:
    results: dict = {}
    for part, run in (
        ("floor", bench_floor),
        ("demo", bench_demo),
        ("deploy", bench_deploy),
        ("restore", lambda: bench_restore(restore_runs, restore_rows)),
        ("hotpath", lambda: bench_hotpath(1_000_000)),
    ):
        if part not in parts:
            continue
        print(f"durable: {part} ...", flush=True)
        try:
            results[part] = run()
        except Exception as error:  # noqa: BLE001 - report the part as skipped, with the reason
            results[part] = {"skipped": str(error)}
    return results


def markdown(results: dict) -> str:
    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f} s"

    floor = results.get("floor", {}).get("seconds")
    demo = results.get("demo", {})
    deploy = results.get("deploy", {})
    restore = results.get("restore", {})
    rows = [
        "| measurement | measured | target | met |",
        "|---|---|---|---|",
        f"| floor: one apply of a bucket with only a lifecycle configuration | {fmt(floor)} | (the provider's waiter, >= 55 s) | |",
    ]

    def row(label: str, value: float | None, target: float | None, target_text: str) -> None:
        met = "n/a" if value is None or target is None else ("yes" if value <= target else "**no**")
        rows.append(f"| {label} | {fmt(value)} | {target_text} | {met} |")

    row("`make demo` from nothing", demo.get("first_seconds"), floor + 15 if floor else None, f"floor + 15 s = {fmt(floor + 15 if floor else None)}")
    row("`make demo` again (state kept)", demo.get("again_seconds"), 20, "< 20 s")
    row("`deploy` with nothing changed", deploy.get("seconds"), 10, "< 10 s")
    row(f"restore: stack + {restore.get('runs', 20)} runs of {restore.get('rows', 100000):,} rows (in the server)", restore.get("restore_seconds"), 5, "< 5 s")
    row("... `local up` wall time with that state", restore.get("local_up_seconds"), None, "")
    hot = results.get("hotpath", {})
    if "journal" in hot:
        execution = hot.get("execution_seconds")
        for origin, cost in sorted(hot["journal"].items()):
            share = f" ({100 * cost['seconds'] / execution:.1f}% of the {execution:.1f} s execution)" if execution else ""
            rows.append(f"| journaling during a {hot['rows']:,}-row run, {origin} flushes | {cost['seconds']:.2f} s{share}; "
                        f"{int(cost['flushes'])} flushes, {cost['bytes'] / 1e6:.1f} MB | | |")
    for part, value in results.items():
        if "skipped" in value:
            rows.append(f"| {part} | skipped: {value['skipped'][:150]} | | |")
    return "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="floor,demo,deploy,restore,hotpath")
    parser.add_argument("--restore-runs", type=int, default=20)
    parser.add_argument("--restore-rows", type=int, default=100_000)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    results = measure(args.only.split(","), args.restore_runs, args.restore_rows)
    (WORK / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "python"))
    sys.exit(main())
