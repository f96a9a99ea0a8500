"""What a GPU route sends to InvokeEndpoint: the operation, the version on versioned routes, a JSON body."""

from __future__ import annotations

import json

from apigateway_vtl import render

from infra.sagemaker_requests import request_parameters, request_template
from modelrail.constants import SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER
from modelrail.routes import Operation, model_routes, parse_custom_attributes

ROUTES = {(r.method, r.path): r for r in model_routes("m")}


def test_unversioned_post_passes_the_body_and_names_the_operation() -> None:
    route = ROUTES[("POST", "/v1/models/m/predict")]
    body = json.dumps({"instances": ['it\'s "quoted"']})
    result = render(request_template(route), body=body, request=True)
    assert result.body == body
    assert result.headers == {}
    header = request_parameters(route)[f"integration.request.header.{SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER}"]
    assert parse_custom_attributes(header.strip("'")) == (Operation.V1_PREDICT, None)


def test_versioned_route_sends_the_requested_version() -> None:
    route = ROUTES[("POST", "/v2/models/m/versions/{version}/infer")]
    result = render(request_template(route), body="{}", params={"version": "7"}, request=True)
    header = result.headers[SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER]
    assert parse_custom_attributes(header) == (Operation.V2_INFER, "7")


def test_get_routes_send_an_empty_json_object() -> None:
    for (method, _), route in ROUTES.items():
        if method == "GET":
            assert (
                json.loads(render(request_template(route), body="", params={"version": "1"}, request=True).body) == {}
            )


def test_invoke_endpoint_gets_json_content_type() -> None:
    for route in ROUTES.values():
        params = request_parameters(route)
        assert params["integration.request.header.Content-Type"] == "'application/json'"
