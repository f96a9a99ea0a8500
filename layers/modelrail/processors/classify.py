"""Shared post-processing for classifiers: softmax over logits, scores mapped to labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from modelrail.errors import ModelUnavailableError


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, computed in float64 for stable small scores."""
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=-1, keepdims=True))


def is_distribution(rows: np.ndarray) -> bool:
    """Whether every row already holds probabilities (in [0, 1], summing to 1)."""
    if rows.size == 0:
        return True
    # As np.allclose(sums, 1.0, atol=1e-3) (|sum - 1| <= atol + rtol * 1), without its per-call overhead; a NaN
    # fails every comparison, as there.
    low, high = rows.min(), rows.max()
    return bool(low >= 0 and high <= 1 and np.abs(rows.sum(axis=-1) - 1.0).max() <= 1e-3 + 1e-5)


def label_names(labels: list[str] | None, classes: int) -> list[str]:
    """The manifest's labels, or the class indices as strings; a count mismatch cannot be served."""
    if labels is None:
        return [str(index) for index in range(classes)]
    if len(labels) != classes:
        raise ModelUnavailableError(f"the manifest lists {len(labels)} labels but the model outputs {classes} classes")
    return labels


def predictions(logits: np.ndarray, labels: list[str] | None) -> list[dict[str, Any]]:
    """``{"label", "score", "scores": {label: probability}}`` per row of a [batch, classes] output."""
    if logits.ndim != 2:
        raise ModelUnavailableError(f"a classifier must output [batch, classes]; this one outputs {list(logits.shape)}")
    probabilities = logits.astype(np.float64) if is_distribution(logits) else softmax(logits)
    names = label_names(labels, probabilities.shape[1])
    answers = []
    for row in probabilities.tolist():
        best = max(range(len(row)), key=row.__getitem__)
        answers.append({"label": names[best], "score": row[best], "scores": dict(zip(names, row, strict=True))})
    return answers
