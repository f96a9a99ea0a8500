"""What API Gateway sends to SageMaker ``InvokeEndpoint`` for each GPU route.

Every call reaches the container as ``POST /invocations``; the custom-attributes header names the operation
(a static request parameter), and on versioned routes the mapping template adds the requested version.
Only JSON bodies are accepted (a request with no Content-Type counts as JSON): SageMaker forwards no request
headers but its own, so the binary extension's ``Inference-Header-Content-Length`` could never reach the
container, and API Gateway answers any other content type with 415.
"""

from __future__ import annotations

from modelrail.constants import SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER
from modelrail.routes import Route, custom_attributes

JSON_CONTENT_TYPE = "application/json"
VERSION_PARAMETER = "version"


def is_versioned(route: Route) -> bool:
    """Whether the route's path carries ``{version}``."""
    return f"{{{VERSION_PARAMETER}}}" in route.path


def request_parameters(route: Route) -> dict[str, str]:
    """Integration request headers: the operation (a quoted static value) and the JSON content type."""
    return {
        f"integration.request.header.{SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER}": f"'{custom_attributes(route.operation)}'",
        "integration.request.header.Content-Type": f"'{JSON_CONTENT_TYPE}'",
        "integration.request.header.Accept": f"'{JSON_CONTENT_TYPE}'",
    }


def request_template(route: Route) -> str:
    """The ``application/json`` request mapping template for one route."""
    lines = []
    if is_versioned(route):
        value = custom_attributes(route.operation, version=f"$input.params('{VERSION_PARAMETER}')")
        lines.append(f'#set($context.requestOverride.header.{SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER} = "{value}")')
    # InvokeEndpoint needs a body; GET routes (metadata, ready) have none.
    lines.append("{}" if route.method == "GET" else "$input.body")
    return "\n".join(lines)
