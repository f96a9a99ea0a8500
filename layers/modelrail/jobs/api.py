"""The jobs API: ``POST /v1/models/<name>/jobs``, ``GET /v1/jobs/<id>``, ``DELETE /v1/jobs/<id>``.

Runs in the jobs API function (a zip on the plain Python runtime: stdlib + boto3, no model, no web framework),
answering every model's job routes. A job belongs to whoever submitted it: the API key
(``requestContext.identity.apiKeyId``) or the IAM caller (``requestContext.identity.userArn``); anyone else
gets the same 404 as for a job that does not exist, so job ids cannot be probed.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelrail.contract import jobs as contract
from modelrail.contract.jobs import TERMINAL, JobStatus
from modelrail.errors import (
    InvalidInputError,
    ModelNotFoundError,
    ModelUnavailableError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from modelrail.jobs.state import JobBucket, JobState, now_iso
from modelrail.proxy_responses import json_response
from modelrail.routes import route_path

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_BODY_BYTES = 6 * 1024 * 1024
"""An inline job's body: what one synchronous invocation can carry (Lambda's 6 MB)."""
_SUBMIT_PATH = re.compile(r"/v1/models/(?P<name>[a-z0-9-]{1,40})/jobs")
_STATUS_PATH = re.compile(r"/v1/jobs/(?P<job_id>[^/]+)")
ANONYMOUS = "anonymous"
"""The owner of jobs submitted with neither an API key nor IAM (local mode without a key)."""


class JobNotFoundError(NotFoundError):
    """No job by that id for this caller."""

    code = "job_not_found"


def owner_of(event: Mapping[str, Any]) -> str:
    """Who is calling: ``api-key:<id>``, ``iam:<arn>``, or ``anonymous`` when API Gateway names neither.

    API Gateway fills ``requestContext.identity.apiKeyId`` for a method that requires an API key and ``userArn``
    for a request signed with IAM credentials ("$context Variables for data models, authorizers, mapping
    templates, and access logging", docs.aws.amazon.com/apigateway/latest/developerguide/
    api-gateway-mapping-template-reference.html).
    """
    identity = (event.get("requestContext") or {}).get("identity") or {}
    if identity.get("apiKeyId"):
        return f"api-key:{identity['apiKeyId']}"
    if identity.get("userArn"):
        return f"iam:{identity['userArn']}"
    return ANONYMOUS


def _body(event: Mapping[str, Any]) -> bytes:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInputError("the body is not valid base64") from None
    return str(raw).encode("utf-8")


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _no_constants(name: str) -> Any:
    raise InvalidInputError(f"the body is not valid JSON: {name} is not a JSON number")


def parse_submit(body: bytes, content_type: str | None) -> list[Any] | None:
    """The inline instances, or ``None`` for ``{"upload": true}``; a 4xx error for anything else."""
    if content_type is not None and content_type.split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaTypeError("send the job as Content-Type: application/json")
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(
            f'an inline job is at most {MAX_BODY_BYTES // (1024 * 1024)} MB; send {{"upload": true}} and PUT the '
            "instances as JSON Lines to the URL you get back"
        )
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise InvalidInputError("the body is not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    usage = 'the body must be {"instances": [...]} (inline) or {"upload": true} (a presigned URL for JSON Lines)'
    if not isinstance(document, dict) or set(document) - {"instances", "upload"}:
        raise InvalidInputError(usage)
    if "instances" in document and "upload" in document:
        raise InvalidInputError(f"send either `instances` or `upload`, not both; {usage}")
    if "upload" in document:
        if document["upload"] is not True:
            raise InvalidInputError(f"`upload` must be true; {usage}")
        return None
    instances = document.get("instances")
    if not isinstance(instances, list) or not instances:
        raise InvalidInputError(f"`instances` must be a non-empty list; {usage}")
    if len(instances) > contract.MAX_LINES:
        raise InvalidInputError(f"`instances` has {len(instances)} items; a job takes at most {contract.MAX_LINES}")
    return instances


def json_lines(instances: list[Any]) -> bytes:
    """Instances as JSON Lines (one compact JSON value per line, UTF-8)."""
    return "".join(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n" for item in instances).encode()


@dataclass
class JobsApi:
    """Answers the job routes for the models in ``queues`` (model name -> job queue URL)."""

    bucket: JobBucket
    sqs: SQSClient
    queues: Mapping[str, str]
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex

    def answer(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The proxy response for one REST API event; 4xx/5xx as ``ModelrailError``s."""
        method = str(event.get("httpMethod") or "GET").upper()
        path = route_path(str(event.get("resource") or event.get("path") or "/"))
        owner = owner_of(event)
        submit = _SUBMIT_PATH.fullmatch(path)
        if submit and method == "POST":
            return self.submit(submit.group("name"), event, owner)
        found = _STATUS_PATH.fullmatch(path)
        if found:
            job_id = str((event.get("pathParameters") or {}).get("job_id") or found.group("job_id"))
            if method == "GET":
                return json_response(200, self.view(self._owned(job_id, owner)))
            if method == "DELETE":
                return json_response(200, self.cancel(job_id, owner))
        raise NotFoundError("no such route: see GET /openapi.json for the routes this API serves")

    def submit(self, model: str, event: Mapping[str, Any], owner: str) -> dict[str, Any]:
        """``POST /v1/models/<name>/jobs``: 202 with the job id (and the upload URL)."""
        queue = self.queues.get(model)
        if queue is None:
            raise ModelNotFoundError(f"model `{model}` does not take jobs here")
        instances = parse_submit(_body(event), _header(event, "content-type"))
        job_id = self.new_id()
        state = JobState(job_id=job_id, model=model, owner=owner, input="inline" if instances else "upload")
        answer: dict[str, Any] = {"job_id": job_id, "model": model, "status": JobStatus.QUEUED.value}
        if instances is None:
            state.upload_expires_at_s = time.time() + contract.UPLOAD_URL_EXPIRY_S
            answer["upload"] = {
                "url": self.bucket.presigned("put_object", contract.input_key(job_id), contract.UPLOAD_URL_EXPIRY_S),
                "method": "PUT",
                "expires_at": now_iso(state.upload_expires_at_s),
                "max_bytes": contract.MAX_UPLOAD_BYTES,
                "max_lines": contract.MAX_LINES,
                "format": "JSON Lines: one instance per line, as in the `instances` of POST /v1/models/<name>/predict",
            }
        else:
            state.total = len(instances)
            self.bucket.put(contract.input_key(job_id), json_lines(instances))
        self.bucket.save(state)
        try:
            self.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(contract.job_message(job_id, model)))
        except Exception as exc:
            state.status = JobStatus.FAILED
            state.error = {"code": "queue_unavailable", "message": "the job could not be queued; submit it again"}
            state.finished_at = now_iso()
            self.bucket.save(state)
            raise ModelUnavailableError(f"model `{model}`'s job queue did not take the job; retry shortly") from exc
        return json_response(202, answer)

    def _owned(self, job_id: str, owner: str) -> JobState:
        state = self.bucket.load(job_id) if contract.JOB_ID.fullmatch(job_id) else None
        if state is None or state.owner != owner:
            raise JobNotFoundError("no such job (job ids are 32 hex digits; a job is visible only to its submitter)")
        return state

    def view(self, state: JobState) -> dict[str, Any]:
        """``GET /v1/jobs/<id>``: status, counts, line errors, timestamps, and the results' URL once succeeded."""
        status = state.status
        if status not in TERMINAL and self.bucket.cancelled(state.job_id):
            status = JobStatus.CANCELLED  # the worker records it at its next chunk; the caller sees it at once
        body: dict[str, Any] = {
            "job_id": state.job_id,
            "model": state.model,
            "status": status.value,
            "input": state.input,
            "counts": {"done": state.done, "total": state.total, "errors": state.error_count},
            "errors": [{"line": e.line, "code": e.code, "message": e.message} for e in state.errors],
            "errors_truncated": state.error_count > len(state.errors),
            "created_at": state.created_at,
            "started_at": state.started_at,
            "finished_at": state.finished_at,
            "updated_at": state.updated_at,
            "invocations": state.invocations,
        }
        if state.error is not None:
            body["error"] = state.error
        if status is JobStatus.QUEUED and state.input == "upload" and state.total is None:
            expires = state.upload_expires_at_s
            body["upload"] = {"expires_at": now_iso(expires) if expires else None, "received": False}
        if status is JobStatus.SUCCEEDED:
            body["results"] = {
                "url": self.bucket.presigned(
                    "get_object", contract.results_key(state.job_id), contract.RESULTS_URL_EXPIRY_S
                ),
                "expires_at": now_iso(time.time() + contract.RESULTS_URL_EXPIRY_S),
                "format": 'JSON Lines, one line per input line in order: {"prediction": ...} or '
                '{"line": n, "error": ..., "code": ...}',
            }
        return body

    def cancel(self, job_id: str, owner: str) -> dict[str, Any]:
        """``DELETE /v1/jobs/<id>``: a job not yet finished stops at its worker's next chunk; a finished one stays."""
        state = self._owned(job_id, owner)
        if state.status not in TERMINAL:
            self.bucket.put(contract.cancel_key(job_id), now_iso().encode(), "text/plain")
        return self.view(state)
