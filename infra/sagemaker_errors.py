"""SageMaker ``InvokeEndpoint`` failures as the SPEC's errors: the one table, and the VTL generated from it.

GPU routes call ``InvokeEndpoint`` straight from API Gateway (an AWS service integration), so no function is
there to translate SageMaker's answers. API Gateway picks an integration response by SageMaker's HTTP status
(``selection_pattern``) and its VTL template then looks at SageMaker's error body:

- ``424 ModelError``: the container answered with an error. SageMaker wraps the container's status and body in
  ``OriginalStatusCode`` / ``OriginalMessage``; we answer with exactly those, so a GPU model's 400 reads like a
  CPU model's. A ModelError without them means the container never answered (timeout or crash).
- ``400``: ``ValidationError`` (e.g. ``Endpoint x of account y not found.``) or ``ThrottlingException``, which
  SageMaker sends as a 400 whose body is ``{"message": null}``.
- ``429 ModelNotReadyException``, ``5xx`` (``InternalFailure``, ``ServiceUnavailable``, ``InternalDependency``).

SageMaker's error document reaches the templates base64-encoded: the API's ``binaryMediaTypes`` is ``*/*``, so
the payload is binary, and these integration responses use ``contentHandling: CONVERT_TO_TEXT`` so that a
template runs at all ("When converting a binary payload to a text string, API Gateway always applies a Base64
encoding ... can only access the Base64-encoded string in the mapping template through ``$input.body``",
"Content type conversions in API Gateway"). The templates decode it with ``$util.base64Decode`` and read it with
``$util.parseJson`` ("Variables for data transformations", ``$util``), and also accept the document as plain
JSON text (a JSON document never starts like its base64 form, ``eyJ...``).

Patterns are searched case-insensitively in SageMaker's message and must mean the same in Java (API Gateway's
VTL) and Python (tests): plain text, ``.``, ``*``, ``|`` and groups only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from modelrail.errors import (
    ForbiddenError,
    InternalError,
    InvalidInputError,
    MethodNotAllowedError,
    ModelrailError,
    ModelUnavailableError,
    NotFoundError,
    PayloadTooLargeError,
    ThrottledError,
    UnauthorizedError,
    UnprocessableInputError,
    UnsupportedMediaTypeError,
    UpstreamTimeoutError,
)

MODEL_ERROR_STATUS = "424"
RETRY_AFTER_S: dict[int, int] = {429: 1, 503: 5}
"""Retry-After seconds sent with these statuses (SageMaker drops the container's own headers)."""


@dataclass(frozen=True)
class MessageRule:
    """If SageMaker's message matches ``pattern``, answer ``error`` with ``message``."""

    pattern: str
    error: type[ModelrailError]
    message: str


@dataclass(frozen=True)
class StatusRule:
    """How one class of SageMaker HTTP status is answered."""

    selection_pattern: str
    """Regex API Gateway matches against SageMaker's whole HTTP status code."""
    error: type[ModelrailError]
    """The answer when no message rule matches."""
    message: str | None = None
    """Fixed message for that answer, or ``None`` to pass on SageMaker's own message."""
    message_rules: tuple[MessageRule, ...] = ()


ENDPOINT_MISSING = MessageRule(
    r"endpoint .*(not found|not in service)",
    ModelUnavailableError,
    "the model's SageMaker endpoint is not in service (being created, updated or deleted); retry shortly",
)
THROTTLED_NO_MESSAGE = MessageRule(
    r"^$", ThrottledError, "the model's SageMaker endpoint is at its request limit; retry later"
)

SAGEMAKER_ERRORS: tuple[StatusRule, ...] = (
    StatusRule(
        "400",
        InvalidInputError,
        message_rules=(
            ENDPOINT_MISSING,
            THROTTLED_NO_MESSAGE,
            MessageRule(r"rate exceeded|throttl", ThrottledError, THROTTLED_NO_MESSAGE.message),
            MessageRule(r"too large|payload size", PayloadTooLargeError, "request body over SageMaker's 6 MB limit"),
        ),
    ),
    StatusRule("413", PayloadTooLargeError, "request body over SageMaker's 6 MB limit"),
    StatusRule(
        "429",
        ThrottledError,
        THROTTLED_NO_MESSAGE.message,
        message_rules=(
            MessageRule(
                r"not ready", ModelUnavailableError, "the model is still loading on its endpoint; retry shortly"
            ),
        ),
    ),
    StatusRule(
        "403",
        InternalError,
        "API Gateway's role may not invoke the model's SageMaker endpoint; this is a deployment bug",
    ),
    StatusRule(
        "4(?!00|03|13|24|29)[0-9]{2}",
        InternalError,
        "unexpected answer from SageMaker InvokeEndpoint; see the API's access logs",
    ),
    StatusRule(
        "5[0-9]{2}",
        ModelUnavailableError,
        "SageMaker could not serve the request; retry shortly",
    ),
)
"""Every non-2xx SageMaker status class; 2xx answers pass through untouched. The 424 ModelError has its own VTL."""

MODEL_ERROR_TIMEOUT = MessageRule(
    r"timed out",
    UpstreamTimeoutError,
    "the model did not answer within SageMaker's 60 s invocation timeout",
)
MODEL_ERROR_NO_ANSWER = (
    ModelUnavailableError,
    "the model's container failed without an answer; retry shortly",
)
STATUS_ERRORS: tuple[type[ModelrailError], ...] = (
    InvalidInputError,
    UnauthorizedError,
    ForbiddenError,
    NotFoundError,
    MethodNotAllowedError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    UnprocessableInputError,
    ThrottledError,
    ModelUnavailableError,
    UpstreamTimeoutError,
)
"""Code for a container status whose body is not already the SPEC's JSON (anything else: internal_error)."""

# --- VTL generation ------------------------------------------------------------------------------------

_MESSAGE = "$message"
_DOCUMENT = [
    "#set($raw = $input.body.trim())",
    '#if($raw != "" && !$raw.startsWith("{"))#set($raw = $util.base64Decode($raw))#end',
    '#if($raw.trim() == "")#set($raw = "{}")#end',
    "#set($doc = $util.parseJson($raw))",
]
"""SageMaker's error document as ``$doc``, whether it arrives base64-encoded or as JSON text."""
_SAGEMAKER_MESSAGE = '#set($message = "$!doc.message$!doc.Message")'
_ESCAPING = ['#set($apostrophe = "\'")', "#set($escapedApostrophe = $util.escapeJavaScript($apostrophe))"]
_JSON_STRING = "$util.escapeJavaScript({}).replace($escapedApostrophe, $apostrophe)"
"""A VTL string as JSON string content. escapeJavaScript also escapes ' as \\', which JSON does not allow; the
escaped form is taken from escapeJavaScript itself because VTL string literals treat backslashes differently
across Velocity versions."""


def java_pattern(pattern: str) -> str:
    """The ``String.matches`` form of a search pattern (case-insensitive, across lines)."""
    return f"(?is).*({pattern}).*"


def _answer(error: type[ModelrailError], message: str | None, *, status: str | None = None) -> list[str]:
    status_value = str(error.status) if status is None else status
    lines = [f"#set($context.responseOverride.status = {status_value})"]
    retry = RETRY_AFTER_S.get(error.status)
    if retry is not None and status is None:
        lines.append(f'#set($context.responseOverride.header.Retry-After = "{retry}")')
    text = _JSON_STRING.format(_MESSAGE) if message is None else json.dumps(message)[1:-1]
    lines.append(f'{{"error": "{text}", "code": "{error.code}"}}')
    return lines


def _chain(rules: tuple[MessageRule, ...], fallback: list[str]) -> list[str]:
    if not rules:
        return fallback
    lines: list[str] = []
    for index, rule in enumerate(rules):
        keyword = "#if" if index == 0 else "#elseif"
        lines.append(f'{keyword}({_MESSAGE}.matches("{java_pattern(rule.pattern)}"))')
        lines += _answer(rule.error, rule.message)
    return [*lines, "#else", *fallback, "#end"]


def _header_lines() -> list[str]:
    return [
        '#set($context.responseOverride.header.Content-Type = "application/json")',
        *_DOCUMENT,
        _SAGEMAKER_MESSAGE,
        *_ESCAPING,
    ]


def status_rule_template(rule: StatusRule) -> str:
    """The integration-response VTL for one SageMaker status class."""
    return "\n".join([*_header_lines(), *_chain(rule.message_rules, _answer(rule.error, rule.message))])


def _code_for_status() -> list[str]:
    lines = []
    for index, error in enumerate(STATUS_ERRORS):
        keyword = "#if" if index == 0 else "#elseif"
        lines += [f'{keyword}($status == "{error.status}")', f'#set($code = "{error.code}")']
    return [*lines, "#else", f'#set($code = "{InternalError.code}")', "#end"]


def model_error_template() -> str:
    """The integration-response VTL for ``424 ModelError``: the container's own status and body."""
    container_answer = [
        "#set($context.responseOverride.status = $doc.OriginalStatusCode)",
        *(
            f'#if($status == "{status}")#set($context.responseOverride.header.Retry-After = "{seconds}")#end'
            for status, seconds in RETRY_AFTER_S.items()
        ),
        '#if($original.trim().startsWith("{"))',
        "$original",
        "#else",
        *_code_for_status(),
        f'{{"error": "{_JSON_STRING.format("$original")}", "code": "$code"}}',
        "#end",
    ]
    no_answer = _chain((MODEL_ERROR_TIMEOUT,), _answer(*MODEL_ERROR_NO_ANSWER))
    return "\n".join(
        [
            *_header_lines(),
            '#set($status = "$!doc.OriginalStatusCode")',
            '#set($original = "$!doc.OriginalMessage")',
            '#if($status != "")',
            *container_answer,
            "#else",
            *no_answer,
            "#end",
        ]
    )


@dataclass(frozen=True)
class IntegrationAnswer:
    """One API Gateway integration response for SageMaker: which statuses, the base status, the template."""

    selection_pattern: str
    status: int
    template: str


def integration_answers() -> tuple[IntegrationAnswer, ...]:
    """Every error integration response of a SageMaker route, ModelError first."""
    model_error = IntegrationAnswer(MODEL_ERROR_STATUS, MODEL_ERROR_NO_ANSWER[0].status, model_error_template())
    return (
        model_error,
        *(
            IntegrationAnswer(rule.selection_pattern, rule.error.status, status_rule_template(rule))
            for rule in SAGEMAKER_ERRORS
        ),
    )


def answer_statuses() -> tuple[int, ...]:
    """Every status a SageMaker route can answer with (each needs a method response)."""
    statuses = {200, InternalError.status, *(error.status for error in STATUS_ERRORS)}
    for rule in SAGEMAKER_ERRORS:
        statuses |= {rule.error.status, *(message_rule.error.status for message_rule in rule.message_rules)}
    return tuple(sorted(statuses))
