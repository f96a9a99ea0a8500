"""SageMaker ``InvokeEndpoint`` failures as the SPEC's errors: the one table, and what it answers.

GPU routes call ``InvokeEndpoint`` straight from API Gateway (an AWS service integration), so no function is
there to translate SageMaker's answers. API Gateway picks an integration response by SageMaker's HTTP status
(``selection_pattern``) and its VTL template then looks at SageMaker's error body:

- ``424 ModelError``: the container answered with an error. SageMaker wraps the container's status and body in
  ``OriginalStatusCode`` / ``OriginalMessage``; we answer with exactly those, so a GPU model's 400 reads like a
  CPU model's. A ModelError whose ``OriginalStatusCode`` is not an HTTP status (SageMaker sends ``0``) or is
  missing means the container never answered: a timeout, or a crash. SageMaker's own troubleshooting page shows a
  container timeout as exactly that: "Received server error (0) from <endpoint> with message "Your invocation
  timed out while waiting for a response from container model. ..."" ("Troubleshoot Neo Inference Errors",
  https://docs.aws.amazon.com/sagemaker/latest/dg/neo-troubleshooting-inference.html); the runtime API's
  ``ModelError`` carries ``Message``, ``OriginalStatusCode``, ``OriginalMessage`` and ``LogStreamArn``
  (botocore's ``SageMakerRuntime.Client.exceptions.ModelError``).
- ``400``: ``ValidationError`` (e.g. ``Endpoint x of account y not found.``) or ``ThrottlingException``, which
  SageMaker sends as a 400 whose body is ``{"message": null}``.
- ``429 ModelNotReadyException``, ``5xx`` (``InternalFailure``, ``ServiceUnavailable``, ``InternalDependency``).

``infra/sagemaker_errors.py`` renders this table as VTL; local mode answers with ``sagemaker_error`` and
``model_error`` below, which read the same table. Patterns are searched case-insensitively in SageMaker's
message and must mean the same in Java (API Gateway's VTL) and Python: plain text, ``.``, ``*``, ``|`` and
groups only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Final

from modelrail.contract.statuses import ERROR_BY_STATUS, RETRY_AFTER_S, error_for_status
from modelrail.errors import (
    InternalError,
    InvalidInputError,
    ModelrailError,
    ModelUnavailableError,
    PayloadTooLargeError,
    ThrottledError,
    UpstreamTimeoutError,
)

MODEL_ERROR_STATUS: Final = "424"


@dataclass(frozen=True)
class MessageRule:
    """If SageMaker's message matches ``pattern``, answer ``error`` with ``message``."""

    pattern: str
    error: type[ModelrailError]
    message: str

    def matches(self, text: str) -> bool:
        """Whether SageMaker's message matches, as Java's ``String.matches`` of ``java_pattern`` decides."""
        return re.search(self.pattern, text, re.IGNORECASE | re.DOTALL) is not None


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


ENDPOINT_MISSING: Final = MessageRule(
    r"endpoint .*(not found|not in service)",
    ModelUnavailableError,
    "the model's SageMaker endpoint is not in service (being created, updated or deleted); retry shortly",
)
THROTTLED_NO_MESSAGE: Final = MessageRule(
    r"^$", ThrottledError, "the model's SageMaker endpoint is at its request limit; retry later"
)
PAYLOAD_TOO_LARGE_MESSAGE: Final = "request body over SageMaker's 6 MB limit"

SAGEMAKER_ERRORS: Final[tuple[StatusRule, ...]] = (
    StatusRule(
        "400",
        InvalidInputError,
        message_rules=(
            ENDPOINT_MISSING,
            THROTTLED_NO_MESSAGE,
            MessageRule(r"rate exceeded|throttl", ThrottledError, THROTTLED_NO_MESSAGE.message),
            MessageRule(r"too large|payload size", PayloadTooLargeError, PAYLOAD_TOO_LARGE_MESSAGE),
        ),
    ),
    StatusRule(str(PayloadTooLargeError.status), PayloadTooLargeError, PAYLOAD_TOO_LARGE_MESSAGE),
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
"""Every non-2xx SageMaker status class; 2xx answers pass through untouched. The 424 ModelError has its own rules."""

CONTAINER_STATUS_PATTERN: Final = "[1-5][0-9]{2}"
"""An ``OriginalStatusCode`` the container really answered with (a whole-string match, in VTL and Python alike);
anything else (``0``, or no field at all) means the container never answered."""
MODEL_ERROR_TIMEOUT: Final = MessageRule(
    r"timed out",
    UpstreamTimeoutError,
    "the model did not answer within SageMaker's 60 s invocation timeout",
)
MODEL_ERROR_NO_ANSWER: Final = (
    ModelUnavailableError,
    "the model's container failed without an answer; retry shortly",
)
STATUS_ERRORS: Final[tuple[type[ModelrailError], ...]] = tuple(ERROR_BY_STATUS.values())
"""Code for a container status whose body is not already the SPEC's JSON (anything else: internal_error)."""


@dataclass(frozen=True)
class ErrorAnswer:
    """What a GPU route answers for one SageMaker failure: status, JSON body, ``Retry-After``."""

    status: int
    body: bytes

    @property
    def retry_after_s(self) -> int | None:
        """Seconds for ``Retry-After``, sent with 429 and 503 (SageMaker drops the container's own headers)."""
        return RETRY_AFTER_S.get(self.status)

    @classmethod
    def of(cls, error: type[ModelrailError], message: str, *, status: int | None = None) -> ErrorAnswer:
        """The SPEC's ``{"error": ..., "code": ...}`` body for an error (under another status if given)."""
        body = json.dumps({"error": message, "code": error.code}).encode()
        return cls(error.status if status is None else status, body)


def _first(rules: tuple[MessageRule, ...], message: str) -> MessageRule | None:
    return next((rule for rule in rules if rule.matches(message)), None)


def sagemaker_error(status: int, message: str) -> ErrorAnswer:
    """The answer to a non-2xx, non-424 ``InvokeEndpoint`` status carrying SageMaker's ``message``."""
    rule = next(rule for rule in SAGEMAKER_ERRORS if re.fullmatch(rule.selection_pattern, str(status)))
    matched = _first(rule.message_rules, message)
    if matched is not None:
        return ErrorAnswer.of(matched.error, matched.message)
    return ErrorAnswer.of(rule.error, message if rule.message is None else rule.message)


def container_answered(original_status: int | None) -> bool:
    """Whether a ModelError's ``OriginalStatusCode`` is the container's own HTTP status (not SageMaker's ``0``)."""
    return original_status is not None and re.fullmatch(CONTAINER_STATUS_PATTERN, str(original_status)) is not None


def no_answer_text(message: str, original: str) -> str:
    """What the "never answered" rules search: SageMaker's ``Message`` and ``OriginalMessage`` (the timeout text is
    in both when ``OriginalStatusCode`` is 0, in ``Message`` alone when there is no original)."""
    return f"{message} {original}"


def model_error(original_status: int | None, original: str, message: str = "") -> ErrorAnswer:
    """The answer to a ``424 ModelError``: the container's own status and body, or why it never answered."""
    if original_status is None or not container_answered(original_status):
        if MODEL_ERROR_TIMEOUT.matches(no_answer_text(message, original)):
            return ErrorAnswer.of(MODEL_ERROR_TIMEOUT.error, MODEL_ERROR_TIMEOUT.message)
        return ErrorAnswer.of(*MODEL_ERROR_NO_ANSWER)
    if original.strip().startswith("{"):
        return ErrorAnswer(original_status, original.encode())
    return ErrorAnswer.of(error_for_status(original_status), original, status=original_status)
