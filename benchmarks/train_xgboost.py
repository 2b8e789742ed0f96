"""The plain-script training step for the pipeline benchmark: what the SageMaker XGBoost job does.

Reads the standardized CSV (label first, no header) with pandas, trains 5 rounds of
``reg:logistic`` with ``eval_metric=rmse`` (the sample's hyperparameters) and saves the model.
Usage: ``python benchmarks/train_xgboost.py --input DIR_OR_CSV --model model.json`` (a directory:
every ``*.csv`` in it, i.e. transform.py's shards).
"""

import argparse
from pathlib import Path

import pandas as pd
import xgboost as xgb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    source = Path(args.input)
    files = sorted(source.glob("*.csv")) if source.is_dir() else [source]
    frame = pd.concat([pd.read_csv(f, header=None, dtype="float32", engine="c") for f in files], ignore_index=True)
    matrix = xgb.DMatrix(frame.iloc[:, 1:].to_numpy(), label=frame.iloc[:, 0].to_numpy())
    del frame
    params = {"objective": "reg:logistic", "eval_metric": "rmse", "tree_method": "hist", "nthread": 0}
    booster = xgb.train(params, matrix, num_boost_round=args.rounds, evals=[(matrix, "train")], verbose_eval=False)
    booster.save_model(args.model)


if __name__ == "__main__":
    main()
