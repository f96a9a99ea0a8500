"""The gate compares real ONNX Runtime sessions batch by batch and reports every missed threshold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper

from modelrail.builder.gate import run_gate
from modelrail.builder.inputs import Dataset
from modelrail.builder.sessions import open_session
from modelrail.manifest import Bound, Gate
from tests.support.tiny_build_models import save_model


def identity_model(path: Path) -> Path:
    return save_model(
        path,
        [helper.make_node("Identity", ["x"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [],
    )


def batch_coupled_model(path: Path) -> Path:
    """y = x - mean over the whole batch: exactly fp32 alone, different as soon as it has batch-mates."""
    return save_model(
        path,
        [helper.make_node("ReduceMean", ["x"], ["m"], keepdims=1), helper.make_node("Sub", ["x", "m"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [],
    )


def centred_reference_model(path: Path) -> Path:
    """What the batch-coupled model answers for one instance alone: x - mean(x)."""
    return save_model(
        path,
        [
            helper.make_node("ReduceMean", ["x"], ["m"], axes=[1], keepdims=1),
            helper.make_node("Sub", ["x", "m"], ["y"]),
        ],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [],
    )


def dataset(count: int = 12) -> Dataset:
    rows = np.random.default_rng(3).normal(size=(count, 3)).astype(np.float32)
    return Dataset(path=Path("rows.npz"), samples=[{"x": rows[i : i + 1]} for i in range(count)])


def test_identical_models_pass_at_every_batch_size(tmp_path: Path) -> None:
    session = open_session(identity_model(tmp_path / "identity.onnx"))
    gate = Gate(dataset="rows.npz", batch_sizes=[1, 4], thresholds={"cosine_min": Bound(min=0.9999)})
    outcome = run_gate(gate, dataset(), reference_session=session, served_session=session)
    assert outcome.passed
    assert set(outcome.results) == {1, 4}
    assert outcome.results[4]["cosine_min"] > 0.9999


def test_answers_that_depend_on_batch_mates_fail_at_larger_batches(tmp_path: Path) -> None:
    reference = open_session(centred_reference_model(tmp_path / "reference.onnx"))
    served = open_session(batch_coupled_model(tmp_path / "coupled.onnx"))
    gate = Gate(dataset="rows.npz", batch_sizes=[1, 4], thresholds={"max_abs_diff": Bound(max=1e-5)})
    outcome = run_gate(gate, dataset(), reference_session=reference, served_session=served)
    # Alone, the whole-batch mean is the instance's own: batch 1 passes.
    assert outcome.results[1]["max_abs_diff"] < 1e-5
    assert not outcome.passed
    assert len(outcome.failures) == 1
    assert outcome.failures[0].startswith("batch 4: max_abs_diff ")
