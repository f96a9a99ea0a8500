"""A GPU model is ready while its SageMaker endpoint still serves: DescribeEndpoint answered by a real botocore
client (stubbed per EndpointStatus, and by moto), read through the catalog's /v1/models and /v2/health/ready."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from modelrail.catalog.openapi import load_openapi_template
from modelrail.catalog.readiness import SERVING_STATUSES, Readiness, describe_endpoint_probe
from modelrail.catalog.routing import Catalog
from modelrail.contract.catalog_entry import CatalogEntry

ENDPOINT = "tiny-gpu-endpoint"
ENTRIES = [
    CatalogEntry("tiny", "1", "text-embedding", "cpu"),
    CatalogEntry("tiny-gpu", "1", "text-embedding", "gpu", endpoint=ENDPOINT),
]
EVERY_STATUS = [
    "OutOfService",
    "Creating",
    "Updating",
    "SystemUpdating",
    "RollingBack",
    "InService",
    "Deleting",
    "Failed",
    "UpdateRollbackFailed",
]
"""botocore's EndpointStatus enum, in its order."""
STILL_SERVING = {"InService", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"}
"""Per the DescribeEndpoint reference: in service, or changing while the old capacity keeps serving."""


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)


def catalog_with(client: Any) -> Catalog:
    readiness = Readiness(lambda: describe_endpoint_probe(client))
    return Catalog(ENTRIES, readiness=readiness, openapi_template=load_openapi_template())


def describe_answer(status: str) -> dict[str, Any]:
    return {
        "EndpointName": ENDPOINT,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}",
        "EndpointStatus": status,
        "CreationTime": "2026-01-01T00:00:00Z",
        "LastModifiedTime": "2026-01-01T00:00:00Z",
    }


@pytest.fixture
def stubbed(credentials: None) -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber


def test_the_tables_status_list_is_botocores_enum() -> None:
    shape = boto3.client("sagemaker", region_name="us-east-1").meta.service_model.shape_for("EndpointStatus")
    assert shape.enum == EVERY_STATUS
    assert set(EVERY_STATUS) >= SERVING_STATUSES == STILL_SERVING


@pytest.mark.parametrize("status", EVERY_STATUS)
def test_health_ready_follows_whether_the_endpoint_still_serves(stubbed: tuple[Any, Stubber], status: str) -> None:
    client, stubber = stubbed
    stubber.add_response("describe_endpoint", describe_answer(status), {"EndpointName": ENDPOINT})
    catalog = catalog_with(client)
    listed = json.loads(catalog.answer("GET", "/v1/models")["body"])["models"]
    ready = catalog.answer("GET", "/v2/health/ready")  # the cached status: one DescribeEndpoint call in all
    stubber.assert_no_pending_responses()
    if status in STILL_SERVING:
        assert [entry["ready"] for entry in listed] == [True, True]
        assert ready["statusCode"] == 200
        assert json.loads(ready["body"]) == {"ready": True}
    else:
        assert [entry["ready"] for entry in listed] == [True, False]
        assert ready["statusCode"] == 503
        assert ready["headers"]["Retry-After"] == "5"
        assert json.loads(ready["body"]) == {
            "error": f"not ready: tiny-gpu ({status})",
            "code": "model_unavailable",
        }


def test_a_failed_describe_endpoint_is_not_ready_not_a_failed_catalog(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "describe_endpoint",
        "ValidationException",
        "Could not find endpoint",
        expected_params={"EndpointName": ENDPOINT},
    )
    ready = catalog_with(client).answer("GET", "/v2/health/ready")
    assert ready["statusCode"] == 503
    assert json.loads(ready["body"])["error"] == "not ready: tiny-gpu (status unknown (ClientError))"


def test_an_endpoint_in_service_in_moto_is_ready(credentials: None) -> None:
    with mock_aws():
        client = boto3.client("sagemaker", region_name="us-east-1")
        client.create_model(
            ModelName="tiny-gpu",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelrail:latest"},
        )
        client.create_endpoint_config(
            EndpointConfigName="tiny-gpu-config",
            ProductionVariants=[
                {
                    "VariantName": "primary",
                    "ModelName": "tiny-gpu",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.g4dn.xlarge",
                }
            ],
        )
        client.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="tiny-gpu-config")
        assert client.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "InService"
        assert catalog_with(client).answer("GET", "/v2/health/ready")["statusCode"] == 200
        client.delete_endpoint(EndpointName=ENDPOINT)
        gone = catalog_with(client).answer("GET", "/v2/health/ready")
    assert gone["statusCode"] == 503
