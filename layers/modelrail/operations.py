"""What each API operation does with a loaded model, independent of HTTP, Lambda or SageMaker."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from modelrail.codecs import InferRequest, InferResponse, NamedTensor, PredictRequest, PredictResponse
from modelrail.errors import InvalidInputError
from modelrail.loader import LoadedModel
from modelrail.manifest import TensorSpec
from modelrail.processors.base import FeedChecker


def infer(model: LoadedModel, request: InferRequest) -> InferResponse:
    """Run raw tensors through the session (in chunks of at most ``max_batch_size``)."""
    session = model.session
    feeds = {tensor.name: tensor.data for tensor in request.inputs}
    session.check(feeds)
    if isinstance(model.processor, FeedChecker):
        model.processor.check_feeds(feeds)
    known = {spec.name: spec for spec in session.outputs}
    if request.outputs is None:
        names = list(known)
        binary = set(names) if request.binary_output else set()
    else:
        for output in request.outputs:
            if output.name not in known:
                raise InvalidInputError(f"unknown output `{output.name}`; the model's outputs are: {', '.join(known)}")
        names = [output.name for output in request.outputs]
        binary = {
            output.name
            for output in request.outputs
            if (output.binary if output.binary is not None else request.binary_output)
        }
    results = session.run_batched(feeds, names)
    return InferResponse(
        model_name=model.manifest.name,
        model_version=model.manifest.version,
        outputs=[NamedTensor(name, known[name].datatype, results[name]) for name in names],
        id=request.id,
        binary_outputs=frozenset(binary),
    )


def predict(model: LoadedModel, request: PredictRequest) -> PredictResponse:
    """Run the task processor over the instances (and a tensor model's shared inputs)."""
    from modelrail.processors.tensor import TensorProcessor

    if isinstance(model.processor, TensorProcessor):
        predictions = model.processor.predict(request.instances, shared=request.shared)
    elif request.shared:
        raise InvalidInputError(
            f"`shared` inputs apply to `tensor` models; this is a {model.manifest.task.value} model"
        )
    else:
        predictions = model.processor.predict(request.instances)
    return PredictResponse(model=model.manifest.name, version=model.manifest.version, predictions=predictions)


PLATFORM = "onnx_onnxv1"
"""The Open Inference Protocol's platform name for "an ONNX model encoded for ONNX Runtime" (its Platforms list)."""


def protocol_parameters(values: Mapping[str, Any]) -> dict[str, str | int | float | bool]:
    """``$parameters`` as the protocol allows them: string, number or boolean values only.

    An object or array value becomes its compact JSON text (``json.loads`` gives it back); a ``None`` is left out.
    """
    found: dict[str, str | int | float | bool] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, str | int | float | bool):
            found[key] = value
        else:
            found[key] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return found


def tensor_metadata(spec: TensorSpec) -> dict[str, Any]:
    """One tensor's ``$metadata_tensor``; ``parameters`` says how it batches.

    ``{"batch_axis": 1}``: instances are stacked along axis 1; ``{"shared": true}``: no batch axis, one value for
    the whole batch (a 0-d sample rate). ``-1`` in ``shape`` is a dynamic dimension.
    """
    parameters: dict[str, int | bool] = {"shared": True} if spec.batch_axis is None else {"batch_axis": spec.batch_axis}
    return {"name": spec.name, "datatype": spec.datatype, "shape": list(spec.shape), "parameters": parameters}


def metadata(model: LoadedModel, *, versions: Sequence[str] | None = None) -> dict[str, Any]:
    """Open Inference Protocol model metadata plus what callers of the task API need to know.

    ``versions``: every version served side by side (default: the model's own); the tensors are ``model``'s.
    """
    manifest = model.manifest
    return {
        "name": manifest.name,
        "versions": list(versions or [manifest.version]),
        "platform": PLATFORM,
        "inputs": [tensor_metadata(spec) for spec in model.session.inputs],
        "outputs": [tensor_metadata(spec) for spec in model.session.outputs],
        "parameters": protocol_parameters(
            {
                "task": manifest.task.value,
                "target": manifest.target.value,
                "precision": manifest.precision,
                "provider": model.session.provider,
                "max_batch_size": model.session.max_batch_size,
                "processing": model.processor.describe(),
                **model.session.platform,  # where CUDA was asked for: driver, CUDA and ONNX Runtime versions
            }
        ),
    }


def catalog_entry(model: LoadedModel) -> dict[str, Any]:
    """This model's entry in ``GET /v1/models``."""
    manifest = model.manifest
    return {
        "name": manifest.name,
        "version": manifest.version,
        "task": manifest.task.value,
        "target": manifest.target.value,
        "ready": True,
    }
