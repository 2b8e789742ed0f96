"""scripts/evaluate.py, the Evaluate model job: Model Monitor's metrics against the page's own example
and against values worked out by hand; run as a subprocess, as the processing job runs it."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sfn_ml_pipeline.quality import BINARY_REPORTED_ONLY, METRICS, metric_names

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "evaluate.py"


def _load():
    spec = importlib.util.spec_from_file_location("evaluate_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["evaluate_under_test"] = module
    spec.loader.exec_module(module)
    return module


evaluate = _load()


def test_the_model_monitor_pages_binary_example_is_reproduced():
    """https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html: its
    confusion matrix {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}} (one negative right, two wrong, the
    positive found) and every value derived from it, including the best constant classifier's."""
    report = evaluate.evaluate(np.array([0.0, 0.0, 0.0, 1.0]), np.array([0.2, 0.7, 0.8, 0.9]), "binary")
    metrics = report["binary_classification_metrics"]
    assert metrics["confusion_matrix"] == {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}}
    page = {
        "recall": 1.0, "precision": 0.3333333333333333, "accuracy": 0.5,
        "recall_best_constant_classifier": 1.0, "precision_best_constant_classifier": 0.25, "accuracy_best_constant_classifier": 0.25,
        "true_positive_rate": 1.0, "true_negative_rate": 0.33333333333333337, "false_positive_rate": 0.6666666666666666,
        "false_negative_rate": 0.0, "f0_5": 0.3846153846153846, "f1": 0.5, "f2": 0.7142857142857143,
        "f0_5_best_constant_classifier": 0.29411764705882354, "f1_best_constant_classifier": 0.4, "f2_best_constant_classifier": 0.625,
    }
    for name, value in page.items():
        assert metrics[name]["value"] == pytest.approx(value), name
        assert metrics[name]["standard_deviation"] == "NaN", name  # fewer than 200 samples
    assert metrics["auc"]["value"] == 1.0
    assert report["dataset"] == {"item_count": 4, "positives": 1}


def test_every_gateable_metric_and_the_reported_ones_are_in_the_file():
    binary = evaluate.evaluate(np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.1, 0.8, 0.4, 0.3]), "binary")["binary_classification_metrics"]
    assert set(metric_names("binary")) | set(BINARY_REPORTED_ONLY) == set(binary)
    regression = evaluate.evaluate(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.0]), "regression")["regression_metrics"]
    assert set(metric_names("regression")) == set(regression)
    assert all(METRICS[name].group == "regression_metrics" for name in regression)


def test_log_loss_auc_with_ties_and_regression_by_hand():
    metrics = evaluate.evaluate(np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.9, 0.2, 0.4, 0.6]), "binary")["binary_classification_metrics"]
    assert metrics["logloss"]["value"] == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.4)) / 4)
    # pairs (positive, negative): 0.9>0.2, 0.9>0.6, 0.4>0.2, 0.4<0.6 -> 3/4
    assert metrics["auc"]["value"] == pytest.approx(0.75)
    assert evaluate.auc(np.array([1.0, 1.0, 0.0, 0.0]), np.array([0.6, 0.3, 0.4, 0.6])) == pytest.approx(1.5 / 4)  # a tie counts half
    curve = metrics["receiver_operating_characteristic_curve"]
    assert len(curve["false_positive_rates"]) == len(curve["true_positive_rates"]) == 101
    assert (curve["false_positive_rates"][0], curve["true_positive_rates"][-1]) == (0.0, 1.0)
    regression = evaluate.evaluate(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.0]), "regression")["regression_metrics"]
    assert regression["mae"]["value"] == pytest.approx(0.5)
    assert regression["mse"]["value"] == pytest.approx(1.25 / 3)
    assert regression["rmse"]["value"] == pytest.approx(math.sqrt(1.25 / 3))
    assert regression["r2"]["value"] == pytest.approx(1 - 1.25 / 2)


