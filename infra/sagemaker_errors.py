"""The SageMaker error table of ``modelrail.contract.sagemaker``, rendered as API Gateway integration responses.

API Gateway picks an integration response by SageMaker's HTTP status (``selection_pattern``); its VTL template
then looks at SageMaker's message, or at the container's ``OriginalStatusCode`` / ``OriginalMessage`` for a
``424 ModelError``, exactly as the contract's ``sagemaker_error`` / ``model_error`` do in Python.

SageMaker's error document reaches the templates base64-encoded: the API's ``binaryMediaTypes`` is ``*/*``, so
the payload is binary, and these integration responses use ``contentHandling: CONVERT_TO_TEXT`` so that a
template runs at all ("When converting a binary payload to a text string, API Gateway always applies a Base64
encoding ... can only access the Base64-encoded string in the mapping template through ``$input.body``",
"Content type conversions in API Gateway"). The templates decode it with ``$util.base64Decode`` and read it with
``$util.parseJson`` ("Variables for data transformations", ``$util``), and also accept the document as plain
JSON text (a JSON document never starts like its base64 form, ``eyJ...``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from modelrail.contract.sagemaker import (
    CONTAINER_STATUS_PATTERN,
    MODEL_ERROR_NO_ANSWER,
    MODEL_ERROR_STATUS,
    MODEL_ERROR_TIMEOUT,
    SAGEMAKER_ERRORS,
    STATUS_ERRORS,
    MessageRule,
    StatusRule,
)
from modelrail.contract.statuses import RETRY_AFTER_S
from modelrail.errors import InternalError, ModelrailError

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


def _answer(error: type[ModelrailError], message: str | None) -> list[str]:
    lines = [f"#set($context.responseOverride.status = {error.status})"]
    retry = RETRY_AFTER_S.get(error.status)
    if retry is not None:
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
    """The integration-response VTL for ``424 ModelError``: the container's own status and body when it answered
    (a real HTTP status in ``OriginalStatusCode``), else 504 for a timeout or 503 (SageMaker reports a container
    that never answered with ``OriginalStatusCode`` 0: see ``modelrail.contract.sagemaker``)."""
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
    no_answer = [
        '#set($message = "$message $original")',  # as the contract's no_answer_text
        *_chain((MODEL_ERROR_TIMEOUT,), _answer(*MODEL_ERROR_NO_ANSWER)),
    ]
    return "\n".join(
        [
            *_header_lines(),
            '#set($status = "$!doc.OriginalStatusCode")',
            '#set($original = "$!doc.OriginalMessage")',
            f'#if($status.matches("{CONTAINER_STATUS_PATTERN}"))',  # 0 (SageMaker's "never answered") is not one
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
