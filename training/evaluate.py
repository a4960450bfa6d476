"""Held-out metrics: discrimination, log loss, Brier score and expected calibration error."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score


def expected_calibration_error(
    labels: NDArray[np.int64], probability: NDArray[np.float64], bins: int = 10
) -> float:
    """Return the ECE over equal-width probability bins, weighted by bin size."""
    index = np.minimum((probability * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = index == b
        if inside.any():
            gap = abs(float(probability[inside].mean()) - float(labels[inside].mean()))
            total += gap * float(inside.mean())
    return total


def metrics(labels: NDArray[np.int64], probability: NDArray[np.float64]) -> dict[str, float]:
    """Return the held-out metrics reported in the model file."""
    clipped = np.clip(probability, 1e-12, 1 - 1e-12)
    return {
        "roc_auc": float(roc_auc_score(labels, probability)),
        "log_loss": float(log_loss(labels, clipped, labels=[0, 1])),
        "brier": float(brier_score_loss(labels, probability)),
        "ece_10": expected_calibration_error(labels, probability),
        "positive_rate": float(labels.mean()),
        "mean_probability": float(probability.mean()),
        "rows": float(labels.size),
    }
