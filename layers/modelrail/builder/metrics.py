"""Gate metrics: how closely served outputs follow fp32, and how well they classify."""

from __future__ import annotations

import numpy as np

from modelrail.builder.errors import DatasetError

_EPS = 1e-12


def cosines(reference: np.ndarray, served: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of ``served`` with the same row of ``reference``."""
    dots = np.sum(reference * served, axis=1)
    norms = np.linalg.norm(reference, axis=1) * np.linalg.norm(served, axis=1)
    return np.asarray(dots / np.maximum(norms, _EPS))


def pairwise_similarities(outputs: np.ndarray) -> np.ndarray:
    """Cosine similarity of every pair of rows (upper triangle, row-major)."""
    unit = outputs / np.maximum(np.linalg.norm(outputs, axis=1, keepdims=True), _EPS)
    rows, cols = np.triu_indices(len(outputs), k=1)
    return np.asarray(np.sum(unit[rows] * unit[cols], axis=1))


def spearman(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman rank correlation of two equally long vectors (ties share their mean rank)."""
    from scipy.stats import spearmanr

    return float(spearmanr(first, second).statistic)


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose arg-max is the label."""
    return float(np.mean(np.argmax(outputs, axis=1) == labels))


def compute(
    names: set[str], *, reference: np.ndarray, served: np.ndarray, labels: np.ndarray | None
) -> dict[str, float]:
    """The requested metrics (and their siblings computed alongside) of ``served`` against ``reference``."""
    values: dict[str, float] = {}
    if names & {"cosine_mean", "cosine_min"}:
        per_row = cosines(reference, served)
        values["cosine_mean"] = float(per_row.mean())
        values["cosine_min"] = float(per_row.min())
    if "spearman" in names:
        if len(reference) < 3:
            raise DatasetError("the `spearman` metric needs at least 3 evaluation instances")
        values["spearman"] = spearman(pairwise_similarities(reference), pairwise_similarities(served))
    if "max_abs_diff" in names:
        values["max_abs_diff"] = float(np.max(np.abs(reference - served)))
    if names & {"accuracy", "accuracy_drop"}:
        if labels is None:
            raise DatasetError("accuracy metrics need labels in the evaluation dataset")
        values["accuracy"] = accuracy(served, labels)
        # Rounded: 1.0 - 0.995 is 0.00500000000000004 in floats, which would fail a `max: 0.5` it exactly meets.
        values["accuracy_drop"] = round((accuracy(reference, labels) - values["accuracy"]) * 100, 9)
    return dict(sorted(values.items()))
