"""Held-out evaluation of the batch transform's predictions: accuracy, ROC AUC and log loss.

Plain numpy, so the CLI needs no scikit-learn: AUC is the Mann-Whitney statistic (the probability
that a random positive scores above a random negative, ties counting half), which equals the area
under the ROC curve; log loss clips probabilities to [eps, 1 - eps] as scikit-learn's does.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-15
THRESHOLD = 0.5
ROC_POINTS = 101  # enough to draw the curve; the full curve has one point per distinct score


def evaluate(labels: np.ndarray, scores: np.ndarray) -> dict:
    """Metrics of probabilities ``scores`` against 0/1 ``labels`` (same length, at least one of each class
    for the AUC; None where undefined)."""
    labels = np.asarray(labels, dtype=float)
    scores = np.asarray(scores, dtype=float)
    if labels.shape != scores.shape or labels.size == 0:
        raise ValueError(f"{labels.size} labels and {scores.size} predictions: they must be as many, and not none")
    positives, negatives = int((labels == 1).sum()), int((labels == 0).sum())
    clipped = np.clip(scores, EPS, 1 - EPS)
    return {
        "rows": int(labels.size),
        "positives": positives,
        "accuracy": float(((scores >= THRESHOLD) == (labels == 1)).mean()),
        "auc": auc(labels, scores) if positives and negatives else None,
        "log_loss": float(-np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped))),
        "roc": roc_curve(labels, scores) if positives and negatives else [],
    }


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve via average ranks (ties share their mean rank)."""
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores))
    start = 0
    while start < len(scores):  # average the ranks of tied scores
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> list[list[float]]:
    """(false positive rate, true positive rate) at ROC_POINTS thresholds from 1 down to 0."""
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    points = []
    for threshold in np.linspace(1.0, 0.0, ROC_POINTS):
        predicted = scores >= threshold
        points.append([round(float((predicted & ~positives).sum() / n_neg), 5), round(float((predicted & positives).sum() / n_pos), 5)])
    return points
