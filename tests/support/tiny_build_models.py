"""Tiny real models and model folders for the build tests (graphs made with ``onnx.helper``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]
FEATURES, OUTPUTS = 8, 16


def save_model(path: Path, nodes: list[Any], inputs: list[Any], outputs: list[Any], initializers: list[Any]) -> Path:
    """Check and write a one-graph ONNX model."""
    graph = helper.make_graph(nodes, "tiny", inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="modelrail-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def skewed_matmul_model(path: Path) -> Path:
    """x FP32 [-1, 8] -> y FP32 [-1, 16]: one weight column is ~10^4 times the others, outputs rescaled to match.

    Per-channel int8 keeps every column; per-tensor int8 rounds the 15 small columns to zero, so the output keeps
    only one of its 16 equally sized components: a quantization setting that must fail any sensible gate.
    """
    rng = np.random.default_rng(0)
    weights = np.concatenate([rng.normal(0, 100, (FEATURES, 1)), rng.normal(0, 0.01, (FEATURES, OUTPUTS - 1))], 1)
    rescale = np.array([0.01] + [100.0] * (OUTPUTS - 1), dtype=np.float32)
    return save_model(
        path,
        [
            helper.make_node("MatMul", ["x", "w"], ["xw"], name="project"),
            helper.make_node("Mul", ["xw", "rescale"], ["y"], name="rescale"),
        ],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", OUTPUTS])],
        [numpy_helper.from_array(weights.astype(np.float32), "w"), numpy_helper.from_array(rescale, "rescale")],
    )


def write_tensor_dataset(path: Path, count: int = 64, seed: int = 1) -> Path:
    """An ``.npz`` of ``x`` rows for the skewed model."""
    rng = np.random.default_rng(seed)
    np.savez(path, x=rng.normal(0, 1, (count, FEATURES)).astype(np.float32))
    return path


MANIFEST = """\
# yaml-language-server: $schema=../model.schema.json
name: {name}
version: "{version}"
task: tensor
source:
  path: model.onnx
quantization:
  mode: dynamic
  per_channel: {per_channel}
gate:
  dataset: eval.npz
  thresholds:
    cosine_mean: {{min: {cosine_mean}}}
    cosine_min: {{min: 0.9}}
"""


def write_tiny_model(
    models_dir: Path, name: str = "tiny", *, per_channel: bool = True, cosine_mean: float = 0.99, version: str = "1"
) -> Path:
    """A model folder (model.yaml, model.onnx, eval.npz) built from the skewed model; returns the folder."""
    folder = models_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    skewed_matmul_model(folder / "model.onnx")
    write_tensor_dataset(folder / "eval.npz")
    manifest = MANIFEST.format(
        name=name, version=version, per_channel=str(per_channel).lower(), cosine_mean=cosine_mean
    )
    (folder / "model.yaml").write_text(manifest, encoding="utf-8")
    return folder


def cast_to_float_model(path: Path) -> Path:
    """ids INT64 [-1, 4] -> Cast(to=float) -> * weight -> y FP32 [-1, 4]: the shape of MiniLM's pooling mask."""
    weight = np.array([0.5, -1.25, 2.0, 3.5], dtype=np.float32)
    return save_model(
        path,
        [
            helper.make_node("Cast", ["ids"], ["ids_float"], to=TensorProto.FLOAT, name="cast"),
            helper.make_node("Mul", ["ids_float", "weight"], ["y"], name="scale"),
        ],
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        [numpy_helper.from_array(weight, "weight")],
    )
