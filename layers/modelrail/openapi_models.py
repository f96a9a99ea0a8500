"""The pydantic models behind ``components.schemas`` in ``/openapi.json``; imported only to build that document.

Routes read their bodies themselves (the binary extension is not JSON, and pydantic request models would
cost more than the whole warm overhead budget), so these models only document; the codecs validate.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every error answer."""

    error: str = Field(description="What was wrong, naming the input or field.")
    code: str = Field(description="Stable snake_case code, e.g. invalid_input, model_not_found.")


class V1PredictRequest(BaseModel):
    """Task API request."""

    instances: list[Any] = Field(
        min_length=1,
        description=(
            "Strings for text tasks; base64 PNG/JPEG for image tasks; objects keyed by feature or rows for "
            "tabular; {input_name: nested list} for tensor."
        ),
    )


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

    name: str
    datatype: str = Field(description="BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES")
    shape: list[int]
    data: list[Any] | None = None
    parameters: dict[str, Any] | None = Field(default=None, description="binary_data_size with the binary extension")


class V2RequestedOutput(BaseModel):
    """An output to return; ``parameters.binary_data`` asks for it in the binary part."""

    name: str
    parameters: dict[str, Any] | None = None


class V2InferRequest(BaseModel):
    """Open Inference Protocol infer request (JSON, or the JSON header of the binary extension)."""

    id: str | None = None
    parameters: dict[str, Any] | None = Field(default=None, description="binary_data_output: all outputs binary")
    inputs: list[V2Tensor]
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


class V2ModelMetadata(BaseModel):
    """Open Inference Protocol model metadata, plus ``parameters`` (task, provider, processing)."""

    name: str
    versions: list[str]
    platform: str
    inputs: list[V2TensorMetadata]
    outputs: list[V2TensorMetadata]
    parameters: dict[str, Any]


class V2ModelReady(BaseModel):
    """Model readiness."""

    name: str
    ready: bool


DOCUMENTED = (
    ErrorBody,
    V1PredictRequest,
    V1PredictResponse,
    V1Catalog,
    V2InferRequest,
    V2InferResponse,
    V2ModelMetadata,
    V2ModelReady,
)
