"""``tensor`` task: named nested lists in, named outputs back, each instance on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelrail.errors import InvalidInputError
from tests.support.serving_artifacts import (
    batch_coupled_model,
    dynamic_int8_model,
    load_model,
    tensor_artifact,
    write_artifact,
)


def test_each_instance_gets_its_outputs(tmp_path: Path) -> None:
    model = load_model(tensor_artifact(tmp_path / "a"))
    answers = model.processor.predict([{"x": [1, 2, 3]}, {"x": [0.0, 0.0, 0.0]}])
    assert answers[0]["doubled"] == [2.0, 4.0, 6.0]
    np.testing.assert_allclose(answers[0]["y"], [1 + 1 - 6 + 0.5, -1 + 4 + 0.75 - 0.5])
    assert answers[1] == {"y": [0.5, -0.5], "doubled": [0.0, 0.0, 0.0]}


@pytest.mark.parametrize(
    ("instance", "message"),
    [
        ([1, 2, 3], r"instance 1: expected an object mapping input names \(x\) to nested lists, got list"),
        ({"x": [1, 2, 3], "w": [1]}, r"instance 1: unknown input\(s\) \['w'\]; the model's inputs are: x"),
        ({}, "instance 1: input `x` is missing"),
        ({"x": [1, 2]}, r"instance 1: input `x`: expected shape \[3\] \(the model's \[-1, 3\] without the batch"),
        ({"x": [1, "a", 3]}, "instance 1: input `x`: expected numbers for datatype FP32, got strings"),
        ({"x": [[1, 2], [3]]}, "instance 1: input `x`: expected a rectangular nested list of numbers"),
        ({"x": [1, None, 3]}, "instance 1: input `x`: expected numbers for datatype FP32, got values of mixed"),
    ],
)
def test_bad_instances_name_the_index_field_and_expectation(tmp_path: Path, instance: Any, message: str) -> None:
    model = load_model(tensor_artifact(tmp_path / "a"))
    with pytest.raises(InvalidInputError, match=message):
        model.processor.predict([{"x": [1, 2, 3]}, instance])


def _independent(model: Any, instances: list[dict[str, Any]], output: str) -> None:
    together = model.processor.predict(instances)
    for instance, answer in zip(instances, together, strict=True):
        alone = model.processor.predict([instance])[0]
        np.testing.assert_allclose(answer[output], alone[output], atol=1e-5, rtol=0)


def test_answers_do_not_depend_on_batch_mates_with_max_batch_size_1(tmp_path: Path) -> None:
    model = load_model(
        write_artifact(tmp_path / "a", name="coupled", task="tensor", model=batch_coupled_model(), max_batch_size=1)
    )
    _independent(model, [{"x": [1, 2, 3]}, {"x": [1000, -1000, 5]}, {"x": [0, 0, 0]}], "y")


def test_dynamic_int8_answers_do_not_depend_on_batch_mates(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    instances = [{"x": (rng.normal(size=16) * scale).tolist()} for scale in (0.01, 1.0, 500.0)]
    int8 = dynamic_int8_model(tmp_path)
    served = load_model(
        write_artifact(tmp_path / "q", name="q", task="tensor", model=int8, max_batch_size=1, precision="int8-dynamic")
    )
    _independent(served, instances, "y")
    # proof the check can fail: the same int8 model batched in one call answers differently
    batched = load_model(write_artifact(tmp_path / "b", name="b", task="tensor", model=int8, max_batch_size=8))
    together = batched.processor.predict(instances)
    alone = batched.processor.predict([instances[0]])[0]
    assert not np.allclose(together[0]["y"], alone["y"], atol=1e-5)
