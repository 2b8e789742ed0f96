"""A training job's metrics, as SageMaker reads them: regular expressions over what the job logs.

A MetricDefinition "specifies a metric that the training algorithm writes to stderr or stdout"; its
Regex is "a regular expression that searches the output of a training job and gets the value of the
metric" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_MetricDefinition.html; how:
https://docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-define-metrics-variables.html).
A job's final value of a metric is the last one its logs show: DescribeTrainingJob's
``FinalMetricDataList``.

Script mode uses the job's ``MetricDefinitions``. The built-in XGBoost algorithm publishes its own:
``<channel>:<metric>`` for the channels it evaluates (train, validation) and every metric XGBoost can
evaluate, with the regex of aws/sagemaker-xgboost-container ``algorithm_mode/metrics.py``
(``.*\\[[0-9]+\\].*#011validation-<metric>:(\\S+)``, metric names from
``constants/xgb_constants.py``; the names as the XGBoost tuning page lists them,
https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost-tuning.html).
"""

from __future__ import annotations

import re
from pathlib import Path

# constants/xgb_constants.py XGB_MAXIMIZE_METRICS + XGB_MINIMIZE_METRICS (aws/sagemaker-xgboost-container)
XGBOOST_METRICS = (
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map", "ndcg", "precision", "r2",
    "recall", "precision_macro", "precision_micro", "recall_macro", "recall_micro",
    "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "interval-regression-accuracy", "logloss",
    "mae", "mape", "merror", "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle", "tweedie-nloglik",
)


# The value is the number the captured text starts with: the built-in algorithm's regexes capture
# (\S+), which on a line holding several metrics ("#011train-auc:0.97#011validation-auc:0.96", the
# tab as CloudWatch Logs writes it) runs on into the next one.
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)", re.IGNORECASE)


def xgboost_definitions() -> list[dict[str, str]]:
    """The built-in XGBoost algorithm's metric definitions, for its train and validation channels."""
    return [
        {"Name": f"{channel}:{metric}", "Regex": f".*\\[[0-9]+\\].*#011{channel}-{re.escape(metric)}:(\\S+)"}
        for channel in ("train", "validation")
        for metric in XGBOOST_METRICS
    ]


def final_values(definitions: list[dict[str, str]], logs: list[Path]) -> dict[str, float]:
    """Each metric's last value in ``logs`` (read in order; a later log's value wins), where its
    regex matches a line and the first group parses as a number; metrics never seen are absent."""
    compiled = []
    for definition in definitions:
        try:
            compiled.append((definition["Name"], re.compile(definition["Regex"])))
        except (KeyError, re.error):
            continue
    found: dict[str, float] = {}
    for log in logs:
        try:
            lines = log.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            for name, pattern in compiled:
                match = pattern.search(line)
                if match and match.groups():
                    number = _NUMBER.match(match.group(1) or "")
                    if number:
                        found[name] = float(number.group(0))
    return found
