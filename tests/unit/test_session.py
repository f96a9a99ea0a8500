"""The ONNX Runtime session: providers, specs read once, inputs checked, batches capped."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from modelrail.errors import InvalidInputError, ModelUnavailableError
from modelrail.session import CPU, CUDA, ModelSession, resolve_providers
from tests.support.serving_artifacts import batch_coupled_model, tensor_model

KNOWN = ["TensorrtExecutionProvider", CUDA, CPU]


def session(
    tmp_path: Path, model: bytes, *, max_batch_size: int = 8, providers: list[str] | None = None
) -> ModelSession:
    path = tmp_path / "model.onnx"
    path.write_bytes(model)
    return ModelSession(
        path, providers=providers, intra_op_threads=1, inter_op_threads=1, max_batch_size=max_batch_size
    )


def test_cuda_is_chosen_when_available() -> None:
    assert resolve_providers(None, available=[CUDA, CPU], known=KNOWN) == [CUDA, CPU]


def test_cpu_serves_when_cuda_is_absent_and_says_so(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.getLogger("modelrail"), "propagate", True)
    with caplog.at_level(logging.INFO, logger="modelrail"):
        assert resolve_providers(None, available=[CPU], known=KNOWN) == [CPU]
        assert resolve_providers([CUDA, CPU], available=[CPU], known=KNOWN) == [CPU]
    messages = [record.getMessage() for record in caplog.records]
    assert "CUDA execution provider not available; serving on CPU" in messages
    assert any("not available in this onnxruntime build" in message for message in messages)


def test_an_unknown_provider_name_is_a_configuration_error() -> None:
    with pytest.raises(ModelUnavailableError, match=r"unknown ONNX Runtime execution provider\(s\) \['CUDAProvider'\]"):
        resolve_providers(["CUDAProvider"], available=[CPU], known=KNOWN)


def test_the_session_reports_its_provider_and_specs(tmp_path: Path) -> None:
    served = session(tmp_path, tensor_model(), providers=[CUDA, CPU])
    assert served.provider == CPU  # no GPU here: the CPU fallback serves
    assert [(s.name, s.datatype, s.shape) for s in served.inputs] == [("x", "FP32", [-1, 3])]
    assert [s.name for s in served.outputs] == ["y", "doubled"]


@pytest.mark.parametrize(
    ("feeds", "message"),
    [
        ({"x": np.zeros((1, 3), np.float32), "z": np.zeros(1)}, "unknown input `z`; the model's inputs are: x"),
        ({}, r"missing input `x` \(datatype FP32, shape \[-1, 3\]\)"),
        ({"x": np.zeros((1, 3), np.int64)}, "input `x`: expected datatype FP32, got INT64"),
        ({"x": np.zeros((1, 4), np.float32)}, r"input `x`: expected shape \[-1, 3\] \(-1 = any size\), got \[1, 4\]"),
        ({"x": np.zeros(3, np.float32)}, r"expected shape \[-1, 3\]"),
    ],
)
def test_inputs_are_checked_against_the_graph(tmp_path: Path, feeds: dict[str, np.ndarray], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        session(tmp_path, tensor_model()).check(feeds)


def test_batches_never_exceed_max_batch_size(tmp_path: Path) -> None:
    rows = np.array([[1, 2, 3], [100, 200, 300], [-5, 0, 5]], np.float32)
    capped = session(tmp_path, batch_coupled_model(), max_batch_size=1)
    together = capped.run_batched({"x": rows})["y"]
    alone = np.concatenate([capped.run({"x": row[None]})["y"] for row in rows])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    # the same model in one call couples the rows: the cap is what keeps answers independent
    uncapped = session(tmp_path, batch_coupled_model(), max_batch_size=8).run_batched({"x": rows})["y"]
    assert not np.allclose(uncapped, alone, atol=1e-3)


def test_an_unreadable_model_cannot_be_served(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="cannot be loaded by onnxruntime"):
        session(tmp_path, b"this is not an onnx model")
