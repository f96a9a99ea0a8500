"""GPU routes: SageMaker InvokeEndpoint straight from API Gateway with a role scoped to that endpoint."""

from __future__ import annotations

from fake_repo import SynthResult

from infra.sagemaker_requests import request_templates
from modelrail.constants import SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER
from modelrail.routes import custom_attributes, model_routes

HEADER = f"integration.request.header.{SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER}"


def test_every_gpu_route_invokes_the_endpoint_with_its_operation(with_gpu: SynthResult) -> None:
    methods = with_gpu.methods()
    (endpoint,) = with_gpu.of_type("AWS::SageMaker::Endpoint").values()
    for route in model_routes("tiny-gpu", versions=["1"]):
        integration = methods[(route.method, route.path)]["Integration"]
        assert integration["Type"] == "AWS"
        assert integration["IntegrationHttpMethod"] == "POST"
        uri = integration["Uri"]["Fn::Join"][1]
        assert ":runtime.sagemaker:path/endpoints/" in "".join(p for p in uri if isinstance(p, str))
        assert f"/endpoints/{endpoint['Properties']['EndpointName']}/invocations" in uri[-1]
        assert integration.get("RequestTemplates") == request_templates(route)
        # Static, with the route's own literal version: no request value reaches the header.
        assert integration["RequestParameters"][HEADER] == (
            f"'{custom_attributes(route.operation, version=route.version)}'"
        )
        if route.method == "POST":
            # binary passthrough: no template, no conversion, the body reaches the container byte for byte
            assert "ContentHandling" not in integration
            assert integration["PassthroughBehavior"] == "WHEN_NO_TEMPLATES"
            assert integration["RequestParameters"]["integration.request.header.Content-Type"] == (
                "method.request.header.Content-Type"
            )
            assert (
                methods[(route.method, route.path)]["RequestParameters"]["method.request.header.Content-Type"] is False
            )
        else:
            # a template runs only on text: CONVERT_TO_TEXT; other content types than the template's are 415
            assert integration["ContentHandling"] == "CONVERT_TO_TEXT"
            assert integration["PassthroughBehavior"] == "NEVER"
        responses = integration["IntegrationResponses"]
        (ok,) = [r for r in responses if "SelectionPattern" not in r]
        assert ok["ContentHandling"] == "CONVERT_TO_BINARY"  # the container's bytes, whatever the caller's Accept
        assert all(r["ContentHandling"] == "CONVERT_TO_TEXT" for r in responses if "SelectionPattern" in r)


def test_invoke_role_may_call_only_this_endpoint(with_gpu: SynthResult) -> None:
    (endpoint_id,) = with_gpu.of_type("AWS::SageMaker::Endpoint")
    invoke = [
        s
        for p in with_gpu.of_type("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "sagemaker:InvokeEndpoint"
    ]
    # Two roles: API Gateway's for the routes, and the model's job worker's (test_construct_jobs.py).
    assert invoke == [{"Action": "sagemaker:InvokeEndpoint", "Effect": "Allow", "Resource": {"Ref": endpoint_id}}] * 2


def test_cpu_routes_are_lambda_proxy_calls_to_the_live_or_pinned_alias(with_gpu: SynthResult) -> None:
    methods = with_gpu.methods()
    for route in model_routes("tiny", versions=["3"]):
        integration = methods[(route.method, route.path)]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        uri_parts = integration["Uri"]["Fn::Join"][1]
        alias = "Live" if route.version is None else "Pinnedv3"
        assert any(isinstance(p, dict) and "Ref" in p and alias in p["Ref"] for p in uri_parts), route
