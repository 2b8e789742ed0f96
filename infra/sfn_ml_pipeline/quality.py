"""The metrics the quality gate may decide on: names, groups and which way is better.

The names and the file's shape are SageMaker Model Monitor's model quality metrics
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html):
``binary_classification_metrics`` (confusion_matrix, recall, precision, accuracy, the
``*_best_constant_classifier`` baselines, true/false positive/negative rates, the ROC and
precision-recall curves, auc, f0_5, f1, f2) and ``regression_metrics`` (mae, mse, rmse, r2), each
``{"value": ..., "standard_deviation": ...}``. ``scripts/evaluate.py`` writes that file
(``evaluation.json``) and adds ``logloss`` (lower is better) to the binary metrics, as the issue asks.

The ``*_best_constant_classifier`` values describe the data (what always answering one class
scores), not the model, so the gate does not take them; the curves and the confusion matrix are not
single numbers. Neither may be a gate's ``metric``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProblemType = Literal["binary", "regression"]
GROUPS: dict[str, str] = {"binary": "binary_classification_metrics", "regression": "regression_metrics"}


@dataclass(frozen=True)
class Metric:
    name: str
    problem: ProblemType
    higher_is_better: bool
    low: float | None = None  # the values the metric can take (a threshold outside can never be met, or always is)
    high: float | None = None

    @property
    def group(self) -> str:
        return GROUPS[self.problem]

    @property
    def comparison(self) -> str:
        """The Choice rule operator a passing value satisfies against the threshold."""
        return "NumericGreaterThanEquals" if self.higher_is_better else "NumericLessThanEquals"

    @property
    def relation(self) -> str:
        return ">=" if self.higher_is_better else "<="


def _rates(*names: str, higher: bool = True) -> list[Metric]:
    return [Metric(name, "binary", higher, 0.0, 1.0) for name in names]


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        *_rates("accuracy", "precision", "recall", "auc", "f0_5", "f1", "f2", "true_positive_rate", "true_negative_rate"),
        *_rates("false_positive_rate", "false_negative_rate", higher=False),
        Metric("logloss", "binary", False, 0.0, None),
        Metric("mae", "regression", False, 0.0, None),
        Metric("mse", "regression", False, 0.0, None),
        Metric("rmse", "regression", False, 0.0, None),
        Metric("r2", "regression", True, None, 1.0),
    )
}
# In the binary group of evaluation.json, not gateable (see the module docstring).
BINARY_REPORTED_ONLY = (
    "confusion_matrix", "receiver_operating_characteristic_curve", "precision_recall_curve",
    "recall_best_constant_classifier", "precision_best_constant_classifier", "accuracy_best_constant_classifier",
    "f0_5_best_constant_classifier", "f1_best_constant_classifier", "f2_best_constant_classifier",
)


def metric_names(problem: ProblemType) -> list[str]:
    return [name for name, metric in METRICS.items() if metric.problem == problem]


def problem_of_objective(objective: str | None) -> ProblemType | None:
    """What the built-in XGBoost objective predicts: a probability of the positive class
    (``binary:*``, and ``reg:logistic``, the sample's, on 0/1 labels) or a number (the other
    ``reg:*``, and XGBoost's default ``reg:squarederror`` when none is set); anything else (``multi:*``,
    ``rank:*``, ``count:*``, ``survival:*``...) is not inferred
    (https://xgboost.readthedocs.io/en/release_1.7.0/parameter.html#learning-task-parameters)."""
    objective = objective or "reg:squarederror"
    if objective.startswith("binary:") or objective == "reg:logistic":
        return "binary"
    if objective.startswith("reg:"):
        return "regression"
    return None
