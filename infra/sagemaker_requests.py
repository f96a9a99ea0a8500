"""What API Gateway sends to SageMaker ``InvokeEndpoint`` per GPU route, rendered from ``modelrail.invoke_endpoint``.

Every call reaches the container as ``POST /invocations``; ``X-Amzn-SageMaker-Custom-Attributes`` names the
operation and, on versioned routes, the route's own literal version: always one static request parameter, so
no request value ever reaches the header (the route table has a resource per served version, no ``{version}``).
InvokeEndpoint forwards only ``ContentType``, ``Accept`` and ``CustomAttributes`` to the container, so the binary
extension's ``Inference-Header-Content-Length`` never reaches it: the container finds the end of the JSON header itself
(``modelrail.sagemaker``). See ``modelrail.invoke_endpoint`` for which route is passthrough and which templated,
with the AWS pages each choice follows.
"""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw

from modelrail.constants import SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER
from modelrail.invoke_endpoint import JSON_CONTENT_TYPE, body_encoding, invoke_rule, template_content_types
from modelrail.routes import Route, custom_attributes

__all__ = [
    "JSON_CONTENT_TYPE",
    "content_handling",
    "method_request_parameters",
    "passthrough_behavior",
    "request_parameters",
    "request_template",
    "request_templates",
]

CALLER_CONTENT_TYPE = "method.request.header.Content-Type"


def request_parameters(route: Route) -> dict[str, str]:
    """Integration request headers: the operation and version (a quoted static value) and the body's type."""
    rule = invoke_rule(route)
    parameters = {
        "integration.request.header.Content-Type": CALLER_CONTENT_TYPE
        if rule.forward_content_type
        else f"'{JSON_CONTENT_TYPE}'",
        "integration.request.header.Accept": f"'{JSON_CONTENT_TYPE}'",
    }
    value = custom_attributes(route.operation, version=route.version, body=body_encoding(rule))
    parameters[f"integration.request.header.{SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER}"] = f"'{value}'"
    return parameters


def method_request_parameters(route: Route) -> dict[str, bool]:
    """Method request parameters the integration maps from (each must be declared; none is required)."""
    return {CALLER_CONTENT_TYPE: False} if invoke_rule(route).forward_content_type else {}


def request_template(route: Route) -> str | None:
    """The request mapping template of a templated route, ``None`` for a passthrough route."""
    rule = invoke_rule(route)
    if not rule.templated:
        return None
    # The body only: nothing from the path or the headers reaches the request.
    return rule.fixed_body if rule.fixed_body is not None else "$input.body"


def request_templates(route: Route) -> dict[str, str] | None:
    """The template under each content type a templated route accepts."""
    template = request_template(route)
    if template is None:
        return None
    return dict.fromkeys(template_content_types(invoke_rule(route)), template)


def content_handling(route: Route) -> apigw.ContentHandling | None:
    """``CONVERT_TO_TEXT`` where a template must see the body as (base64) text; passthrough otherwise."""
    return apigw.ContentHandling.CONVERT_TO_TEXT if invoke_rule(route).templated else None


def passthrough_behavior(route: Route) -> apigw.PassthroughBehavior:
    """Strict (415 for other content types) where a template must run; passthrough for every body otherwise."""
    if invoke_rule(route).templated:
        return apigw.PassthroughBehavior.NEVER
    return apigw.PassthroughBehavior.WHEN_NO_TEMPLATES
