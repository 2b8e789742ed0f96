"""Held-out metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline_tools.evaluation import auc, evaluate


def test_a_perfect_ranking_has_auc_1_and_a_reversed_one_0():
    labels = np.array([0, 0, 1, 1])
    assert auc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert auc(labels, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0


def test_auc_counts_ties_as_half():
    # One positive and one negative with the same score: P(pos > neg) + 0.5 P(tie) = 0.5.
    assert auc(np.array([0, 1]), np.array([0.5, 0.5])) == 0.5
    # Pairs (pos, neg): (0.6 vs 0.4) win, (0.6 vs 0.6) tie, (0.3 vs 0.4) lose, (0.3 vs 0.6) lose -> 1.5 / 4.
    assert auc(np.array([1, 1, 0, 0]), np.array([0.6, 0.3, 0.4, 0.6])) == pytest.approx(1.5 / 4)


def test_accuracy_log_loss_and_the_curve():
    labels, scores = np.array([1, 0, 1, 0]), np.array([0.9, 0.2, 0.4, 0.6])
    metrics = evaluate(labels, scores)
    assert metrics["accuracy"] == 0.5  # 0.9 and 0.2 right, 0.4 and 0.6 wrong at 0.5
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.4)) / 4
    assert metrics["log_loss"] == pytest.approx(expected)
    assert metrics["roc"][0] == [0.0, 0.0] and metrics["roc"][-1] == [1.0, 1.0]
    assert metrics["rows"] == 4 and metrics["positives"] == 2


def test_one_class_has_no_auc_and_mismatched_lengths_are_refused():
    assert evaluate(np.array([1, 1]), np.array([0.7, 0.9]))["auc"] is None
    with pytest.raises(ValueError, match="2 labels and 3 predictions"):
        evaluate(np.array([1, 0]), np.array([0.1, 0.2, 0.3]))
