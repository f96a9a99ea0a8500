"""Gate metrics compute what their names say."""

from __future__ import annotations

import numpy as np
import pytest

from modelrail.builder import metrics
from modelrail.builder.errors import DatasetError


def test_cosines_per_row() -> None:
    reference = np.array([[1.0, 0.0], [0.0, 2.0]])
    served = np.array([[1.0, 1.0], [0.0, 5.0]])
    np.testing.assert_allclose(metrics.cosines(reference, served), [1 / np.sqrt(2), 1.0])


def test_spearman_ignores_scale_but_not_order() -> None:
    first = np.array([0.1, 0.5, 0.2, 0.9])
    assert metrics.spearman(first, first * 10 + 3) == pytest.approx(1.0)
    assert metrics.spearman(first, -first) == pytest.approx(-1.0)


def test_pairwise_similarities_upper_triangle() -> None:
    outputs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(metrics.pairwise_similarities(outputs), [0.0, 1 / np.sqrt(2), 1 / np.sqrt(2)])


def test_accuracy_drop_is_in_points() -> None:
    labels = np.array([0, 1, 1, 0])
    reference = np.array([[1, 0], [0, 1], [0, 1], [1, 0]])  # 100 %
    served = np.array([[1, 0], [0, 1], [1, 0], [1, 0]])  # 75 %
    values = metrics.compute({"accuracy", "accuracy_drop"}, reference=reference, served=served, labels=labels)
    assert values["accuracy"] == pytest.approx(0.75)
    assert values["accuracy_drop"] == pytest.approx(25.0)


def test_a_drop_of_exactly_the_bound_meets_it() -> None:
    """199 of 200 right against 200 of 200 is a 0.5-point drop, which `accuracy_drop: {max: 0.5}` allows."""
    labels = np.zeros(200, dtype=int)
    reference = np.tile([1.0, 0.0], (200, 1))
    served = reference.copy()
    served[0] = [0.0, 1.0]
    values = metrics.compute({"accuracy_drop"}, reference=reference, served=served, labels=labels)
    assert values["accuracy_drop"] <= 0.5
    assert values["accuracy_drop"] == pytest.approx(0.5)


def test_accuracy_without_labels_is_a_dataset_error() -> None:
    outputs = np.eye(3)
    with pytest.raises(DatasetError, match="need labels"):
        metrics.compute({"accuracy"}, reference=outputs, served=outputs, labels=None)


def test_max_abs_diff() -> None:
    values = metrics.compute(
        {"max_abs_diff"}, reference=np.array([[1.0, 2.0]]), served=np.array([[1.5, 1.0]]), labels=None
    )
    assert values == {"max_abs_diff": pytest.approx(1.0)}
