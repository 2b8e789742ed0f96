"""Evaluate a model's predictions on rows training never saw (the "Evaluate model" SageMaker processing job).

Writes ``evaluation.json`` in the shape of SageMaker Model Monitor's model quality metrics
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html), which the
state machine reads to decide the quality gate, the model package's ``ModelMetrics`` points at, and
``pipeline-tools run`` reports; and ``predictions.csv`` (``label,prediction``, a header line), the rows
it judged.

* ``binary_classification_metrics`` (``--problem-type binary``: labels 0/1, predictions the probability
  of 1, a row predicted 1 at >= 0.5): ``confusion_matrix`` (actual label -> predicted label -> count),
  recall, precision, accuracy, true/false positive/negative rates, f0_5, f1, f2, auc, their
  ``*_best_constant_classifier`` baselines (the classifier always answering 1: the page's example
  values are exactly those), ``receiver_operating_characteristic_curve`` and ``precision_recall_curve``
  at 101 thresholds from 1 to 0, and ``logloss`` (probabilities clipped to [1e-15, 1 - 1e-15]).
* ``regression_metrics`` (``--problem-type regression``): mae, mse, rmse, r2.
* Each metric is ``{"value": v, "standard_deviation": s}``. "Standard deviation for metrics are provided
  only when at least 200 samples are available. Model Monitor computes standard deviation by randomly
  sampling 80% of the data 5 times, computing the metric, and taking the standard deviation for those
  results": so here (without replacement, a fixed seed, numpy's population standard deviation), else
  ``"NaN"``, as the page's example writes it. A value that is undefined (auc of one class, r2 of
  constant labels) is ``"NaN"`` too: the gate's Choice then finds no number.
* ``dataset`` (``item_count``, ``positives`` for binary): this pipeline's addition.

Inputs (the job's ``--predictions-dir``, and ``--labels-dir`` for the sample's held-out split):

* with ``--labels-dir``: the batch transform's ``<file>.out`` (one prediction per line) beside the
  labels ``<file>`` (one label per line), line for line (transform.py writes the held-out labels so);
* without: each line of the batch transform's output is ``label,prediction`` (its DataProcessing join of
  your ``test`` output: InputFilter ``$[1:]``, JoinSource ``Input``, OutputFilter ``$[0,-1]``).

Runs in the sagemaker-scikit-learn image (numpy only; Python 3.9 syntax). Bad input -> one line
``error: ...`` on stderr naming the file, exit status 1, nothing written.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

import numpy as np

DEFAULT_PREDICTIONS_DIR = "/opt/ml/processing/input/predictions"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing/evaluation"
EPS = 1e-15
THRESHOLD = 0.5
CURVE_POINTS = 101
STD_MIN_SAMPLES = 200
STD_SAMPLES = 5
STD_FRACTION = 0.8
SEED = 20240523
NAN = "NaN"


class InputProblem(Exception):
    """Bad input: one line on stderr, exit status 1."""


# -- reading -----------------------------------------------------------------------------------------


def _files(directory: str, suffix: str = "") -> List[str]:
    if not os.path.isdir(directory):
        raise InputProblem(f"{directory} does not exist")
    found = []
    for root, _, names in os.walk(directory):
        for name in names:
            if name.endswith(suffix) and not name.startswith("."):
                found.append(os.path.join(root, name))
    return sorted(found)


def _numbers(path: str, fields: List[str], line: int) -> List[float]:
    try:
        values = [float(field) for field in fields]
    except ValueError:
        raise InputProblem(f"{path}: line {line}: {','.join(fields)!r} is not numeric") from None
    if not all(math.isfinite(v) for v in values):
        raise InputProblem(f"{path}: line {line}: {','.join(fields)!r} is not a finite number")
    return values


def _lines(path: str) -> List[str]:
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


def read_joined(predictions_dir: str) -> Tuple[np.ndarray, np.ndarray]:
    """``label,prediction`` lines from every output file."""
    labels: List[float] = []
    scores: List[float] = []
    for path in _files(predictions_dir):
        for number, line in enumerate(_lines(path), 1):
            fields = line.split(",")
            if len(fields) != 2:
                raise InputProblem(f"{path}: line {number}: expected label,prediction, saw {len(fields)} field(s)")
            label, score = _numbers(path, fields, number)
            labels.append(label)
            scores.append(score)
    return np.asarray(labels), np.asarray(scores)


def read_separate(labels_dir: str, predictions_dir: str) -> Tuple[np.ndarray, np.ndarray]:
    """Labels ``<file>`` and predictions ``<file>.out``, line for line."""
    labels: List[float] = []
    scores: List[float] = []
    label_files = _files(labels_dir)
    if not label_files:
        raise InputProblem(f"no label files in {labels_dir}")
    for path in label_files:
        relative = os.path.relpath(path, labels_dir)
        predicted = os.path.join(predictions_dir, relative + ".out")
        if not os.path.isfile(predicted):
            raise InputProblem(f"{predicted}: no predictions for the labels in {relative} (the batch transform writes <file>.out)")
        truth, guess = _lines(path), _lines(predicted)
        if len(truth) != len(guess):
            raise InputProblem(f"{predicted}: {len(guess)} prediction(s) for {len(truth)} label(s) in {relative}")
        for number, (label, score) in enumerate(zip(truth, guess), 1):
            labels += _numbers(path, [label], number)
            scores += _numbers(predicted, [score], number)
    return np.asarray(labels), np.asarray(scores)


# -- metrics -------------------------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def _f(beta: float, precision: float, recall: float) -> float:
    weight = beta * beta
    return _ratio((1 + weight) * precision * recall, weight * precision + recall)


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: the Mann-Whitney statistic by average ranks (ties count half)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def binary_values(labels: np.ndarray, scores: np.ndarray) -> Dict[str, float]:
    """The single-number binary metrics of one sample of rows."""
    actual = labels == 1
    predicted = scores >= THRESHOLD
    tp, fp = int((actual & predicted).sum()), int((~actual & predicted).sum())
    fn, tn = int((actual & ~predicted).sum()), int((~actual & ~predicted).sum())
    count = len(labels)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    base_precision = _ratio(tp + fn, count)  # always answering 1: every positive found, precision = the positive rate
    clipped = np.clip(scores, EPS, 1 - EPS)
    values = {
        "recall": recall,
        "precision": precision,
        "accuracy": _ratio(tp + tn, count),
        "recall_best_constant_classifier": 1.0 if tp + fn else 0.0,
        "precision_best_constant_classifier": base_precision,
        "accuracy_best_constant_classifier": base_precision,
        "true_positive_rate": recall,
        "true_negative_rate": _ratio(tn, tn + fp),
        "false_positive_rate": _ratio(fp, fp + tn),
        "false_negative_rate": _ratio(fn, fn + tp),
        "auc": auc(labels, scores) if 0 < tp + fn < count else float("nan"),
        "f0_5": _f(0.5, precision, recall),
        "f1": _f(1.0, precision, recall),
        "f2": _f(2.0, precision, recall),
        "logloss": float(-np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped))),
    }
    base_recall = values["recall_best_constant_classifier"]
    for beta, name in ((0.5, "f0_5"), (1.0, "f1"), (2.0, "f2")):
        values[f"{name}_best_constant_classifier"] = _f(beta, base_precision, base_recall)
    return values


def regression_values(labels: np.ndarray, scores: np.ndarray) -> Dict[str, float]:
    errors = scores - labels
    mse = float(np.mean(errors * errors))
    total = float(np.sum((labels - labels.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(errors))),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "r2": 1 - float(np.sum(errors * errors)) / total if total > 0 else float("nan"),
    }


def _json_number(value: float):
    return value if math.isfinite(value) else NAN


def with_deviations(values: Dict[str, float], compute, labels: np.ndarray, scores: np.ndarray) -> Dict[str, dict]:
    """``{"value", "standard_deviation"}`` per metric (see the module docstring)."""
    deviations: Dict[str, object] = {name: NAN for name in values}
    if len(labels) >= STD_MIN_SAMPLES:
        rng = np.random.default_rng(SEED)
        size = int(STD_FRACTION * len(labels))
        samples = []
        for _ in range(STD_SAMPLES):
            pick = rng.choice(len(labels), size=size, replace=False)
            samples.append(compute(labels[pick], scores[pick]))
        for name in values:
            drawn = np.array([sample[name] for sample in samples], dtype=float)
            deviations[name] = _json_number(float(np.std(drawn))) if np.all(np.isfinite(drawn)) else NAN
    return {name: {"value": _json_number(value), "standard_deviation": deviations[name]} for name, value in values.items()}


def curves(labels: np.ndarray, scores: np.ndarray) -> Dict[str, dict]:
    actual = labels == 1
    n_pos, n_neg = int(actual.sum()), int((~actual).sum())
    fprs, tprs, precisions, recalls = [], [], [], []
    for threshold in np.linspace(1.0, 0.0, CURVE_POINTS):
        predicted = scores >= threshold
        tp, fp = int((predicted & actual).sum()), int((predicted & ~actual).sum())
        fprs.append(round(_ratio(fp, n_neg), 6))
        tprs.append(round(_ratio(tp, n_pos), 6))
        precisions.append(round(_ratio(tp, tp + fp), 6) if tp + fp else 1.0)
        recalls.append(round(_ratio(tp, n_pos), 6))
    return {
        "receiver_operating_characteristic_curve": {"false_positive_rates": fprs, "true_positive_rates": tprs},
        "precision_recall_curve": {"precisions": precisions, "recalls": recalls},
    }


def evaluate(labels: np.ndarray, scores: np.ndarray, problem_type: str) -> dict:
    """The evaluation document for these labels and predictions."""
    if labels.size == 0:
        raise InputProblem("no rows to evaluate")
    if labels.shape != scores.shape:
        raise InputProblem(f"{labels.size} labels and {scores.size} predictions")
    if problem_type == "regression":
        return {"dataset": {"item_count": int(labels.size)},
                "regression_metrics": with_deviations(regression_values(labels, scores), regression_values, labels, scores)}
    bad = sorted({float(v) for v in labels if v not in (0.0, 1.0)})
    if bad:
        raise InputProblem(f"binary labels must be 0 or 1, found {bad[:3]}")
    if float(scores.min()) < 0 or float(scores.max()) > 1:
        raise InputProblem(f"binary predictions must be probabilities in [0, 1], found {float(scores.min()):g}..{float(scores.max()):g}")
    actual = labels == 1
    predicted = scores >= THRESHOLD
    metrics: Dict[str, object] = {
        "confusion_matrix": {
            "0": {"0": int((~actual & ~predicted).sum()), "1": int((~actual & predicted).sum())},
            "1": {"0": int((actual & ~predicted).sum()), "1": int((actual & predicted).sum())},
        }
    }
    metrics.update(with_deviations(binary_values(labels, scores), binary_values, labels, scores))
    metrics.update(curves(labels, scores))
    return {"dataset": {"item_count": int(labels.size), "positives": int(actual.sum())}, "binary_classification_metrics": metrics}


# -- writing ---------------------------------------------------------------------------------------------


def _write(path: str, text: str) -> None:
    fd, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problem-type", choices=("binary", "regression"), required=True)
    parser.add_argument("--predictions-dir", default=DEFAULT_PREDICTIONS_DIR, help="the batch transform's output (<file>.out)")
    parser.add_argument("--labels-dir", help="the labels, one per line, beside <file>.out (else each output line is label,prediction)")
    parser.add_argument("--output-dir", default=DEFAULT_OUTPUT_DIR, help="where evaluation.json and predictions.csv are written")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        if args.labels_dir:
            labels, scores = read_separate(args.labels_dir, args.predictions_dir)
        else:
            labels, scores = read_joined(args.predictions_dir)
        report = evaluate(labels, scores, args.problem_type)
    except InputProblem as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    os.makedirs(args.output_dir, exist_ok=True)
    _write(os.path.join(args.output_dir, "predictions.csv"),
           "label,prediction\n" + "".join(f"{label:g},{score:.9g}\n" for label, score in zip(labels, scores)))
    _write(os.path.join(args.output_dir, "evaluation.json"), json.dumps(report, indent=2) + "\n")
    group = report.get("binary_classification_metrics") or report.get("regression_metrics")
    shown = ", ".join(f"{name}={group[name]['value']}" for name in ("auc", "accuracy", "logloss", "rmse", "r2") if name in group)
    print(f"evaluated {labels.size} row(s): {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
