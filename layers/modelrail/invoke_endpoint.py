"""How API Gateway turns a GPU route's request into SageMaker ``InvokeEndpoint``: the rule, as data.

``infra/sagemaker_requests.py`` renders it into the integration's settings and VTL, and local mode's SageMaker
integration executes it, so the two cannot drift. The API treats every body as binary (``binaryMediaTypes``
``*/*``, ``modelrail.binary_media``), and for a binary payload "API Gateway simply passes through the message
as-is" unless the integration's ``contentHandling`` converts it ("Binary media types for REST APIs"; the
request table of "Content type conversions in API Gateway"). Two shapes follow:

- ``POST``, live or versioned: passthrough. No mapping template, ``contentHandling`` undefined and
  ``passthroughBehavior: WHEN_NO_TEMPLATES`` (passthrough must be enabled for a binary body to pass unmodified),
  so JSON and binary-extension bodies reach the container byte for byte; everything the container needs rides in
  request parameters: the operation and, on a versioned route, the route's own literal version (one static
  ``X-Amzn-SageMaker-Custom-Attributes``: the route table has a resource per served version, so no request value
  is ever part of it) and the caller's own ``Content-Type``.
- ``GET``: ``CONVERT_TO_TEXT`` and a template that sends ``{}`` (``InvokeEndpoint`` needs a body).

A template only runs on text, so a templated route with a body would need ``contentHandling: CONVERT_TO_TEXT``,
which base64-encodes the caller's bytes ("When converting a binary payload to a text string, API Gateway always
applies a Base64 encoding"); ``body=base64`` in the custom attributes says so to the container. No route needs
that since versions became literal routes; the container still reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelrail.routes import BASE64_BODY, Route

JSON_CONTENT_TYPE = "application/json"
TEMPLATE_CONTENT_TYPES: tuple[str, ...] = (JSON_CONTENT_TYPE, "application/octet-stream")
"""Content types a templated route takes (strict passthrough: any other is API Gateway's 415); a request with no
Content-Type counts as ``application/json``."""
GET_BODY = "{}"


@dataclass(frozen=True)
class InvokeRule:
    """What one route sends to ``InvokeEndpoint``."""

    templated: bool
    """Whether a mapping template builds the request (``CONVERT_TO_TEXT``, strict passthrough)."""
    base64_body: bool
    """The caller's body travels base64-encoded, announced by ``body=base64`` in the custom attributes."""
    fixed_body: str | None
    """A body sent instead of the caller's (``{}`` for GET routes)."""
    forward_content_type: bool
    """The caller's Content-Type is passed on (else ``application/json``)."""


def is_versioned(route: Route) -> bool:
    """Whether the route serves one literal version (``/versions/<v>/...``)."""
    return route.version is not None


def invoke_rule(route: Route) -> InvokeRule:
    """The rule for one GPU route."""
    if route.method == "GET":
        return InvokeRule(templated=True, base64_body=False, fixed_body=GET_BODY, forward_content_type=False)
    return InvokeRule(templated=False, base64_body=False, fixed_body=None, forward_content_type=True)


def template_content_types(rule: InvokeRule) -> tuple[str, ...]:
    """The content types a templated rule has a template for (GET routes: JSON only); none for passthrough."""
    if not rule.templated:
        return ()
    return TEMPLATE_CONTENT_TYPES if rule.fixed_body is None else (JSON_CONTENT_TYPE,)


def body_encoding(rule: InvokeRule) -> str | None:
    """The ``body=`` custom attribute for a rule."""
    return BASE64_BODY if rule.base64_body else None
