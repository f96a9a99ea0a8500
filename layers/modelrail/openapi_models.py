"""The pydantic models behind ``components.schemas`` in ``/openapi.json``; imported only to build that document.

Routes read their bodies themselves (the binary extension is not JSON, and pydantic request models would
cost more than the whole warm overhead budget), so these models only document; the codecs validate.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

from modelrail.codecs.v1_task import MAX_INSTANCES
from modelrail.datatypes import NUMPY_BY_DATATYPE

Base64Image = Annotated[
    str,
    Field(
        min_length=4,
        pattern=r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$",
        json_schema_extra={"format": "byte"},
        description="A PNG or JPEG image, base64-encoded (RFC 4648, with padding).",
    ),
]
TensorValue = TypeAliasType("TensorValue", Union[float, bool, str, list["TensorValue"]])  # type: ignore[misc]  # noqa: UP007
"""A number, boolean or string (BYTES), or a nested list of them; never null."""


class ErrorBody(BaseModel):
    """Every error answer."""

    error: str = Field(description="What was wrong, naming the input or field.")
    code: str = Field(description="Stable snake_case code, e.g. invalid_input, model_not_found.")


class V1ImageObject(BaseModel):
    """An image instance in TF Serving's ``{"b64": ...}`` form (that key alone)."""

    model_config = ConfigDict(extra="forbid")
    b64: Base64Image


class V1TextRequest(BaseModel):
    """Task API request of a text model (text-embedding, text-classification)."""

    instances: list[str] = Field(min_length=1, max_length=MAX_INSTANCES, description="One string per text.")


class V1ImageRequest(BaseModel):
    """Task API request of an image model (image-classification)."""

    instances: list[Base64Image | V1ImageObject] = Field(min_length=1, max_length=MAX_INSTANCES)


class V1TabularRequest(BaseModel):
    """Task API request of a tabular model: objects keyed by feature name, or rows in the model's feature order."""

    instances: list[dict[str, float] | Annotated[list[float], Field(min_length=1)]] = Field(
        min_length=1, max_length=MAX_INSTANCES
    )


class V1TensorRequest(BaseModel):
    """Task API request of a tensor model: ``{input_name: nested list}`` per instance, for the inputs with a batch
    axis (without it); the inputs the whole batch shares (metadata ``parameters.shared``) once, in ``shared``."""

    instances: list[Annotated[dict[str, TensorValue], Field(min_length=1)]] = Field(
        min_length=1, max_length=MAX_INSTANCES
    )
    shared: dict[str, TensorValue] | None = Field(
        default=None, description="Inputs without a batch axis (e.g. a 0-d sample rate), one value for all instances."
    )


V1_TASK_REQUESTS = (V1TextRequest, V1ImageRequest, V1TabularRequest, V1TensorRequest)
"""One request schema per task; ``GET /v2/models/{name}`` names a model's task in ``parameters.task``."""


class V1PredictResponse(BaseModel):
    """Task API answer: one prediction per instance, in order."""

    model: str
    version: str
    predictions: list[Any]


class V1CatalogEntry(BaseModel):
    """One model in the catalog."""

    name: str
    version: str | None
    task: str | None
    target: str | None
    ready: bool


class V1Catalog(BaseModel):
    """``GET /v1/models``."""

    models: list[V1CatalogEntry]


class V2Tensor(BaseModel):
    """A named tensor; ``data`` is row-major (flat or nested), or sent in the binary part."""

    name: str = Field(min_length=1)
    datatype: str = Field(json_schema_extra={"enum": list(NUMPY_BY_DATATYPE)})
    shape: list[Annotated[int, Field(ge=0)]]
    # Optional but never null: omitted when the tensor is in the binary part.
    data: TensorValue = Field(default=None, description="Omitted when the tensor is in the binary part.")  # type: ignore[assignment]
    parameters: dict[str, Any] | None = Field(default=None, description="binary_data_size with the binary extension")


class V2RequestedOutput(BaseModel):
    """An output to return; ``parameters.binary_data`` asks for it in the binary part."""

    name: str
    parameters: dict[str, Any] | None = None


class V2InferRequest(BaseModel):
    """Open Inference Protocol infer request (JSON, or the JSON header of the binary extension)."""

    id: str | None = None
    parameters: dict[str, Any] | None = Field(default=None, description="binary_data_output: all outputs binary")
    inputs: list[V2Tensor] = Field(min_length=1)
    outputs: list[V2RequestedOutput] | None = None


class V2InferResponse(BaseModel):
    """Open Inference Protocol infer response."""

    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[V2Tensor]


class V2TensorMetadata(BaseModel):
    """An input or output of the model (-1 = dynamic dimension)."""

    name: str
    datatype: str
    shape: list[int]
    parameters: dict[str, int | bool] | None = Field(
        default=None,
        description='`{"batch_axis": n}`: instances are stacked along axis n; `{"shared": true}`: no batch axis.',
    )


class V2ModelMetadata(BaseModel):
    """Open Inference Protocol model metadata, plus ``parameters`` (task, provider, processing)."""

    name: str
    versions: list[str]
    platform: str = Field(description="onnx_onnxv1, the protocol's name for an ONNX model run by ONNX Runtime")
    inputs: list[V2TensorMetadata]
    outputs: list[V2TensorMetadata]
    parameters: dict[str, str | int | float | bool] = Field(
        description="Only string, number and boolean values, as the protocol allows; `processing` is a JSON object "
        "encoded as a string."
    )


class V2ServerMetadata(BaseModel):
    """Open Inference Protocol server metadata."""

    name: str
    version: str
    extensions: list[str] = Field(description="binary_tensor_data: the binary tensor data extension")


class V2ModelReady(BaseModel):
    """Model readiness."""

    name: str
    ready: bool


DOCUMENTED = (
    ErrorBody,
    *V1_TASK_REQUESTS,
    V1PredictResponse,
    V1Catalog,
    V2InferRequest,
    V2InferResponse,
    V2ModelMetadata,
    V2ModelReady,
    V2ServerMetadata,
)
