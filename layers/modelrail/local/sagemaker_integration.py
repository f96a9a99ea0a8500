"""API Gateway's SageMaker service integration for GPU routes, as the stack configures it.

Executes ``modelrail.invoke_endpoint`` (what reaches ``InvokeEndpoint``, as ``infra/sagemaker_requests.py``
renders it for the stack) and answers its failures from ``modelrail.contract.sagemaker`` (the table the stack's
VTL is rendered from): POST routes pass the caller's bytes and Content-Type through untouched; templated routes
take only their template's content types (415 otherwise; no Content-Type counts as JSON), GET routes send ``{}``;
the operation rides in the custom-attributes header with ``;version=<v>`` on versioned routes (the route's own
literal version, never a request value). The container's 200 answer passes on byte for byte; a container error
comes back with the container's own status and body, Retry-After on 429 and 503. The version that answered (the
container's response custom attributes, ``InvokeEndpoint``'s ``CustomAttributes``) becomes the
``X-Modelrail-Model-Version`` header, the mapping an API Gateway integration response makes from
``integration.response.header.X-Amzn-SageMaker-Custom-Attributes``.
"""

from __future__ import annotations

import base64

from modelrail.binary_media import media_type
from modelrail.constants import MODEL_VERSION_HEADER
from modelrail.contract.sagemaker import ErrorAnswer, model_error, sagemaker_error
from modelrail.errors import PayloadTooLargeError
from modelrail.invoke_endpoint import JSON_CONTENT_TYPE, body_encoding, invoke_rule, template_content_types
from modelrail.local import gateway_responses as answers
from modelrail.local.events import HttpRequest, ProxyResponse
from modelrail.local.lambda_integration import API_GATEWAY_TIMEOUT_S, RequestContext
from modelrail.local.routing import RouteMatch
from modelrail.local.sagemaker_endpoint import MAX_PAYLOAD_BYTES, EndpointAnswer, SageMakerEndpoint
from modelrail.routes import SERVED_VERSION, custom_attributes


def _response(answer: ErrorAnswer) -> ProxyResponse:
    headers = [("Content-Type", JSON_CONTENT_TYPE)]
    if answer.retry_after_s is not None:
        headers.append(("Retry-After", str(answer.retry_after_s)))
    return ProxyResponse(answer.status, headers, answer.body)


def model_error_response(answer: EndpointAnswer) -> ProxyResponse:
    """A ``ModelError``: the container's status and body (wrapped in the SPEC's body if it is not JSON)."""
    original = answer.body.decode("utf-8", errors="replace")
    return _response(model_error(answer.status, original, answer.message))


class SageMakerIntegration:
    """One GPU model's routes, integrated with its endpoint."""

    def __init__(self, endpoint: SageMakerEndpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, request: HttpRequest, match: RouteMatch, context: RequestContext) -> ProxyResponse:
        """Call InvokeEndpoint the way the stack's integration does, and map its answer."""
        rule = invoke_rule(match.route)
        content_type = request.header("content-type")
        if rule.templated and content_type and media_type(content_type) not in template_content_types(rule):
            return answers.UNSUPPORTED_MEDIA_TYPE.response()
        if rule.fixed_body is not None:
            body = rule.fixed_body.encode()
        elif rule.base64_body:
            body = base64.b64encode(request.body)
        else:
            body = request.body
        if len(body) > MAX_PAYLOAD_BYTES:
            return _response(sagemaker_error(PayloadTooLargeError.status, ""))
        attributes = custom_attributes(match.route.operation, version=match.route.version, body=body_encoding(rule))
        answer = await self.endpoint.invoke(
            body,
            custom_attributes=attributes,
            content_type=content_type if rule.forward_content_type else JSON_CONTENT_TYPE,
            accept=JSON_CONTENT_TYPE,
            client=context.client,
            timeout_s=API_GATEWAY_TIMEOUT_S,
        )
        if answer.timed_out:
            return answers.INTEGRATION_TIMEOUT.response()
        if answer.ok:
            headers = [("Content-Type", answer.content_type or JSON_CONTENT_TYPE)]
            version = answer.custom_attributes
            if version is not None and SERVED_VERSION.fullmatch(version):  # the container's CustomAttributes
                headers.append((MODEL_VERSION_HEADER, version))
            return ProxyResponse(200, headers, answer.body)
        if answer.not_in_service:  # SageMaker's 400 ValidationError
            return _response(sagemaker_error(400, answer.message))
        return model_error_response(answer)
