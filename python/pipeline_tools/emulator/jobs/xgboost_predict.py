"""The built-in XGBoost algorithm serving a batch transform, locally:
``PYTHON .../jobs/xgboost_predict.py SPEC``, with the interpreter of the model's image's environment
(``emulator/images``: sagemaker-xgboost 1.7-1 -> xgboost 1.7.4, which reads the binary-format
``xgboost-model`` that image's training writes); standard library, numpy, pandas and xgboost only.

SPEC (JSON): ``model_dir`` (the model artifact unpacked: ``xgboost-model``), ``input_dir`` (the
transform input, File mode), ``output_dir``. For every input file ``<name>`` it writes
``<name>.out`` at the same relative path: one prediction per input line (``SplitType: Line``,
``text/csv`` records without the label, as the XGBoost container expects for inference), joined
with newlines (``AssembleWith: Line``). SageMaker's own naming of batch transform outputs
(https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html: "the same name as the input
file with .out appended"). Bad input -> one line on stderr, exit 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CHUNK_ROWS = 500_000


def predict_file(booster, source: Path, target: Path) -> int:
    import numpy as np
    import pandas as pd
    import xgboost

    target.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with open(target, "w", encoding="utf-8") as out:
        for chunk in pd.read_csv(source, header=None, chunksize=CHUNK_ROWS, dtype="float32"):
            predictions = booster.predict(xgboost.DMatrix(chunk.to_numpy()))
            np.savetxt(out, predictions, fmt="%.9g")
            rows += len(chunk)
    return rows


def main(argv: list[str]) -> int:
    import xgboost

    spec = json.loads(Path(argv[0]).read_text())
    model = Path(spec["model_dir"]) / "xgboost-model"
    if not model.is_file():
        print(f"error: the model artifact holds no xgboost-model (found: {sorted(p.name for p in model.parent.iterdir())})", file=sys.stderr)
        return 1
    booster = xgboost.Booster()
    booster.load_model(str(model))
    input_dir, output_dir = Path(spec["input_dir"]), Path(spec["output_dir"])
    files = sorted(p for p in input_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        print(f"error: no input files in {input_dir}", file=sys.stderr)
        return 1
    total = 0
    for path in files:
        try:
            count = predict_file(booster, path, output_dir / (str(path.relative_to(input_dir)) + ".out"))
        except (ValueError, xgboost.core.XGBoostError) as error:
            print(f"error: {path.relative_to(input_dir)}: {' '.join(str(error).split())[:300]}", file=sys.stderr)
            return 1
        total += count
        print(f"{path.relative_to(input_dir)}: {count} predictions", flush=True)
    print(f"predicted {total} record(s) from {len(files)} file(s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
