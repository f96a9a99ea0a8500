"""``tabular``: objects keyed by feature or rows in feature order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelrail.errors import InvalidInputError
from tests.support.serving_artifacts import load_model, tabular_artifact


def test_objects_and_rows_give_the_same_answer(tmp_path: Path) -> None:
    model = load_model(tabular_artifact(tmp_path / "r"))
    by_name, by_order = model.processor.predict([{"score": 3, "age": 1, "income": 2}, [1, 2, 3]])
    assert by_name == by_order == pytest.approx(0.0 * 1 + 0.1 * 2 + 0.2 * 3)


def test_with_labels_answers_are_classes(tmp_path: Path) -> None:
    model = load_model(tabular_artifact(tmp_path / "c", labels=["no", "yes"]))
    [answer] = model.processor.predict([[1, 1, 1]])
    assert set(answer["scores"]) == {"no", "yes"}
    assert answer["label"] == "yes"  # logits 0.6 vs 0.9


@pytest.mark.parametrize(
    ("instance", "message"),
    [
        ({"age": 1, "income": 2}, r"instance 1: missing feature\(s\) \['score'\]"),
        (
            {"age": 1, "income": 2, "score": 3, "height": 4},
            r"instance 1: unknown feature\(s\) \['height'\]; expected: age",
        ),
        ([1, 2], r"instance 1: a row needs 3 values \(age, income, score\), got 2"),
        ({"age": "old", "income": 2, "score": 3}, "instance 1: feature `age` must be a finite number, got 'old'"),
        ([1, True, 3], "instance 1: feature `income` must be a finite number, got True"),
        ("1,2,3", "instance 1: expected an object keyed by feature name or a row of 3 numbers, got str"),
    ],
)
def test_bad_rows_name_the_instance_and_feature(tmp_path: Path, instance: Any, message: str) -> None:
    model = load_model(tabular_artifact(tmp_path / "r"))
    with pytest.raises(InvalidInputError, match=message):
        model.processor.predict([[1, 2, 3], instance])