def test_standard_deviation_from_200_samples_on_and_undefined_values_are_nan():
    rng = np.random.default_rng(1)
    labels = (rng.random(200) < 0.4).astype(float)
    scores = np.clip(labels * 0.3 + rng.random(200) * 0.7, 0, 1)
    at_200 = evaluate.evaluate(labels, scores, "binary")["binary_classification_metrics"]
    assert isinstance(at_200["auc"]["standard_deviation"], float) and 0 < at_200["auc"]["standard_deviation"] < 0.1
    at_199 = evaluate.evaluate(labels[:199], scores[:199], "binary")["binary_classification_metrics"]
    assert at_199["auc"]["standard_deviation"] == "NaN"
    one_class = evaluate.evaluate(np.ones(3), np.array([0.2, 0.9, 0.7]), "binary")["binary_classification_metrics"]
    assert one_class["auc"]["value"] == "NaN"  # no negative: no ROC to measure
    constant = evaluate.evaluate(np.ones(3), np.array([1.0, 2.0, 3.0]), "regression")["regression_metrics"]
    assert constant["r2"]["value"] == "NaN"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_the_job_reads_label_prediction_lines_or_labels_beside_predictions(tmp_path):
    joined = tmp_path / "joined"
    joined.mkdir()
    (joined / "test.csv.out").write_text("1,0.9\n0,0.2\n1,0.7\n0,0.4\n")
    out = tmp_path / "out-joined"
    result = _run("--problem-type", "binary", "--predictions-dir", str(joined), "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("evaluated 4 row(s): auc=1.0")
    report = json.loads((out / "evaluation.json").read_text())
    assert report["binary_classification_metrics"]["accuracy"]["value"] == 1.0
    assert (out / "predictions.csv").read_text() == "label,prediction\n1,0.9\n0,0.2\n1,0.7\n0,0.4\n"

    labels, predictions = tmp_path / "labels", tmp_path / "predictions"
    for folder in (labels, predictions):
        folder.mkdir()
    (labels / "holdout-algo-1-00000.csv").write_text("1\n0\n")
    (labels / "holdout-algo-2-00000.csv").write_text("0\n")
    (predictions / "holdout-algo-1-00000.csv.out").write_text("0.8\n0.3\n")
    (predictions / "holdout-algo-2-00000.csv.out").write_text("0.6\n")
    out = tmp_path / "out-separate"
    result = _run("--problem-type", "binary", "--labels-dir", str(labels), "--predictions-dir", str(predictions), "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "predictions.csv").read_text() == "label,prediction\n1,0.8\n0,0.3\n0,0.6\n"
    assert json.loads((out / "evaluation.json").read_text())["binary_classification_metrics"]["confusion_matrix"] == {
        "0": {"0": 1, "1": 1}, "1": {"0": 0, "1": 1}}


@pytest.mark.parametrize(
    "files, args, says",
    [
        ({"p/t.out": "1,0.9,3\n"}, [], "p/t.out: line 1: expected label,prediction, saw 3 field(s)"),
        ({"p/t.out": "1,high\n"}, [], "p/t.out: line 1: '1,high' is not numeric"),
        ({"p/t.out": "2,0.5\n"}, [], "binary labels must be 0 or 1, found [2.0]"),
        ({"p/t.out": "1,1.5\n"}, [], "binary predictions must be probabilities in [0, 1]"),
        ({"p/t.out": ""}, [], "no rows to evaluate"),
        ({"l/a.csv": "1\n0\n", "p/a.csv.out": "0.5\n"}, ["--labels-dir", "l"], "1 prediction(s) for 2 label(s) in a.csv"),
        ({"l/a.csv": "1\n", "p/other.out": "0.5\n"}, ["--labels-dir", "l"], "no predictions for the labels in a.csv"),
    ],
)
def test_bad_input_is_one_line_and_nothing_is_written(tmp_path, files, args, says):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    args = [str(tmp_path / a) if a in ("l",) else a for a in args]
    result = _run("--problem-type", "binary", "--predictions-dir", str(tmp_path / "p"), "--output-dir", str(tmp_path / "out"), *args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], result.stderr
    assert not (tmp_path / "out").exists()
