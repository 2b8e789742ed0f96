"""Preprocess: split a labelled CSV table into train, validation and test, standardized.

Runs in SageMaker's scikit-learn processing image (pandas, numpy, scikit-learn), as the pipeline's
"Preprocess" state. It reads every CSV under /opt/ml/processing/input/data (a header row; the label
column named by --label-column, 0/1), shuffles the rows with a fixed seed, keeps
--validation-fraction and --test-fraction of them apart, standardizes the features with the
training rows' mean and standard deviation (never the held-out rows' own), and writes each split
label first, no header, no index (the layout SageMaker's built-in XGBoost reads as text/csv) to
/opt/ml/processing/output/<split>/<split>.csv, which the pipeline uploads to runs/<execution>/<split>/.
"""

import argparse
import glob
import os
import sys

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

INPUT = "/opt/ml/processing/input/data"
OUTPUT = "/opt/ml/processing/output"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label-column", required=True)
    parser.add_argument("--validation-fraction", type=float, default=0.2)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    files = sorted(glob.glob(os.path.join(INPUT, "**", "*.csv"), recursive=True))
    if not files:
        print(f"error: no CSV files under {INPUT}", file=sys.stderr)
        return 1
    table = pd.concat([pd.read_csv(path) for path in files], ignore_index=True)
    if args.label_column not in table.columns:
        print(f"error: no column {args.label_column!r}; the table has {', '.join(table.columns)}", file=sys.stderr)
        return 1
    labels = table.pop(args.label_column).astype(int)
    order = np.random.default_rng(args.seed).permutation(len(table))
    test_rows = int(len(order) * args.test_fraction)
    validation_rows = int(len(order) * args.validation_fraction)
    splits = {
        "test": order[:test_rows],
        "validation": order[test_rows:test_rows + validation_rows],
        "train": order[test_rows + validation_rows:],
    }
    scaler = StandardScaler().fit(table.iloc[splits["train"]])
    for name, rows in splits.items():
        features = pd.DataFrame(scaler.transform(table.iloc[rows]), columns=table.columns)
        features.insert(0, args.label_column, labels.iloc[rows].to_numpy())
        folder = os.path.join(OUTPUT, name)
        os.makedirs(folder, exist_ok=True)
        features.to_csv(os.path.join(folder, f"{name}.csv"), header=False, index=False)
        print(f"{name}: {len(rows)} rows, {int(labels.iloc[rows].sum())} positive")
    return 0


if __name__ == "__main__":
    sys.exit(main())
