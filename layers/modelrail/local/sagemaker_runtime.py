"""SageMaker Runtime's ``InvokeEndpoint`` on loopback, for what calls it through boto3: a GPU model's job worker.

In the cloud a GPU model's worker sends each batch to the model's endpoint with ``InvokeEndpoint``
(``modelrail.jobs.runtime.EndpointPredictor``). Local mode runs that same worker code unchanged: its environment
points boto3's SageMaker Runtime client here with ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` (serviceId "SageMaker
Runtime"; "Service-specific endpoints" and "Identifiers for service-specific endpoints", AWS SDKs and Tools
reference guide). This server speaks the operation as botocore's service model describes it (rest-json,
``POST /endpoints/{EndpointName}/invocations``; request headers ``Content-Type``, ``Accept``,
``X-Amzn-SageMaker-Custom-Attributes``, ``X-Amzn-SageMaker-Target-Variant``; answer headers ``Content-Type``,
``X-Amzn-SageMaker-Custom-Attributes``, ``x-Amzn-Invoked-Production-Variant``) and calls the same containers the
gateway's GPU routes call:

- An endpoint is a model's production variants, one container per served version (``variant_name``), weighted as
  the stack weights them (``ReleasePlan.weights``). Without ``TargetVariant`` a request goes to a variant drawn by
  weight ("the default behavior for the endpoint, which is to distribute the invocation traffic based on the
  variant weights", SageMaker Runtime API, InvokeEndpoint); with it, to exactly that variant.
- A container answer other than 2xx is ``424 ModelError`` carrying ``OriginalStatusCode``, ``OriginalMessage``
  and SageMaker's ``Received client error (400) from <variant> with message "..."`` (the shape botocore's
  ``ModelError`` has; the message as SageMaker writes it, quoted in ``modelrail.contract.sagemaker``); no answer
  within SageMaker's 60 s, or a container that dies mid-request, is a ModelError with status 0.
- An unknown endpoint or variant is ``400 ValidationError`` (``Endpoint <name> of account <id> not found.``); a
  body over the API's 6 MB (``Body``: "Maximum length of 6291456") is ``413`` "HTTP content length exceeded",
  as SageMaker answers it (aws/sagemaker-python-sdk#171).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelrail.constants import SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER
from modelrail.local.events import LOCAL_ACCOUNT_ID
from modelrail.local.gateway import BodyTooLargeError, HttpClientApp, Receive, Scope, Send, read_body
from modelrail.local.processes import bind_loopback
from modelrail.local.releases import weighted_pick
from modelrail.local.s3 import LOCAL_REGION
from modelrail.local.sagemaker_endpoint import MAX_PAYLOAD_BYTES, EndpointAnswer, SageMakerEndpoint
from modelrail.local.threaded_server import ThreadedServer

ENV_SAGEMAKER_RUNTIME_ENDPOINT_URL = "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"
"""boto3's own variable for the SageMaker Runtime endpoint (service-specific endpoints)."""
INVOCATION_TIMEOUT_S = 60.0
"""How long SageMaker waits for a container's answer ("Your model container must respond to requests within
60 seconds", SageMaker developer guide, "Use your own inference code with hosting services")."""
TARGET_VARIANT_HEADER = "x-amzn-sagemaker-target-variant"
INVOKED_VARIANT_HEADER = "x-Amzn-Invoked-Production-Variant"
ERROR_TYPE_HEADER = "x-amzn-ErrorType"
"""Where a rest-json error names its code (botocore reads it before the body's ``__type``/``code``)."""
_INVOCATIONS = re.compile(r"/endpoints/(?P<name>[^/]+)/invocations")
ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
"""``EndpointName``'s pattern (SageMaker Runtime API, InvokeEndpoint)."""


@dataclass(frozen=True)
class LocalEndpoint:
    """One endpoint: its production variants (name -> container) and their weights (summing to 100)."""

    variants: Mapping[str, SageMakerEndpoint]
    weights: Mapping[str, int]
    rng: random.Random

    def pick(self) -> str:
        """A variant drawn by weight, as SageMaker distributes requests without ``TargetVariant``."""
        return weighted_pick([(name, weight) for name, weight in self.weights.items() if weight > 0], self.rng)


