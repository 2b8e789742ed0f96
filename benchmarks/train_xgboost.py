"""The plain-script training step for the pipeline benchmark: what the SageMaker XGBoost job does.

Reads the standardized CSV (label first, no header) with pandas into one ``xgboost.DMatrix`` (as
the sagemaker-xgboost 1.7-1 container builds one for ``text/csv``) and trains with the job's
hyperparameters, given as SageMaker passes them (a JSON object of strings; default: the sample's
``objective=reg:logistic``, ``eval_metric=rmse``, ``num_round=5``), then saves the model.
Runs with xgboost 1.7 (the image's environment) and 3.x (this project's venv).
Usage: ``python benchmarks/train_xgboost.py --input DIR_OR_CSV --model FILE [--hyperparameters JSON]``
(a directory: every ``*.csv`` in it, i.e. transform.py's shards).
"""

import argparse
import json
from pathlib import Path

import pandas as pd
import xgboost as xgb

SAMPLE = {"objective": "reg:logistic", "eval_metric": "rmse", "num_round": "5"}
INTEGERS = {"max_depth", "max_leaves", "max_bin", "num_class", "seed", "num_parallel_tree", "verbosity", "nthread"}


def booster_params(hyperparameters: dict) -> tuple:
    """SageMaker's string hyperparameters -> (xgboost params, num_round)."""
    params = {}
    for key, raw in hyperparameters.items():
        if key == "num_round":
            continue
        value = str(raw)
        if key == "eval_metric":
            params[key] = [metric.strip() for metric in value.split(",") if metric.strip()]
        elif key in INTEGERS:
            params[key] = int(float(value))
        else:
            try:
                params[key] = float(value)
            except ValueError:
                params[key] = value
    return params, int(float(hyperparameters["num_round"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--hyperparameters", default=json.dumps(SAMPLE), help="JSON object of strings (default: the sample's)")
    args = parser.parse_args()
    params, rounds = booster_params(json.loads(args.hyperparameters))
    source = Path(args.input)
    files = sorted(source.glob("*.csv")) if source.is_dir() else [source]
    frame = pd.concat([pd.read_csv(f, header=None, dtype="float32", engine="c") for f in files], ignore_index=True)
    matrix = xgb.DMatrix(frame.iloc[:, 1:].to_numpy(), label=frame.iloc[:, 0].to_numpy())
    del frame
    booster = xgb.train(params, matrix, num_boost_round=rounds, evals=[(matrix, "train")], verbose_eval=False)
    booster.save_model(args.model)


if __name__ == "__main__":
    main()
