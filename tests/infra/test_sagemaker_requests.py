"""What a GPU route sends to InvokeEndpoint: the operation, the version on versioned routes, the caller's bytes."""

from __future__ import annotations

import base64
import json

from apigateway_vtl import render

from infra.sagemaker_requests import method_request_parameters, request_parameters, request_template
from modelrail.constants import SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER
from modelrail.routes import Operation, body_encoding, model_routes, parse_custom_attributes

ROUTES = {(r.method, r.path): r for r in model_routes("m")}
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


def test_versioned_post_sends_the_version_and_the_bytes_as_base64() -> None:
    route = ROUTES[("POST", "/v2/models/m/versions/{version}/infer")]
    as_text = base64.b64encode(BINARY_REQUEST).decode("ascii")  # what CONVERT_TO_TEXT hands the template
    template = request_template(route)
    assert template is not None
    result = render(template, body=as_text, params={"version": "7"}, request=True)
    header = result.headers[SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER]
    assert parse_custom_attributes(header) == (Operation.V2_INFER, "7")
    assert body_encoding(header) == "base64"
    assert base64.b64decode(result.body) == BINARY_REQUEST
    assert f"integration.request.header.{SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER}" not in request_parameters(route)


def test_get_routes_send_an_empty_json_object() -> None:
    for (method, _), route in ROUTES.items():
        if method == "GET":
            template = request_template(route)
            assert template is not None
            assert json.loads(render(template, body="", params={"version": "1"}, request=True).body) == {}
            assert request_parameters(route)["integration.request.header.Content-Type"] == "'application/json'"