@dataclass(frozen=True)
class Answer:
    """What the server sends back."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def error_answer(status: int, code: str | None, message: str, **fields: Any) -> Answer:
    """A rest-json error: the code in ``x-amzn-ErrorType`` and the body, the message and any modeled fields."""
    body: dict[str, Any] = {"message": message, **fields}
    headers = [("Content-Type", "application/json")]
    if code is not None:
        body["__type"] = code
        headers.append((ERROR_TYPE_HEADER, code))
    return Answer(status, json.dumps(body).encode(), tuple(headers))


def model_error(endpoint: str, variant: str, answer: EndpointAnswer) -> Answer:
    """``424 ModelError`` for a container that answered with an error, or never answered (status 0)."""
    original = answer.body.decode("utf-8", errors="replace") if answer.status else answer.message
    side = "client" if 400 <= answer.status < 500 else "server"
    logs = (
        f"https://{LOCAL_REGION}.console.aws.amazon.com/cloudwatch/home?region={LOCAL_REGION}"
        f"#logEventViewer:group=/aws/sagemaker/Endpoints/{endpoint}"
    )
    message = (
        f'Received {side} error ({answer.status}) from {variant} with message "{original}". '
        f"See {logs} in account {LOCAL_ACCOUNT_ID} for more information."
    )
    return error_answer(
        424,
        "ModelError",
        message,
        OriginalStatusCode=answer.status,
        OriginalMessage=original,
        LogStreamArn=f"arn:aws:logs:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/{endpoint}",
    )


class SageMakerRuntimeApp(HttpClientApp):
    """The ASGI app: ``InvokeEndpoint`` on the endpoints it is given, nothing else."""

    def __init__(self, endpoints: Mapping[str, LocalEndpoint]) -> None:
        self.endpoints = dict(endpoints)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            body: bytes | None = await read_body(receive, MAX_PAYLOAD_BYTES)
        except BodyTooLargeError:
            body = None
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        answer = await self.invoke(scope["method"], scope["path"], headers, body)
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [(key.encode("latin-1"), value.encode("latin-1")) for key, value in answer.headers],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})

    async def invoke(self, method: str, path: str, headers: Mapping[str, str], body: bytes | None) -> Answer:
        """One request to the API: InvokeEndpoint, or the error SageMaker gives (``body`` None: it passed the
        API's 6 MB, and was not read further)."""
        found = _INVOCATIONS.fullmatch(path)
        if method != "POST" or found is None:
            return error_answer(404, "UnknownOperationException", "local mode answers InvokeEndpoint only")
        name = found["name"]  # the ASGI path is percent-decoded once already; decoding again would guess
        endpoint = self.endpoints.get(name) if ENDPOINT_NAME.fullmatch(name) else None
        target = headers.get(TARGET_VARIANT_HEADER)
        refused = _refusal(name, endpoint, target, body)
        if refused is not None:
            return refused
        assert endpoint is not None  # _refusal answers a missing endpoint
        assert body is not None  # ... and a body too large
        variant = target if target is not None else endpoint.pick()
        answer = await endpoint.variants[variant].invoke(
            body,
            custom_attributes=headers.get(SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER.lower(), ""),
            content_type=headers.get("content-type"),
            accept=headers.get("accept", "application/json"),
            client=self.client,
            timeout_s=INVOCATION_TIMEOUT_S,
        )
        if answer.not_in_service:  # the container cannot be started
            return error_answer(400, "ValidationError", answer.message)
        if not answer.ok:
            return model_error(name, variant, answer)
        reply = [("Content-Type", answer.content_type or "application/json"), (INVOKED_VARIANT_HEADER, variant)]
        if answer.custom_attributes is not None:
            reply.append((SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER, answer.custom_attributes))
        return Answer(200, answer.body, tuple(reply))


def _refusal(name: str, endpoint: LocalEndpoint | None, target: str | None, body: bytes | None) -> Answer | None:
    """SageMaker's answer for a request it refuses before any container sees it, else None."""
    if endpoint is None:
        shown = name if ENDPOINT_NAME.fullmatch(name) else "(invalid name)"  # never echo an unvalidated name
        return error_answer(400, "ValidationError", f"Endpoint {shown} of account {LOCAL_ACCOUNT_ID} not found.")
    if body is None:
        return error_answer(413, None, f"HTTP content length exceeded {MAX_PAYLOAD_BYTES} bytes.")
    if target is not None and target not in endpoint.variants:
        return error_answer(
            400, "ValidationError", f"The variant specified in TargetVariant does not exist for endpoint {name}."
        )
    return None


class LocalSageMakerRuntime:
    """The app under uvicorn on a loopback port, in a thread of the local-mode process."""

    def __init__(self, endpoints: Mapping[str, LocalEndpoint]) -> None:
        self.app = SageMakerRuntimeApp(endpoints)
        self._server = ThreadedServer(self.app, bind_loopback(), name="sagemaker-runtime")

    @property
    def endpoint_url(self) -> str:
        """Where boto3 sends SageMaker Runtime calls (known before ``start``: the port is bound already)."""
        return self._server.url

    def env(self) -> dict[str, str]:
        """What a process needs to reach this server through plain boto3."""
        return {ENV_SAGEMAKER_RUNTIME_ENDPOINT_URL: self.endpoint_url}

    def start(self) -> None:
        """Serve until ``stop``."""
        self._server.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.stop()
