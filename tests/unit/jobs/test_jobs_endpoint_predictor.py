"""A GPU model's worker predictor: each batch is one InvokeEndpoint with the v1-predict operation, and the
container's 4xx comes back as the same typed error (so the worker fails only the refused lines)."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from modelrail.errors import InvalidInputError
from modelrail.jobs.runtime import EndpointPredictor


@pytest.fixture
def runtime() -> Any:
    return boto3.client("sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_a_batch_is_one_invoke_endpoint_with_the_v1_predict_operation(runtime: Any) -> None:
    body = json.dumps({"model": "m", "version": "1", "predictions": [[1.0], [2.0]]}).encode()
    with Stubber(runtime) as stub:
        stub.add_response(
            "invoke_endpoint",
            {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json"},
            {
                "EndpointName": "ep",
                "ContentType": "application/json",
                "Accept": "application/json",
                "CustomAttributes": "route=v1-predict",
                "Body": json.dumps({"instances": ["a", "b"]}).encode(),
            },
        )
        predictor = EndpointPredictor("ep", batch_size=8, client=runtime)
        assert predictor.predict(["a", "b"]) == [[1.0], [2.0]]
    assert predictor.encode([1.0]) == b"[1.0]"


def test_the_containers_4xx_is_the_same_typed_error(runtime: Any) -> None:
    """A 424 ModelError carries the container's own status and body (``contract.sagemaker``)."""
    with Stubber(runtime) as stub:
        stub.add_client_error(
            "invoke_endpoint",
            service_error_code="ModelError",
            service_message="Received client error (400) from primary",
            http_status_code=424,
            modeled_fields={
                "OriginalStatusCode": 400,
                "OriginalMessage": json.dumps({"error": "instance 0: expected a string", "code": "invalid_input"}),
            },
        )
        with pytest.raises(InvalidInputError, match="expected a string"):
            EndpointPredictor("ep", batch_size=8, client=runtime).predict([1])
