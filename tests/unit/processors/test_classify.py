"""Classifier post-processing: which outputs already are probabilities (then they are not softmaxed again)."""

from __future__ import annotations

import numpy as np
import pytest

from modelrail.processors.classify import is_distribution, predictions


def reference(rows: np.ndarray) -> bool:
    """The definition: every value in [0, 1] and every row summing to 1 (np.allclose, atol 1e-3)."""
    return bool(((rows >= 0) & (rows <= 1)).all() and np.allclose(rows.sum(axis=-1), 1.0, atol=1e-3))


RNG = np.random.default_rng(7)
SOFTMAXED = np.exp(RNG.normal(size=(4, 10)))


@pytest.mark.parametrize(
    "rows",
    [
        np.array([[0.2, 0.8]]),
        np.array([[0.2, 0.7]]),
        np.array([[0.3, 0.7009]]),
        np.array([[0.3, 0.70101]]),
        np.array([[0.3, 0.7], [1.0, 0.0]]),
        np.array([[-0.1, 1.1]]),
        np.array([[np.nan, 1.0]]),
        np.array([[np.inf, 0.0]]),
        RNG.normal(size=(3, 10)),
        SOFTMAXED / SOFTMAXED.sum(axis=-1, keepdims=True),
        np.zeros((0, 10)),
    ],
)
def test_is_distribution_agrees_with_its_definition(rows: np.ndarray) -> None:
    assert is_distribution(rows) is reference(rows)


def test_logits_are_softmaxed_and_probabilities_kept() -> None:
    logits = np.array([[2.0, 0.0, -1.0]], dtype=np.float32)
    [answer] = predictions(logits, ["a", "b", "c"])
    assert answer["label"] == "a"
    assert sum(answer["scores"].values()) == pytest.approx(1.0)
    [kept] = predictions(np.array([[0.25, 0.75, 0.0]], dtype=np.float32), ["a", "b", "c"])
    assert kept["scores"] == {"a": 0.25, "b": 0.75, "c": 0.0}
