"""Train: XGBoost on the train channel, evaluated on validation (script mode).

Runs in SageMaker's XGBoost image as your script (the pipeline's "Train model (script mode)"
state): SageMaker passes the hyperparameters as --name value arguments and the data locations as
SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION; the model goes to SM_MODEL_DIR, which SageMaker uploads
as model.tar.gz. Each round prints "validation-auc:<value>", which the job's metric definition
reads into its final metrics.
"""

import argparse
import glob
import os

import numpy as np
import xgboost as xgb


def read(channel: str) -> xgb.DMatrix:
    rows = np.vstack([np.loadtxt(path, delimiter=",", ndmin=2) for path in sorted(glob.glob(os.path.join(channel, "*.csv")))])
    return xgb.DMatrix(rows[:, 1:], label=rows[:, 0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_round", type=int, default=100)
    parser.add_argument("--max_depth", type=int, default=3)
    parser.add_argument("--eta", type=float, default=0.1)
    parser.add_argument("--objective", default="binary:logistic")
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    args = parser.parse_args()

    train, validation = read(args.train), read(args.validation)
    params = {"objective": args.objective, "max_depth": args.max_depth, "eta": args.eta, "eval_metric": "auc"}
    history = {}
    booster = xgb.train(params, train, args.num_round, evals=[(train, "train"), (validation, "validation")],
                        evals_result=history, verbose_eval=False)
    for index, (train_auc, validation_auc) in enumerate(zip(history["train"]["auc"], history["validation"]["auc"])):
        print(f"[{index}] train-auc:{train_auc:.5f} validation-auc:{validation_auc:.5f}")
    booster.save_model(os.path.join(args.model_dir, "xgboost-model"))


if __name__ == "__main__":
    main()
