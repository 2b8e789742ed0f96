"""Open an XGBoost model with an image environment's xgboost:
``PYTHON .../jobs/model_probe.py MODEL [FEATURES.npy PREDICTIONS.npy]``.

Standard library, numpy and xgboost only (it runs by path in an image's environment, see
``emulator/images``): the 1.7-1 image writes ``xgboost-model`` in XGBoost's binary format, which
this project's xgboost (3.1+) no longer reads, so ``run`` opens such a model with the image's
xgboost. Prints one JSON line: ``{"num_trees", "num_features", "xgboost"}``; with FEATURES, also
writes the model's predictions for those rows. A model it cannot load: one line on stderr, exit 1.
"""

from __future__ import annotations

import json
import re
import sys


def reason(error: Exception) -> str:
    """XGBoost's message on one line: without its ``[hh:mm:ss] file:line:`` prefix and stack trace."""
    text = str(error).split("Stack trace:")[0]
    text = re.sub(r"^\s*\[\d\d:\d\d:\d\d\] [^ ]+:\d+: ", "", text)
    return " ".join(text.split())[:400]


def main(argv: list[str]) -> int:
    import numpy as np
    import xgboost

    booster = xgboost.Booster()
    try:
        booster.load_model(argv[0])
    except xgboost.core.XGBoostError as error:
        print(reason(error), file=sys.stderr)
        return 1
    if len(argv) >= 3:
        features = np.load(argv[1])
        np.save(argv[2], booster.predict(xgboost.DMatrix(features)))
    print(json.dumps({"num_trees": booster.num_boosted_rounds(), "num_features": booster.num_features(), "xgboost": xgboost.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
