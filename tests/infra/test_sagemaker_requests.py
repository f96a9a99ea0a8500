"""What a GPU route sends to InvokeEndpoint: the operation, the version on versioned routes, the caller's bytes."""

from __future__ import annotations

import json

from apigateway_vtl import render

from infra.sagemaker_requests import method_request_parameters, request_parameters, request_template
from modelrail.constants import SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER
from modelrail.routes import Operation, body_encoding, model_routes, parse_custom_attributes

ROUTES = {(r.method, r.path): r for r in model_routes("m", versions=["7"])}
BINARY_REQUEST = (
    b'{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}\x00\x00\x80?'
)


def test_unversioned_post_is_a_passthrough_naming_the_operation() -> None:
    route = ROUTES[("POST", "/v1/models/m/predict")]
    assert request_template(route) is None  # no template: the body passes byte for byte
    parameters = request_parameters(route)
    header = parameters[f"integration.request.header.{SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER}"]
    assert parse_custom_attributes(header.strip("'")) == (Operation.V1_PREDICT, None)
    assert body_encoding(header.strip("'")) is None
    assert parameters["integration.request.header.Content-Type"] == "method.request.header.Content-Type"
    assert method_request_parameters(route) == {"method.request.header.Content-Type": False}


def test_versioned_post_is_a_passthrough_sending_its_own_version_as_a_static_value() -> None:
    route = ROUTES[("POST", "/v2/models/m/versions/7/infer")]
    assert request_template(route) is None  # the bytes pass as they are: no base64, no template
    header = request_parameters(route)[f"integration.request.header.{SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER}"]
    assert parse_custom_attributes(header.strip("'")) == (Operation.V2_INFER, "7")
    assert body_encoding(header.strip("'")) is None


def test_no_request_value_reaches_the_custom_attributes_header() -> None:
    """An injected version (`1;route=v1-predict`) has no resource, and no template reads the path."""
    assert not any("{" in path for _, path in ROUTES)
    for route in ROUTES.values():
        template = request_template(route) or ""
        assert "$input.params" not in template
        assert "requestOverride" not in template


def test_get_routes_send_an_empty_json_object() -> None:
    for (method, _), route in ROUTES.items():
        if method == "GET":
            template = request_template(route)
            assert template is not None
            assert json.loads(render(template, body="", request=True).body) == {}
            assert request_parameters(route)["integration.request.header.Content-Type"] == "'application/json'"
