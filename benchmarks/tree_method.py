"""The training job's algorithm alone, with the image's default tree method and with others (issue 27).

Runs what the local training job runs on one host, the emulator's built-in XGBoost algorithm
(``python/pipeline_tools/emulator/jobs/xgboost_train.py``) with the interpreter of the
sagemaker-xgboost image's environment (xgboost 1.7.4, docs/images.md), on the same standardized
shards, once per tree method per round, alternating the order each round:

* ``image``: the sample's hyperparameters (``objective=reg:logistic``, ``eval_metric=rmse``,
  ``num_round=5``), no ``tree_method``: the image's default, ``auto`` (xgboost 1.7 picks ``exact``
  below 4M rows on one host, ``approx`` from there or when distributed);
* any other name: the sample's hyperparameters plus that ``tree_method``.

Each run is measured from outside (``run.measure``: wall time, the process's user + system CPU
time and its peak RSS, the 1-minute load average at its start); ``train:rmse`` comes from the
algorithm's metrics file. Peak RSS and CPU time hardly move with the machine's load, wall time
does. No S3, no emulator: what the tree method costs the training host, nothing else.

The data (``--rows``, default 10,000,000; seed 7) is made once by ``scripts/generate_dataset.py``
and ``scripts/transform.py`` (in the sagemaker-scikit-learn environment, as the processing job
runs it) under ``benchmarks/work/tree-method/`` and reused.

``python benchmarks/tree_method.py [--rows N] [--runs 3] [--methods image,hist,approx]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

from run import PYTHON, ROOT, WORK, job_environments, load, measure

TREE_WORK = WORK / "tree-method"
ALGORITHM = ROOT / "python" / "pipeline_tools" / "emulator" / "jobs" / "xgboost_train.py"
SAMPLE_HYPERPARAMETERS = {"objective": "reg:logistic", "eval_metric": "rmse", "num_round": "5"}
IMAGE_DEFAULT = "image"


def dataset(rows: int, transform_python: Path) -> Path:
    """The standardized shards of ``rows`` rows (seed 7), made once."""
    folder = TREE_WORK / f"data-{rows}"
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "raw").mkdir(parents=True)
        print(f"tree-method: generating and standardizing {rows:,} rows", flush=True)
        measure([str(PYTHON), str(ROOT / "scripts" / "generate_dataset.py"), "--rows", str(rows), "--seed", "7",
                 "--out", str(folder / "raw" / "raw.csv")])
        measure([str(transform_python), str(ROOT / "scripts" / "transform.py"), "--input-dir", str(folder / "raw"),
                 "--output-dir", str(folder / "train")])
        shutil.rmtree(folder / "raw")
        done.touch()
    return folder / "train"


def hyperparameters(method: str) -> dict[str, str]:
    return dict(SAMPLE_HYPERPARAMETERS) if method == IMAGE_DEFAULT else {**SAMPLE_HYPERPARAMETERS, "tree_method": method}


def one_run(train_python: Path, data: Path, method: str, name: str) -> dict:
    folder = TREE_WORK / "runs" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    spec = {"channels": {"train": str(data)}, "hyperparameters": hyperparameters(method),
            "model_dir": str(folder / "model"), "metrics_path": str(folder / "metrics.json")}
    (folder / "spec.json").write_text(json.dumps(spec))
    sample = measure([str(train_python), str(ALGORITHM), str(folder / "spec.json")])
    sample["rmse"] = json.loads((folder / "metrics.json").read_text())["final"]["train:rmse"]
    shutil.rmtree(folder)
    return sample


def measure_methods(rows: int, runs: int, methods: list[str]) -> dict:
    environments = job_environments()
    data = dataset(rows, environments["transform"]["python"])
    samples: dict[str, list[dict]] = {method: [] for method in methods}
    for index in range(runs):
        for method in (methods if index % 2 == 0 else list(reversed(methods))):
            print(f"tree-method: {method}, run {index + 1}/{runs} (load {load():.1f})", flush=True)
            samples[method].append(one_run(environments["train"]["python"], data, method, f"{method}-{index}"))
    out: dict = {"rows": rows, "runs": runs, "methods": methods}
    for method, taken in samples.items():
        out[method] = {key: statistics.median(s[key] for s in taken) for key in ("seconds", "cpu_seconds", "peak_mib", "rmse")}
        out[method]["each"] = [{k: round(s[k], 2 if k != "rmse" else 6) for k in ("seconds", "cpu_seconds", "peak_mib", "rmse", "load")}
                               for s in taken]
    return out


def markdown(results: dict) -> str:
    lines = ["| tree_method | wall | CPU (user + sys) | peak RSS | train:rmse | each run: wall / CPU / peak (load at start) |",
             "|---|---:|---:|---:|---:|---|"]
    for method in results["methods"]:
        r = results[method]
        each = "; ".join(f"{e['seconds']:.1f} s / {e['cpu_seconds']:.1f} s / {e['peak_mib']:.0f} MiB ({e['load']:.1f})" for e in r["each"])
        shown = "auto (image default)" if method == IMAGE_DEFAULT else method
        lines.append(f"| {shown} | {r['seconds']:.2f} s | {r['cpu_seconds']:.2f} s | {r['peak_mib']:.0f} MiB | {r['rmse']:.6f} | {each} |")
    base = results["methods"][0]
    for method in results["methods"][1:]:
        a, b = results[method], results[base]
        lines.append("")
        lines.append(f"{method} / {base}: CPU **{a['cpu_seconds'] / b['cpu_seconds']:.2f}x**, wall {a['seconds'] / b['seconds']:.2f}x, "
                     f"peak RSS **{a['peak_mib'] / b['peak_mib']:.2f}x**.")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3, help="rounds (each runs every method once); medians reported")
    parser.add_argument("--methods", default="image,hist", help="comma-separated; 'image' = no tree_method (the image's default)")
    args = parser.parse_args()
    TREE_WORK.mkdir(parents=True, exist_ok=True)
    results = measure_methods(args.rows, args.runs, [m for m in args.methods.split(",") if m])
    (TREE_WORK / f"results-{args.rows}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
